// The tenant admin's documents page over HTTP: /admin/documents (usage, quotas) and its forms.
// Registered inside documentsRoutes (login, CSRF); only the tenant's admins pass the guard.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { requireDirectoryAdmin } from '../directory/admin.js';
import type { DbHandle } from '../platform/db.js';
import { BadRequestError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { wantsJson } from '../web/plugin.js';
import { sendPage } from '../web/render.js';
import { DocumentsAdminPage } from './admin-pages.js';
import { field } from './http.js';
import { createQuotaAdmin } from './quotas.js';


function pageParam(value: unknown): number {
  if (value === undefined || value === '') return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new BadRequestError("Ce numéro de page n'existe pas.");
  return n;
}

export const documentsAdminRoutes: FastifyPluginAsync<{ database: DbHandle }> = async (app, { database }) => {
  const quotas = createQuotaAdmin(database);
  const preHandler = requireDirectoryAdmin(database);
  const done = (request: FastifyRequest, reply: FastifyReply, body: object) => (wantsJson(request) ? reply.send(body) : reply.redirect('/admin/documents', 303));

  app.get('/admin/documents', { preHandler }, async (request, reply) => {
    const query = request.query as { personnes?: string; groupes?: string; ordre?: string };
    if (query.ordre !== undefined && query.ordre !== 'asc' && query.ordre !== 'desc') throw new BadRequestError("L'ordre est « asc » ou « desc ».");
    const order = query.ordre === 'asc' ? 'asc' : 'desc';
    const overview = await quotas.overview(request.tenant, { peoplePage: pageParam(query.personnes), groupsPage: pageParam(query.groupes), order });
    if (wantsJson(request)) return reply.send(overview);
    return sendPage(reply, <DocumentsAdminPage ctx={pageContext(request)} overview={overview} order={order} />);
  });

  app.post('/admin/documents/defaut', { preHandler }, async (request, reply) => {
    const quota = await quotas.setDefault(request.tenant, field(request.body, 'quota'));
    request.log.info({ quota }, 'documents: default quota per person set');
    return done(request, reply, { defaultPerPerson: quota });
  });

  app.post('/admin/documents/personnes', { preHandler }, async (request, reply) => {
    const result = await quotas.setPerson(request.tenant, field(request.body, 'personne'), field(request.body, 'quota'));
    request.log.info({ target: result.personId, quota: result.quota }, 'documents: person quota set');
    return done(request, reply, result);
  });

  app.post('/admin/documents/groupes/:groupId', { preHandler }, async (request, reply) => {
    const { groupId } = request.params as { groupId: string };
    const quota = await quotas.setGroup(request.tenant, groupId, field(request.body, 'quota'));
    request.log.info({ target: groupId, quota }, 'documents: group space quota set');
    return done(request, reply, { groupId, quota });
  });
};
