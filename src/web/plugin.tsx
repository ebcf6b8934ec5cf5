// Everything pages share: security headers, static files, the language switch, and the one
// error handler that turns domain errors into a branded HTML page or a JSON body.
import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { fileURLToPath } from 'node:url';
import { DomainError, NotFoundError } from '../platform/errors.js';
import { LOCALE_COOKIE, localeOf, pageContext } from './context.js';
import { isLocale, translator } from './i18n/index.js';
import { ErrorPage, MaintenancePage, PlainMessagePage, UnknownHostPage } from './pages.js';
import { sendPage } from './render.js';

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** API callers get JSON; browsers get pages. */
export function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return true;
  const accept = request.headers.accept ?? '';
  return !accept.includes('text/html') && (accept.includes('application/json') || request.method !== 'GET');
}

/** Only a path on this host: never "//evil.example" or "https://...". */
export function safeReturnPath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) ? value : '/';
}

export function unknownHost(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (wantsJson(request)) {
    return reply.status(404).send({ error: { code: 'unknown_host', message: 'No university is served at this address.', requestId: request.id } });
  }
  return sendPage(reply, <UnknownHostPage lang="fr" requestId={request.id} />, 404);
}

export function maintenance(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('retry-after', '600');
  if (wantsJson(request)) {
    return reply.status(503).send({ error: { code: 'suspended', message: `${request.tenant.displayName} is under maintenance.`, requestId: request.id } });
  }
  return sendPage(reply, <MaintenancePage ctx={pageContext(request)} />, 503);
}

function sendError(request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  if (wantsJson(request) || !request.tenant) {
    if (!request.tenant && !wantsJson(request)) {
      if (!request.onOperatorHost) return unknownHost(request, reply);
      // The operator console belongs to no tenant: a plain page, with the real status.
      const title = `${translator(localeOf(request))('error.title')} ${status}`;
      return sendPage(reply, <PlainMessagePage lang={localeOf(request)} title={title} message={message} requestId={request.id} />, status);
    }
    return reply.status(status).send({ error: { code, message, requestId: request.id } });
  }
  try {
    return sendPage(reply, <ErrorPage ctx={pageContext(request)} status={status} message={message} requestId={request.id} />, status);
  } catch (error) {
    // The branded page itself failed (a broken declaration?): still answer, plainly.
    request.log.error({ err: error }, 'error page failed');
    return sendPage(reply, <PlainMessagePage lang="fr" title={`Erreur ${status}`} message={message} requestId={request.id} />, status);
  }
}

export const webPlugin = fp<{ production: boolean }>(
  async (app, { production }) => {
    await app.register(helmet, {
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          // The tenant theme is one inline <style> of validated custom properties.
          styleSrc: ["'self'", "'unsafe-inline'"],
          scriptSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          upgradeInsecureRequests: null,
        },
      },
      // Pages run over plain http on localhost in development.
      strictTransportSecurity: production,
    });

    await app.register(fastifyStatic, { root: STATIC_DIR, serve: false });
    app.get('/static/:file', { config: { tenant: false } }, (request, reply) => {
      const { file } = request.params as { file: string };
      if (!/^[a-z0-9-]+\.(css|js|svg|png|woff2)$/.test(file)) throw new NotFoundError();
      return reply.header('cache-control', 'public, max-age=3600').sendFile(file);
    });

    app.get('/langue/:locale', (request, reply) => {
      const { locale } = request.params as { locale: string };
      const { retour } = request.query as { retour?: string };
      if (!isLocale(locale)) throw new NotFoundError();
      reply.setCookie(LOCALE_COOKIE, locale, { path: '/', httpOnly: true, sameSite: 'lax', maxAge: 365 * 24 * 3600 });
      return reply.redirect(safeReturnPath(retour), 303);
    });

    app.setNotFoundHandler((request, reply) => {
      const t = translator(localeOf(request));
      return sendError(request, reply, 404, 'not_found', t('error.404'));
    });

    app.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
      if (error instanceof DomainError) {
        if (error.status >= 500) request.log.error({ err: error }, error.message);
        return sendError(request, reply, error.status, error.code, error.message);
      }
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status >= 500) {
        request.log.error({ err: error }, 'unhandled error');
        return sendError(request, reply, 500, 'internal', translator(localeOf(request))('error.500'));
      }
      const message = error.validation ? `Requête invalide : ${error.message}` : error.message;
      return sendError(request, reply, status, error.code ?? 'bad_request', message);
    });
  },
  { name: 'portique-web' },
);
