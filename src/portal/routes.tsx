// The portal's own pages: home and help.
import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { sendPage } from '../web/render.js';
import { HelpPage, HomePage } from './pages.js';

export const portalRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', (request, reply) => sendPage(reply, <HomePage ctx={pageContext(request)} />));

  app.get('/aide', (request, reply) => {
    if (!request.tenant.declaration.services.includes('help')) throw new NotFoundError();
    return sendPage(reply, <HelpPage ctx={pageContext(request)} />);
  });
};
