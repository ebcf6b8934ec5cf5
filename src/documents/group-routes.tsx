// Group spaces over HTTP: /documents/groupes (the list) and /documents/groupes/:groupId/...,
// the same pages and forms as "Mes documents" with the group's space in place of mine.
// Registered inside documentsRoutes: same login check, CSRF and multipart settings.
// Every handler first asks groupSpaces.enter: not a member -> 404, read-only member writing -> 403.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { isTenantAdmin } from '../directory/admin.js';
import type { DbHandle } from '../platform/db.js';
import { recordUsage } from '../statistics/plugin.js';
import { pageContext } from '../web/context.js';
import { wantsJson } from '../web/plugin.js';
import { sendPage } from '../web/render.js';
import { GroupSpaceHeader, GroupSpacesPage } from './group-pages.js';
import type { GroupSpaces } from './group-spaces.js';
import { FolderPage, TrashPage, VersionsPage } from './pages.js';
import { actorOf, done, field, folderParam, publicNode, uploadBody, uploadParts } from './http.js';
import { rawUploadRoute } from './raw-upload.js';
import { sendVersion } from './routes.js';
import type { Actor, DocumentNode, DocumentsService } from './service.js';
import type { Access } from './sharing.js';


export const groupSpaceRoutes: FastifyPluginAsync<{ documents: DocumentsService; groupSpaces: GroupSpaces; database: DbHandle }> = async (app, { documents, groupSpaces, database }) => {
  const admin = (request: FastifyRequest) => isTenantAdmin(database, request);
  const enter = async (request: FastifyRequest, need: Access) => {
    const { groupId } = request.params as { groupId: string };
    return groupSpaces.enter(actorOf(request), groupId, need, await admin(request));
  };
  const base = (groupId: string) => `/documents/groupes/${groupId}`;
  const folderHref = (groupId: string, id: string | null) => (id ? `${base(groupId)}?dossier=${id}` : base(groupId));

  app.get('/documents/groupes', async (request, reply) => {
    const spaces = await groupSpaces.mine(actorOf(request), await admin(request));
    if (wantsJson(request)) return reply.send({ spaces });
    return sendPage(reply, <GroupSpacesPage ctx={pageContext(request)} spaces={spaces} />);
  });

  app.get('/documents/groupes/:groupId', async (request, reply) => {
    const { space, actor } = await enter(request, 'read');
    const { dossier } = request.query as { dossier?: string };
    const [listing, folders, usage] = await Promise.all([documents.list(actor, folderParam(dossier)), documents.folders(actor), documents.usage(actor)]);
    if (wantsJson(request)) return reply.send({ space, folder: listing.folder && publicNode(listing.folder), items: listing.items.map(publicNode), usage });
    const view = { base: base(space.id), canWrite: space.access === 'write', personal: false };
    return sendPage(reply, <FolderPage ctx={pageContext(request)} {...listing} folders={folders} usage={usage} space={{ name: space.name, view, header: <GroupSpaceHeader ctx={pageContext(request)} space={space} /> }} />);
  });

  app.post('/documents/groupes/:groupId/acces', async (request, reply) => {
    const { groupId } = request.params as { groupId: string };
    const access = await groupSpaces.setMemberAccess(actorOf(request), groupId, field(request.body, 'acces'), await admin(request));
    // From the admin's usage page, back there (an admin may not be a member of the group).
    return done(request, reply, field(request.body, 'retour') === 'admin' ? '/admin/documents' : base(groupId), { memberAccess: access });
  });

  app.post('/documents/groupes/:groupId/dossiers', async (request, reply) => {
    const { actor, space } = await enter(request, 'write');
    const parent = folderParam(field(request.body, 'parent'));
    const folder = await documents.createFolder(actor, parent, field(request.body, 'nom'));
    return done(request, reply, folderHref(space.id, parent), publicNode(folder));
  });

  // One file as the request body (see PUT /documents/fichiers in routes.tsx).
  await rawUploadRoute(app, '/documents/groupes/:groupId/fichiers', async (request, reply) => {
    const { actor, space } = await enter(request, 'write');
    const parent = folderParam((request.query as { dossier?: string }).dossier);
    const node = await uploadBody(request, documents, actor, parent);
    return done(request, reply, folderHref(space.id, parent), { file: publicNode(node) });
  });

  app.post('/documents/groupes/:groupId/envoi', async (request, reply) => {
    const { actor, space } = await enter(request, 'write');
    const parent = folderParam((request.query as { dossier?: string }).dossier);
    const stored = await uploadParts(request, (bound, files) => documents.upload(actor, parent, bound, files));
    return done(request, reply, folderHref(space.id, parent), { files: stored.map(publicNode) });
  });

  app.get('/documents/groupes/:groupId/fichiers/:id', async (request, reply) => {
    const { actor } = await enter(request, 'read');
    const { id } = request.params as { id: string };
    const query = request.query as { version?: string; affichage?: string };
    const { node, version } = await documents.open(actor, id, query.version || undefined);
    recordUsage(request, 'download', 'documents');
    return sendVersion(request, reply, node, version, (range) => documents.read(actor, version, range), query.affichage === '1');
  });

  app.get('/documents/groupes/:groupId/fichiers/:id/versions', async (request, reply) => {
    const { actor, space } = await enter(request, 'read');
    const { node, versions } = await documents.versions(actor, (request.params as { id: string }).id);
    if (wantsJson(request)) return reply.send({ file: publicNode(node), versions });
    return sendPage(reply, <VersionsPage ctx={pageContext(request)} node={node} versions={versions} base={base(space.id)} canWrite={space.access === 'write'} />);
  });

  app.post('/documents/groupes/:groupId/fichiers/:id/versions/:version/restaurer', async (request, reply) => {
    const { actor, space } = await enter(request, 'write');
    const { id, version } = request.params as { id: string; version: string };
    const node = await documents.restoreVersion(actor, id, version);
    return done(request, reply, `${base(space.id)}/fichiers/${node.id}/versions`, publicNode(node));
  });

  const itemAction = (path: string, run: (actor: Actor, id: string, body: unknown) => Promise<DocumentNode>) =>
    app.post(`/documents/groupes/:groupId/elements/:id/${path}`, async (request, reply) => {
      const { actor, space } = await enter(request, 'write');
      const { id } = request.params as { id: string };
      const node = await run(actor, id, request.body);
      return done(request, reply, folderHref(space.id, node.parentId), publicNode(node));
    });
  itemAction('renommer', (actor, id, body) => documents.rename(actor, id, field(body, 'nom')));
  itemAction('deplacer', (actor, id, body) => documents.move(actor, id, folderParam(field(body, 'cible'))));
  itemAction('copier', (actor, id, body) => documents.copy(actor, id, folderParam(field(body, 'cible'))));
  itemAction('supprimer', (actor, id) => documents.trash(actor, id));

  app.get('/documents/groupes/:groupId/corbeille', async (request, reply) => {
    const { actor, space } = await enter(request, 'read');
    const [items, usage] = await Promise.all([documents.listTrash(actor), documents.usage(actor)]);
    if (wantsJson(request)) return reply.send({ items: items.map(publicNode), usage });
    return sendPage(reply, <TrashPage ctx={pageContext(request)} items={items} usage={usage} space={{ name: space.name, base: base(space.id) }} />);
  });

  app.post('/documents/groupes/:groupId/corbeille/:id/restaurer', async (request, reply) => {
    const { actor, space } = await enter(request, 'write');
    const node = await documents.restore(actor, (request.params as { id: string }).id);
    return done(request, reply, folderHref(space.id, node.parentId), publicNode(node));
  });

  app.post('/documents/groupes/:groupId/corbeille/:id/supprimer', async (request, reply) => {
    const { actor, space } = await enter(request, 'write');
    const { id } = request.params as { id: string };
    await documents.purge(actor, id);
    return done(request, reply, `${base(space.id)}/corbeille`, { purged: id });
  });

  app.post('/documents/groupes/:groupId/corbeille/vider', async (request, reply) => {
    const { actor, space } = await enter(request, 'write');
    const count = await documents.emptyTrash(actor);
    return done(request, reply, `${base(space.id)}/corbeille`, { purged: count });
  });
};
