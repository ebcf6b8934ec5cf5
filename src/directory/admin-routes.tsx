// Directory admin: /admin/annuaire (people), /admin/annuaire/personnes/:id (+ actions),
// /admin/annuaire/export.csv, /admin/annuaire/imports (upload, history), /admin/annuaire/imports/:id.
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Jobs } from '../jobs/client.js';
import type { DbHandle } from '../platform/db.js';
import { BadRequestError, PayloadTooLargeError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { sendPage } from '../web/render.js';
import { createDirectoryAdmin, requireDirectoryAdmin } from './admin.js';
import { AdminPersonPage, ImportPage, ImportsPage } from './admin-pages.js';
import { MAX_CSV_BYTES } from './csv.js';
import { createImports } from './imports.js';
import { SearchPage } from './pages.js';
import { requireService, whoOf } from './routes.js';
import type { WhitePages } from './white-pages.js';

const SearchQuery = Type.Object({ q: Type.Optional(Type.String({ maxLength: 200 })), page: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const directoryAdminRoutes: FastifyPluginAsync<{ database: DbHandle; whitePages: WhitePages; jobs: Jobs }> = async (app, { database, whitePages, jobs }) => {
  await app.register(multipart, { limits: { fileSize: MAX_CSV_BYTES, files: 1, fields: 5, parts: 6 } });
  const admin = createDirectoryAdmin(database);
  const imports = createImports(database);
  const guard = [requireService('directory'), requireDirectoryAdmin(database)];
  // The admin's own session may lack the IdP admin role (granted in Portique): see it as an admin.
  const asAdmin = (request: Parameters<typeof whoOf>[0]) => ({ ...whoOf(request), roles: [...whoOf(request).roles, 'admin'] });

  app.get<{ Querystring: { q?: string; page?: number } }>('/admin/annuaire', { schema: { querystring: SearchQuery }, preHandler: guard }, async (request, reply) => {
    const query = (request.query.q ?? '').trim();
    const result = query ? await whitePages.search(request.tenant, asAdmin(request), query, request.query.page ?? 1, { adminView: true }) : undefined;
    return sendPage(reply, <SearchPage ctx={pageContext(request)} query={query} base="/admin/annuaire" admin {...(result ? { result } : {})} />);
  });

  app.get<{ Querystring: { q?: string } }>('/admin/annuaire/export.csv', { schema: { querystring: SearchQuery }, preHandler: guard }, async (request, reply) => {
    const csv = await admin.exportCsv(request.tenant, (request.query.q ?? '').trim());
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="annuaire.csv"').send(csv);
  });

  app.get<{ Params: { id: string } }>('/admin/annuaire/personnes/:id', { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
    const { card, row } = await whitePages.card(request.tenant, asAdmin(request), request.params.id);
    return sendPage(reply, <AdminPersonPage ctx={pageContext(request)} card={card} row={row} />);
  });

  const action = (path: string, run: (tenant: typeof app extends never ? never : Parameters<typeof admin.deactivate>[0], id: string) => Promise<void>) =>
    app.post<{ Params: { id: string } }>(`/admin/annuaire/personnes/:id/${path}`, { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
      await run(request.tenant, request.params.id);
      request.log.info({ target: request.params.id, action: path }, 'directory admin action');
      return reply.redirect(`/admin/annuaire/personnes/${request.params.id}`, 303);
    });
  // A deactivated person is also logged out everywhere at once, not at the end of their session.
  action('desactiver', async (tenant, id) => {
    await admin.deactivate(tenant, id);
    await app.identity.endPersonSessions(tenant.id, id);
  });
  action('reactiver', admin.reactivate);
  action('admin/accorder', (tenant, id) => admin.setAdmin(tenant, id, true));
  action('admin/retirer', (tenant, id) => admin.setAdmin(tenant, id, false));

  app.get('/admin/annuaire/imports', { preHandler: guard }, async (request, reply) =>
    sendPage(reply, <ImportsPage ctx={pageContext(request)} runs={await imports.list(request.tenant.id)} />),
  );

  app.post('/admin/annuaire/imports', { preHandler: guard }, async (request, reply) => {
    if (!request.isMultipart()) throw new BadRequestError('Envoyez le fichier avec le formulaire (multipart/form-data).');
    let dryRun = false;
    let file: { name: string; body: Buffer } | undefined;
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (part.fieldname === 'dryRun') dryRun = part.value === '1' || part.value === 'on';
        continue;
      }
      const body = await part.toBuffer().catch((error: Error & { code?: string }) => {
        if (error.code === 'FST_REQ_FILE_TOO_LARGE') throw new PayloadTooLargeError(`Le fichier dépasse ${MAX_CSV_BYTES / 1024 / 1024} Mo : découpez-le ou retirez les colonnes inutiles.`);
        throw error;
      });
      file = { name: part.filename || 'import.csv', body };
    }
    if (!file) throw new BadRequestError('Aucun fichier reçu.');
    const id = await imports.createCsvRun(request.tenant.id, { fileName: file.name, body: file.body, dryRun, requestedBy: request.session!.personId });
    await jobs.enqueue('directory.import-csv', { tenantId: request.tenant.id, importId: id }, { key: id });
    return reply.redirect(`/admin/annuaire/imports/${id}`, 303);
  });

  // The tenant's LDAP, now: an incremental sync, or a full reconcile (forced past the threshold if asked).
  app.post<{ Body: { mode?: string; force?: string } }>(
    '/admin/annuaire/ldap',
    { schema: { body: Type.Object({ _csrf: Type.Optional(Type.String()), mode: Type.Optional(Type.String({ maxLength: 20 })), force: Type.Optional(Type.String()) }) }, preHandler: guard },
    async (request, reply) => {
      if (!request.tenant.declaration.directory?.ldap) throw new BadRequestError("Aucun annuaire LDAP n'est déclaré pour cet établissement.");
      const tenantId = request.tenant.id;
      const key = `${tenantId}:${Date.now()}`;
      if (request.body?.mode === 'full') await jobs.enqueue('directory.ldap-reconcile', { tenantId, forced: request.body.force === '1' }, { key });
      else await jobs.enqueue('directory.ldap-sync', { tenantId, force: true }, { key });
      return reply.redirect('/admin/annuaire/imports', 303);
    },
  );

  app.get<{ Params: { id: string } }>('/admin/annuaire/imports/:id', { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
    const run = await imports.get(request.tenant.id, request.params.id);
    if (run.status === 'queued' || run.status === 'running') reply.header('refresh', '2');
    return sendPage(reply, <ImportPage ctx={pageContext(request)} run={run} />);
  });

  app.post<{ Params: { id: string }; Body: { force?: string } }>(
    '/admin/annuaire/imports/:id/appliquer',
    { schema: { params: IdParams, body: Type.Object({ _csrf: Type.Optional(Type.String()), force: Type.Optional(Type.String()) }) }, preHandler: guard },
    async (request, reply) => {
      const forced = request.body?.force === '1';
      const id = await imports.applyRun(request.tenant.id, request.params.id, forced, request.session!.personId);
      await jobs.enqueue('directory.import-csv', { tenantId: request.tenant.id, importId: id }, { key: id });
      return reply.redirect(`/admin/annuaire/imports/${id}`, 303);
    },
  );
};
