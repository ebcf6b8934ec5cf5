// The one authorisation helper routes use, as preHandlers:
//   app.get('/admin', { preHandler: requireRole('admin') }, ...)
//   app.get('/mes-documents', { preHandler: requireLogin }, ...)
//   app.get('/', { config: { operator: true }, constraints: operatorOnly, preHandler: requireOperator }, ...)
// Not logged in: a page is redirected to the login route with the way back; an API call gets 401.
// Logged in without the role: 403, a branded page naming who the page is for.
// The session was loaded for the request's host only (src/identity/plugin.tsx), so a session of
// another tenant, or a tenant session on the operator host, never reaches these checks.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ForbiddenError, UnauthenticatedError } from '../platform/errors.js';
import { localeOf } from '../web/context.js';
import { translator } from '../web/i18n/index.js';
import { loginHref } from '../web/layout.js';
import { safeReturnPath, wantsJson } from '../web/plugin.js';
import type { Role } from './roles.js';

function toLogin(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (wantsJson(request)) throw new UnauthenticatedError();
  // Only a page can be asked for again; after a form post, come back to the home page.
  const back = request.method === 'GET' || request.method === 'HEAD' ? safeReturnPath(request.url) : '/';
  return reply.redirect(loginHref(back), 303);
}

export const requireLogin: preHandlerAsyncHookHandler = async function (request, reply) {
  const session = request.session;
  if (!session || session.realm.kind !== 'tenant' || session.realm.tenantId !== request.tenant?.id) {
    return toLogin(request, reply);
  }
};

/** Logged in, with at least one of these roles in this tenant. */
export function requireRole(...roles: [Role, ...Role[]]): preHandlerAsyncHookHandler {
  return async function (request, reply) {
    const session = request.session;
    if (!session || session.realm.kind !== 'tenant' || session.realm.tenantId !== request.tenant?.id) {
      return toLogin(request, reply);
    }
    if (roles.some((role) => session.roles.includes(role))) return;
    const t = translator(localeOf(request));
    throw new ForbiddenError(t('auth.forbidden', { roles: roles.map((r) => t(`role.${r}`)).join(', ') }));
  };
}

/** An operator session, on the operator host. */
export const requireOperator: preHandlerAsyncHookHandler = async function (request, reply) {
  if (!request.onOperatorHost) throw new ForbiddenError();
  if (request.session?.realm.kind !== 'operator') return toLogin(request, reply);
};
