// The worker role's process (`portique worker`): its own connections to PostgreSQL, Redis, S3 and
// SMTP, the tenant registry, and the job worker over them; stop() lets running jobs finish, then
// closes everything. bench/directory runs its import in one of these, as production does.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createSessionStore } from '../identity/session-store.js';
import { connectDatabase } from '../platform/db.js';
import { createMailer } from '../platform/mail.js';
import { createQueueService } from '../platform/queue.js';
import { createStorage } from '../platform/storage.js';
import { createTenantRegistry } from '../tenancy/registry.js';
import { createJobs } from './client.js';
import { startJobWorker, type JobWorkerOptions } from './worker.js';

export interface WorkerProcess {
  /** Takes no new job, waits up to `graceMs` for the running ones, then closes every connection. */
  stop(graceMs: number): Promise<void>;
}

export interface WorkerProcessOptions extends Pick<JobWorkerOptions, 'schedules' | 'tenantPollMs'> {
  /** The connections' application name (default portique-worker). */
  name?: string;
  /** Queue key prefix (default the platform's): a bench's own keeps its jobs apart. */
  queuePrefix?: string;
  /** false: no LISTEN for tenant changes (the registry is re-read every tenantPollMs only). */
  listen?: boolean;
}

export async function startWorkerProcess(config: Config, log: Logger, options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
  const { name = 'portique-worker', queuePrefix, listen, ...workerOptions } = options;
  const database = connectDatabase(config.databaseUrl, { name });
  const queue = createQueueService(config.redisUrl, queuePrefix ? { prefix: queuePrefix } : {});
  const mailer = createMailer(config.smtp.url);
  const storage = createStorage(config.s3);
  const closeConnections = async () => {
    await Promise.allSettled([queue.close(), database.close()]);
    mailer.close();
    storage.close();
  };
  const registry = await createTenantRegistry(database, { ...(listen === false ? { listen } : {}), onReloadError: (e) => log.error({ err: e }, 'tenant registry reload failed') }).catch(async (error: unknown) => {
    await closeConnections();
    throw error;
  });
  const deps = { config, database, registry, mailer, storage, jobs: createJobs(queue), sessions: createSessionStore(queue.redis) };
  const jobs = await startJobWorker(deps, { redisUrl: config.redisUrl, queues: queue, log, ...workerOptions }).catch(async (error: unknown) => {
    await registry.close();
    await closeConnections();
    throw error;
  });
  return {
    async stop(graceMs) {
      await jobs.close(graceMs);
      await registry.close();
      await closeConnections();
    },
  };
}
