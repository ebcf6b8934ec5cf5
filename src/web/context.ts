import type { FastifyRequest } from 'fastify';
import { isLocale, translator, type Locale } from './i18n/index.js';
import type { PageContext } from './layout.js';

export const LOCALE_COOKIE = 'portique_lang';

/** The person's chosen language (cookie), else the tenant's default. */
export function localeOf(request: FastifyRequest): Locale {
  const chosen = request.cookies?.[LOCALE_COOKIE];
  if (isLocale(chosen)) return chosen;
  const fallback = request.tenant?.declaration.defaultLocale;
  return isLocale(fallback) ? fallback : 'fr';
}

export function pageContext(request: FastifyRequest): PageContext {
  const locale = localeOf(request);
  const session = request.session;
  const user = session ? { displayName: session.displayName, csrfToken: session.csrfToken, ...(request.bell ? { bell: request.bell } : {}) } : undefined;
  return { tenant: request.tenant, locale, t: translator(locale), path: request.url.split('?')[0] ?? '/', user };
}
