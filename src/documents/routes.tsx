// "Mes documents" over HTTP: thin handlers (read the request, call the service, reply). Every
// change is a POST form with its CSRF token (the upload form carries it in its action URL, since a
// streamed multipart body is not parsed before the check); pages answer 303 to the folder.
import multipart from '@fastify/multipart';
import { create as contentDisposition } from 'content-disposition';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isTenantAdmin } from '../directory/admin.js';
import { createGroups } from '../directory/groups.js';
import { requireLogin } from '../identity/authorize.js';
import type { DbHandle } from '../platform/db.js';
import { NotFoundError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { recordUsage } from '../statistics/plugin.js';
import { wantsJson } from '../web/plugin.js';
import { sendPage } from '../web/render.js';
import { documentsAdminRoutes } from './admin-routes.js';
import { mayOpenInline } from './content-types.js';
import { groupSpaceRoutes } from './group-routes.js';
import { createGroupSpaces } from './group-spaces.js';
import { FolderPage, SearchPage, TrashPage, VersionsPage } from './pages.js';
import { parseRange } from './range.js';
import { actorOf, done, field, folderParam, publicNode, uploadBody, uploadParts } from './http.js';
import { rawUploadRoute } from './raw-upload.js';
import type { DocumentNode, DocumentVersion, DocumentsService } from './service.js';
import { SharedFolderPage, SharedWithMePage, SharePage } from './share-pages.js';
import type { SharingService } from './sharing.js';

/** Downloads never run in the portal's origin: no script, no plugin, no same-origin rights. */
const DOWNLOAD_CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox";

const folderHref = (id: string | null) => (id ? `/documents?dossier=${id}` : '/documents');

/** Streams a version with the download headers (Range, disposition, nosniff, sandboxing CSP). */
export async function sendVersion(
  request: FastifyRequest,
  reply: FastifyReply,
  node: DocumentNode,
  version: DocumentVersion,
  read: (range?: { start: number; end: number }) => Promise<NodeJS.ReadableStream>,
  inlineAsked: boolean,
): Promise<FastifyReply> {
  const inline = inlineAsked && mayOpenInline(version.contentType);
  reply
    .header('content-type', version.contentType)
    .header('content-disposition', contentDisposition(node.name, { type: inline ? 'inline' : 'attachment' }))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', DOWNLOAD_CSP)
    .header('cache-control', 'private, no-cache')
    .header('etag', `"${version.sha256}"`)
    .header('accept-ranges', 'bytes');
  if (version.scan) reply.header('x-virus-scan', version.scan);
  const range = parseRange(request.headers.range, version.size);
  if (range.kind === 'unsatisfiable') return reply.status(416).header('content-range', `bytes */${version.size}`).send();
  if (range.kind === 'partial') {
    const body = await read(range);
    return reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${version.size}`)
      .header('content-length', range.end - range.start + 1)
      .send(body);
  }
  if (version.size === 0) return reply.header('content-length', 0).send('');
  return reply.header('content-length', version.size).send(await read());
}

export const documentsRoutes: FastifyPluginAsync<{ documents: DocumentsService; sharing: SharingService; database: DbHandle }> = async (app, { documents, sharing, database }) => {
  // Limits are the tenant's (service.upload counts the bytes); busboy's default 1 MiB must not cut first.
  await app.register(multipart, { limits: { fileSize: Number.MAX_SAFE_INTEGER, files: 100, fields: 10, parts: 110 } });

  app.addHook('onRequest', async (request) => {
    if (!request.tenant?.declaration.services.includes('documents')) throw new NotFoundError();
  });
  app.addHook('preHandler', requireLogin);
  // Children: they share the login check and the multipart settings above.
  await app.register(groupSpaceRoutes, { documents, database, groupSpaces: createGroupSpaces({ database, groups: createGroups(database) }) });
  await app.register(documentsAdminRoutes, { database });

  app.get('/documents', async (request, reply) => {
    const actor = actorOf(request);
    const { dossier } = request.query as { dossier?: string };
    const [listing, folders, usage] = await Promise.all([documents.list(actor, folderParam(dossier)), documents.folders(actor), documents.usage(actor)]);
    if (wantsJson(request)) return reply.send({ folder: listing.folder && publicNode(listing.folder), items: listing.items.map(publicNode), usage });
    const admin = await isTenantAdmin(database, request);
    return sendPage(reply, <FolderPage ctx={pageContext(request)} {...listing} folders={folders} usage={usage} admin={admin} />);
  });

  app.post('/documents/dossiers', async (request, reply) => {
    const parent = folderParam(field(request.body, 'parent'));
    const folder = await documents.createFolder(actorOf(request), parent, field(request.body, 'nom'));
    return done(request, reply, folderHref(parent), publicNode(folder));
  });

  app.post('/documents/envoi', async (request, reply) => {
    const parent = folderParam((request.query as { dossier?: string }).dossier);
    const stored = await uploadParts(request, (bound, files) => documents.upload(actorOf(request), parent, bound, files));
    return done(request, reply, folderHref(parent), { files: stored.map(publicNode) });
  });

  // One file as the request body: PUT /documents/fichiers?dossier=<id>&nom=<name> (no dossier: the
  // root), Content-Length required. What the page's script uses; same answers as /documents/envoi.
  await rawUploadRoute(app, '/documents/fichiers', async (request, reply) => {
    const parent = folderParam((request.query as { dossier?: string }).dossier);
    const node = await uploadBody(request, documents, actorOf(request), parent);
    return done(request, reply, folderHref(parent), { file: publicNode(node) });
  });

  app.get('/documents/fichiers/:id', async (request, reply) => {
    const actor = actorOf(request);
    const { id } = request.params as { id: string };
    const query = request.query as { version?: string; affichage?: string };
    // Own file, or one shared with this person (anyone else: 404).
    const { node, version } = await sharing.open(actor, id, query.version || undefined);
    recordUsage(request, 'download', 'documents');
    return sendVersion(request, reply, node, version, (range) => documents.read(actor, version, range), query.affichage === '1');
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
    recordUsage(request, 'search', 'documents');
    if (wantsJson(request)) return reply.send({ results: results.map(publicNode) });
    return sendPage(reply, <SearchPage ctx={pageContext(request)} query={q} results={results} />);
  });

  // ---- Sharing ----------------------------------------------------------------------------

  app.get('/documents/partages', async (request, reply) => {
    const items = await sharing.sharedWithMe(actorOf(request));
    if (wantsJson(request)) return reply.send({ items: items.map((i) => ({ ...publicNode(i.node), access: i.access, owner: i.ownerName })) });
    return sendPage(reply, <SharedWithMePage ctx={pageContext(request)} items={items} />);
  });

  app.get('/documents/partages/dossiers/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const { folder, items, access } = await sharing.browse(actorOf(request), id);
    if (wantsJson(request)) return reply.send({ folder: publicNode(folder), items: items.map(publicNode), access });
    return sendPage(reply, <SharedFolderPage ctx={pageContext(request)} folder={folder} items={items} access={access} />);
  });

  app.post('/documents/partages/elements/:id/renommer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await sharing.rename(actorOf(request), id, field(request.body, 'nom'));
    return done(request, reply, node.parentId ? `/documents/partages/dossiers/${node.parentId}` : '/documents/partages', publicNode(node));
  });

  app.post('/documents/partages/envoi', async (request, reply) => {
    const folder = String((request.query as { dossier?: string }).dossier ?? '');
    const stored = await uploadParts(request, (bound, files) => sharing.uploadInto(actorOf(request), folder, bound, files));
    return done(request, reply, `/documents/partages/dossiers/${folder}`, { files: stored.map(publicNode) });
  });

  // Items shared with me: move and trash need write access, copy read access (see sharing.ts for whose quota each uses).
  const sharedBack = (node: DocumentNode) => (node.parentId ? `/documents/partages/dossiers/${node.parentId}` : '/documents/partages');
  app.post('/documents/partages/elements/:id/deplacer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await sharing.move(actorOf(request), id, field(request.body, 'cible') ?? '');
    return done(request, reply, sharedBack(node), publicNode(node));
  });

  app.post('/documents/partages/elements/:id/copier', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await sharing.copy(actorOf(request), id, folderParam(field(request.body, 'cible')));
    // Into my own space: back to it; into a shared folder: back to that folder.
    return done(request, reply, node.ownerId === actorOf(request).personId && node.spaceId === node.ownerId ? folderHref(node.parentId) : sharedBack(node), publicNode(node));
  });

  app.post('/documents/partages/elements/:id/supprimer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const node = await sharing.trash(actorOf(request), id);
    return done(request, reply, sharedBack(node), publicNode(node));
  });

  const sharePage = async (request: FastifyRequest, reply: FastifyReply, id: string, created?: string) => {
    const data = await sharing.sharesOf(actorOf(request), id);
    return sendPage(reply, <SharePage ctx={pageContext(request)} {...data} origin={`${request.protocol}://${request.host}`} {...(created ? { created } : {})} />);
  };

  app.get('/documents/elements/:id/partage', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (wantsJson(request)) {
      const { node, shares, links } = await sharing.sharesOf(actorOf(request), id);
      return reply.send({ node: publicNode(node), shares, links });
    }
    return sharePage(request, reply, id);
  });

  app.post('/documents/elements/:id/partages', async (request, reply) => {
    const { id } = request.params as { id: string };
    const person = field(request.body, 'personne') || undefined;
    const group = field(request.body, 'groupe') || undefined;
    const share = await sharing.share(actorOf(request), id, { ...(person ? { person } : {}), ...(group ? { group } : {}) }, field(request.body, 'acces'));
    recordUsage(request, 'share', 'documents');
    return done(request, reply, `/documents/elements/${id}/partage`, share);
  });

  app.post('/documents/partages/:id/revoquer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const { nodeId } = await sharing.revokeShare(actorOf(request), id);
    return done(request, reply, `/documents/elements/${nodeId}/partage`, { revoked: id });
  });

  app.post('/documents/elements/:id/liens', async (request, reply) => {
    const { id } = request.params as { id: string };
    const { token, link, nodeId } = await sharing.createLink(actorOf(request), id, { expiresAt: field(request.body, 'expiration'), password: field(request.body, 'motdepasse') });
    if (wantsJson(request)) return reply.send({ token, url: `${request.protocol}://${request.host}/p/${token}`, link });
    // The token is shown once, on this page (never in a redirect's URL or a log).
    return sharePage(request, reply, nodeId, token);
  });

  app.post('/documents/liens/:id/revoquer', async (request, reply) => {
    const { id } = request.params as { id: string };
    const { nodeId } = await sharing.revokeLink(actorOf(request), id);
    return done(request, reply, `/documents/elements/${nodeId}/partage`, { revoked: id });
  });
};
