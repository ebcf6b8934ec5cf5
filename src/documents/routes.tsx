// "Mes documents" over HTTP: thin handlers (read the request, call the service, reply). Every
// change is a POST form with its CSRF token (the upload form carries it in its action URL, since a
// streamed multipart body is not parsed before the check); pages answer 303 to the folder.
import multipart from '@fastify/multipart';
import { create as contentDisposition } from 'content-disposition';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { requireLogin } from '../identity/authorize.js';
import { NotFoundError, UnauthenticatedError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { wantsJson } from '../web/plugin.js';
import { sendPage } from '../web/render.js';
import { mayOpenInline } from './content-types.js';
import { FolderPage, SearchPage, TrashPage, VersionsPage } from './pages.js';
import { parseRange } from './range.js';
import type { Actor, DocumentNode, DocumentsService, IncomingFile } from './service.js';

/** Downloads never run in the portal's origin: no script, no plugin, no same-origin rights. */
const DOWNLOAD_CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox";

function actorOf(request: FastifyRequest): Actor {
  const session = request.session;
  if (!session) throw new UnauthenticatedError();
  return { tenant: request.tenant, personId: session.personId };
}

const field = (body: unknown, name: string): string | undefined => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
};
const folderParam = (value: string | undefined): string | null => (value ? value : null);
const folderHref = (id: string | null) => (id ? `/documents?dossier=${id}` : '/documents');

function done(request: FastifyRequest, reply: FastifyReply, to: string, body: object): FastifyReply {
  return wantsJson(request) ? reply.send(body) : reply.redirect(to, 303);
}

const publicNode = (n: DocumentNode) => ({ id: n.id, kind: n.kind, name: n.name, size: n.size, parentId: n.parentId, contentType: n.contentType });

