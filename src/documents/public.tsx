// Public links: /p/<token>, without login, on the link's tenant host only (a token looked up on
// another tenant's host is searched in that tenant's rows, under RLS, and answers 404). A wrong
// password is counted per link in Redis: beyond MAX_ATTEMPTS in WINDOW_SECONDS, 429 until the
// window ends, whatever the replica.
//
// A folder's link shows the folder and what lies under it (/p/<token>?dossier=<id>,
// /p/<token>/fichiers/<id>); sharing.ts checks that every id asked for is under the link's folder.
// With a password, the right one opens the folder for an hour: a random grant in a cookie scoped
// to /p/<token>, whose SHA-256 is kept in Redis (any replica can check it, nothing to forge).
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { wantsJson } from '../web/plugin.js';
import { sendPage } from '../web/render.js';
import { sendVersion } from './routes.js';
import { PublicFolderPage, PublicLinkPage } from './share-pages.js';
import type { DocumentsService } from './service.js';
import type { PublicLink, SharingService } from './sharing.js';

export const MAX_ATTEMPTS = 10;
const WINDOW_SECONDS = 15 * 60;
const UNLOCK_COOKIE = 'portique_link';
const UNLOCK_SECONDS = 3600;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const publicLinkRoutes: FastifyPluginAsync<{ documents: DocumentsService; sharing: SharingService; redis: Pick<Redis, 'incr' | 'expire' | 'set' | 'exists'> }> = async (app, { documents, sharing, redis }) => {
  const unlockKey = (request: FastifyRequest, link: PublicLink, grant: string) =>
    `portique:documents:link-unlocked:${request.tenant.id}:${link.id}:${createHash('sha256').update(grant).digest('hex')}`;

  async function unlocked(request: FastifyRequest, link: PublicLink): Promise<boolean> {
    if (!link.hasPassword) return true;
    const grant = request.cookies[UNLOCK_COOKIE];
    return !!grant && TOKEN.test(grant) && (await redis.exists(unlockKey(request, link, grant))) === 1;
  }

  app.addHook('onRequest', async (request) => {
    if (!request.tenant?.declaration.services.includes('documents')) throw new NotFoundError();
  });

  /** The live link, or a 404 page (nothing tells expired, revoked and unknown apart). */
  async function linkOf(request: FastifyRequest, reply: FastifyReply): Promise<PublicLink | undefined> {
    const { token } = request.params as { token: string };
    try {
      return await sharing.resolveLink(request.tenant.id, token);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      reply.header('cache-control', 'no-store');
      await sendPage(reply, <PublicLinkPage ctx={pageContext(request)} token="" />, 404);
      return undefined;
    }
  }

  async function download(request: FastifyRequest, reply: FastifyReply, link: PublicLink, fileId?: string) {
    const range = request.headers.range;
    // A download is counted once per full read (or a read from its first byte), not per Range chunk.
    const counted = !range || /^bytes=0-/.test(range);
    const { node, version } = await sharing.openLink(request.tenant, link, counted, fileId);
    reply.header('referrer-policy', 'no-referrer');
    return sendVersion(request, reply, node, version, (r) => documents.read({ tenant: request.tenant, personId: node.ownerId }, version, r), false);
  }

  app.get('/p/:token', async (request, reply) => {
    const link = await linkOf(request, reply);
    if (!link) return reply;
    const { token } = request.params as { token: string };
    reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').header('x-robots-tag', 'noindex');
    if (link.node.kind === 'folder' && (await unlocked(request, link))) {
      const { dossier } = request.query as { dossier?: string };
      const listing = await sharing.browseLink(request.tenant, link, dossier || undefined);
      if (wantsJson(request)) return reply.send({ folder: listing.folder.name, items: listing.items.map((n) => ({ id: n.id, kind: n.kind, name: n.name, size: n.size })) });
      return sendPage(reply, <PublicFolderPage ctx={pageContext(request)} token={token} {...listing} />);
    }
    return sendPage(reply, <PublicLinkPage ctx={pageContext(request)} token={token} node={link.node} hasPassword={link.hasPassword} />);
  });

  app.get('/p/:token/telecharger', async (request, reply) => {
    const link = await linkOf(request, reply);
    if (!link) return reply;
    if (link.node.kind !== 'file') throw new NotFoundError("Ce lien n'existe pas, a expiré ou a été révoqué.");
    if (link.hasPassword) return reply.redirect(`/p/${(request.params as { token: string }).token}`, 303);
    return download(request, reply, link);
  });

  app.get('/p/:token/fichiers/:id', async (request, reply) => {
    const link = await linkOf(request, reply);
    if (!link) return reply;
    if (link.node.kind !== 'folder') throw new NotFoundError("Ce lien n'existe pas, a expiré ou a été révoqué.");
    if (!(await unlocked(request, link))) return reply.redirect(`/p/${(request.params as { token: string }).token}`, 303);
    return download(request, reply, link, (request.params as { id: string }).id);
  });

  app.post('/p/:token', async (request, reply) => {
    const link = await linkOf(request, reply);
    if (!link) return reply;
    const { token } = request.params as { token: string };
    reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
    if (link.hasPassword) {
      const key = `portique:documents:link-attempts:${request.tenant.id}:${link.id}`;
      const attempts = await redis.incr(key);
      if (attempts === 1) await redis.expire(key, WINDOW_SECONDS);
      if (attempts > MAX_ATTEMPTS) {
        reply.header('retry-after', WINDOW_SECONDS);
        return sendPage(reply, <PublicLinkPage ctx={pageContext(request)} token={token} node={link.node} hasPassword error="tooMany" />, 429);
      }
      const password = (request.body as Record<string, unknown> | undefined)?.motdepasse;
      if (!(await sharing.checkPassword(request.tenant.id, link, password))) {
        return sendPage(reply, <PublicLinkPage ctx={pageContext(request)} token={token} node={link.node} hasPassword error="wrongPassword" />, 403);
      }
    }
    if (link.node.kind === 'folder') {
      if (link.hasPassword) {
        const grant = randomBytes(32).toString('base64url');
        await redis.set(unlockKey(request, link, grant), '1', 'EX', UNLOCK_SECONDS);
        reply.setCookie(UNLOCK_COOKIE, grant, { path: `/p/${token}`, httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', maxAge: UNLOCK_SECONDS });
      }
      return reply.redirect(`/p/${token}`, 303);
    }
    return download(request, reply, link);
  });
};
