// CSRF: a synchronizer token per session. Every state-changing request (not GET/HEAD/OPTIONS)
// that comes with a live session must carry the session's token, in the form field `_csrf`
// (CsrfField in src/web/layout.tsx) or the `x-csrf-token` header (JavaScript and API calls; the
// token is in the page's <meta name="csrf-token">). One hook checks it for every route.
//
// Why our own ~30 lines rather than @fastify/csrf-protection: sessions are already server-side,
// so the simplest strong pattern is a random token stored with the session and compared in
// constant time; nothing to sign, no secret to configure or rotate. The library binds tokens to
// a session only through @fastify/session or @fastify/secure-session (neither fits our Redis
// store keyed by realm) and otherwise falls back to a signed double-submit cookie, and it
// protects only the routes that opt in, where we want one check nobody can forget.
//
// A request whose cookie names no live session carries no authority to abuse and is passed on as
// anonymous; routes that need a person refuse it themselves (requireLogin).
// Routes that receive cross-site protocol messages (SAML ACS and single logout, which carry their
// own signatures and InResponseTo) opt out with `config: { csrf: false }`.
import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../platform/errors.js';
import { localeOf } from '../web/context.js';
import { translator } from '../web/i18n/index.js';
import { CSRF_FIELD } from '../web/layout.js';
import { csrfTokenMatches } from './session-store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: no CSRF check (cross-site protocol endpoints that authenticate their messages). */
    csrf?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';

function presentedToken(request: FastifyRequest): unknown {
  const header = request.headers[CSRF_HEADER];
  if (typeof header === 'string') return header;
  const body = request.body;
  if (body && typeof body === 'object' && CSRF_FIELD in body) return (body as Record<string, unknown>)[CSRF_FIELD];
  // A multipart upload is streamed: its fields are not parsed before the handler runs, so a
  // form without JavaScript puts the token in its action URL.
  if (request.headers['content-type']?.startsWith('multipart/form-data')) {
    return (request.query as Record<string, unknown> | undefined)?.[CSRF_FIELD];
  }
  return undefined;
}

/** preValidation hook: runs after the body is parsed, before any handler or route preHandler. */
export async function checkCsrf(request: FastifyRequest): Promise<void> {
  if (SAFE_METHODS.has(request.method)) return;
  if (request.routeOptions.config.csrf === false) return;
  const session = request.session;
  if (!session) return;
  if (csrfTokenMatches(session, presentedToken(request))) return;
  request.log.warn({ route: request.routeOptions.url }, 'csrf token missing or wrong');
  throw new ForbiddenError(translator(localeOf(request))('auth.csrf'));
}