export const documentsRoutes: FastifyPluginAsync<{ documents: DocumentsService }> = async (app, { documents }) => {
  // Limits are the tenant's (service.upload counts the bytes); busboy's default 1 MiB must not cut first.
  await app.register(multipart, { limits: { fileSize: Number.MAX_SAFE_INTEGER, files: 100, fields: 10, parts: 110 } });

  app.addHook('onRequest', async (request) => {
    if (!request.tenant?.declaration.services.includes('documents')) throw new NotFoundError();
  });
  app.addHook('preHandler', requireLogin);

  app.get('/documents', async (request, reply) => {
    const actor = actorOf(request);
    const { dossier } = request.query as { dossier?: string };
    const [listing, folders, usage] = await Promise.all([documents.list(actor, folderParam(dossier)), documents.folders(actor), documents.usage(actor)]);
    if (wantsJson(request)) return reply.send({ folder: listing.folder && publicNode(listing.folder), items: listing.items.map(publicNode), usage });
    return sendPage(reply, <FolderPage ctx={pageContext(request)} {...listing} folders={folders} usage={usage} />);
  });

  app.post('/documents/dossiers', async (request, reply) => {
    const parent = folderParam(field(request.body, 'parent'));
    const folder = await documents.createFolder(actorOf(request), parent, field(request.body, 'nom'));
    return done(request, reply, folderHref(parent), publicNode(folder));
  });

  app.post('/documents/envoi', async (request, reply) => {
    const actor = actorOf(request);
    const parent = folderParam((request.query as { dossier?: string }).dossier);
    const length = Number(request.headers['content-length']);
    async function* files(): AsyncGenerator<IncomingFile> {
      for await (const part of request.parts()) {
        if (part.type === 'file') yield { filename: part.filename, stream: part.file };
      }
    }
    const stored = await documents.upload(actor, parent, Number.isSafeInteger(length) && length >= 0 ? length : undefined, files());
    return done(request, reply, folderHref(parent), { files: stored.map(publicNode) });
  });

  app.get('/documents/fichiers/:id', async (request, reply) => {
    const actor = actorOf(request);
    const { id } = request.params as { id: string };
    const query = request.query as { version?: string; affichage?: string };
    const { node, version } = await documents.open(actor, id, query.version || undefined);
    const inline = query.affichage === '1' && mayOpenInline(version.contentType);
    reply
      .header('content-type', version.contentType)
      .header('content-disposition', contentDisposition(node.name, { type: inline ? 'inline' : 'attachment' }))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', DOWNLOAD_CSP)
      .header('cache-control', 'private, no-cache')
      .header('etag', `"${version.sha256}"`)
      .header('accept-ranges', 'bytes');
    const range = parseRange(request.headers.range, version.size);
    if (range.kind === 'unsatisfiable') return reply.status(416).header('content-range', `bytes */${version.size}`).send();
    if (range.kind === 'partial') {
      const body = await documents.read(actor, version, range);
      return reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${version.size}`)
        .header('content-length', range.end - range.start + 1)
        .send(body);
    }
    if (version.size === 0) return reply.header('content-length', 0).send('');
    return reply.header('content-length', version.size).send(await documents.read(actor, version));
  });

  app.get('/documents/fichiers/:id/versions', async (request, reply) => {
    const { id } = request.params as { id: string };
    const { node, versions } = await documents.versions(actorOf(request), id);
    if (wantsJson(request)) return reply.send({ file: publicNode(node), versions });
    return sendPage(reply, <VersionsPage ctx={pageContext(request)} node={node} versions={versions} />);
  });

  app.post('/documents/fichiers/:id/versions/:version/restaurer', async (request, reply) => {
    const { id, version } = request.params as { id: string; version: string };
    const node = await documents.restoreVersion(actorOf(request), id, version);
    return done(request, reply, `/documents/fichiers/${node.id}/versions`, publicNode(node));
  });

  app.post('/documents/elements/:id/renommer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await documents.rename(actorOf(request), id, field(request.body, 'nom'));
    return done(request, reply, folderHref(node.parentId), publicNode(node));
  });

  app.post('/documents/elements/:id/deplacer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await documents.move(actorOf(request), id, folderParam(field(request.body, 'cible')));
    return done(request, reply, folderHref(node.parentId), publicNode(node));
  });

  app.post('/documents/elements/:id/copier', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await documents.copy(actorOf(request), id, folderParam(field(request.body, 'cible')));
    return done(request, reply, folderHref(node.parentId), publicNode(node));
  });

  app.post('/documents/elements/:id/supprimer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await documents.trash(actorOf(request), id);
    return done(request, reply, folderHref(node.parentId), publicNode(node));
  });

  app.get('/documents/corbeille', async (request, reply) => {
    const actor = actorOf(request);
    const [items, usage] = await Promise.all([documents.listTrash(actor), documents.usage(actor)]);
    if (wantsJson(request)) return reply.send({ items: items.map(publicNode), usage });
    return sendPage(reply, <TrashPage ctx={pageContext(request)} items={items} usage={usage} />);
  });

  app.post('/documents/corbeille/:id/restaurer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await documents.restore(actorOf(request), id);
    return done(request, reply, folderHref(node.parentId), publicNode(node));
  });

  app.post('/documents/corbeille/:id/supprimer', async (request, reply) => {
    const { id } = request.params as { id: string };
    await documents.purge(actorOf(request), id);
    return done(request, reply, '/documents/corbeille', { purged: id });
  });

  app.post('/documents/corbeille/vider', async (request, reply) => {
    const count = await documents.emptyTrash(actorOf(request));
    return done(request, reply, '/documents/corbeille', { purged: count });
  });

  app.get('/documents/recherche', async (request, reply) => {
    const q = String((request.query as { q?: unknown }).q ?? '').slice(0, 200);
    const results = await documents.search(actorOf(request), q);
    if (wantsJson(request)) return reply.send({ results: results.map(publicNode) });
    return sendPage(reply, <SearchPage ctx={pageContext(request)} query={q} results={results} />);
  });
};
