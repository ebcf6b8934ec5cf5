// Everything the directory serves (white pages, groups, directory admin), registered by buildApp.
import type { FastifyPluginAsync } from 'fastify';
import { createJobs } from '../jobs/client.js';
import type { DbHandle } from '../platform/db.js';
import type { QueueService } from '../platform/queue.js';
import type { Storage } from '../platform/storage.js';
import { directoryAdminRoutes } from './admin-routes.js';
import { groupRoutes } from './group-routes.js';
import { directoryRoutes } from './routes.js';
import { createWhitePages } from './white-pages.js';

export const directoryPlugin: FastifyPluginAsync<{ database: DbHandle; queue: QueueService; storage: Storage }> = async (app, { database, queue, storage }) => {
  const whitePages = createWhitePages(database);
  await app.register(directoryRoutes, { whitePages, storage });
  await app.register(directoryAdminRoutes, { database, whitePages, jobs: createJobs(queue) });
  await app.register(groupRoutes, { database });
};
