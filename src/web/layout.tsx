// The portal shell every tenant page is drawn in: branded header, service navigation, footer.
import type { ComponentChildren } from 'preact';
import type { Tenant } from '../tenancy/registry.js';
import { SERVICES, type ServiceId } from '../tenancy/services.js';
import type { Locale, Translate } from './i18n/index.js';
import { themeCss } from './theme.js';

export interface PageContext {
  readonly tenant: Tenant;
  readonly locale: Locale;
  readonly t: Translate;
  /** The path of the current page, to mark the current navigation entry. */
  readonly path: string;
  /** The logged-in person (src/identity/), absent when logged out. */
  readonly user?: PageUser;
}

export interface PageUser {
  readonly displayName: string;
  /** The session's CSRF token: every state-changing form carries it (CsrfField). */
  readonly csrfToken: string;
  /** The header's bell (src/notifications/): unread count and its spoken label. */
  readonly bell?: { readonly count: number; readonly label: string };
}

/** The form field name the CSRF check (src/identity/csrf.ts) reads. */
export const CSRF_FIELD = '_csrf';

/** The hidden CSRF field every POST form of a logged-in page must contain. */
export function CsrfField(props: { ctx: PageContext }) {
  return props.ctx.user ? <input type="hidden" name={CSRF_FIELD} value={props.ctx.user.csrfToken} /> : null;
}

/** The login route (src/identity/saml/), back to `path` afterwards. */
/**
 * How a menu entry relates to the page shown: the page itself, or the section the page is in
 * (the documents' sharing page is in Documents), so a person always sees where they are.
 */
export const currentness = (entry: string, page: string): 'page' | 'true' | undefined =>
  entry === page ? 'page' : entry !== '/' && page.startsWith(`${entry}/`) ? 'true' : undefined;

export const loginHref = (path: string) => `/connexion?retour=${encodeURIComponent(path)}`;

/** Enabled services that are built, in the tenant's order. */
export function navigableServices(tenant: Tenant): { id: ServiceId; path: string; label: string; labelEn: string }[] {
  return tenant.declaration.services.flatMap((id) => {
    const info = SERVICES[id] as { label: { fr: string; en: string }; path?: string };
    return info.path ? [{ id, path: info.path, label: info.label.fr, labelEn: info.label.en }] : [];
  });
}

/** `refreshTo`: go on to this address by itself (meta refresh, no JavaScript needed). */
export function Layout(props: { ctx: PageContext; title: string; refreshTo?: string; children: ComponentChildren }) {
  const { tenant, locale, t, path, user } = props.ctx;
  const { branding } = tenant.declaration;
  const nav = [{ path: '/', label: t('nav.home') }, ...navigableServices(tenant).map((s) => ({ path: s.path, label: locale === 'en' ? s.labelEn : s.label }))];
  const otherLocale: Locale = locale === 'fr' ? 'en' : 'fr';
  return (
    <html lang={locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${tenant.displayName}`}</title>
        {props.refreshTo && <meta http-equiv="refresh" content={`0;url=${props.refreshTo}`} />}
        {branding.favicon && <link rel="icon" href={`/branding/${branding.favicon}`} />}
        <link rel="stylesheet" href="/static/portique.css" />
        <style dangerouslySetInnerHTML={{ __html: themeCss(branding) }} />
        {user && <meta name="csrf-token" content={user.csrfToken} />}
      </head>
      <body>
        <a class="skip-link" href="#main">
          {t('skip')}
        </a>
        <header class="site-header">
          <a class="brand" href="/">
            <img class="brand-logo" src={`/branding/${branding.logo}`} alt="" width="48" height="48" />
            <span class="brand-name">{tenant.displayName}</span>
          </a>
          <nav class="site-nav" aria-label={t('nav.label')}>
            <ul>
              {nav.map((item) => (
                <li>
                  <a href={item.path} aria-current={currentness(item.path, path)}>
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div class="header-actions">
            {user ? (
              <>
                <span class="user-name">{user.displayName}</span>
                {user.bell && (
                  <a class="bell" href="/notifications" aria-label={user.bell.label} aria-current={path === '/notifications' ? 'page' : undefined}>
                    <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="currentColor"><path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5-6.71V3a2 2 0 1 0-4 0v1.29A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" /></svg>
                    {user.bell.count > 0 && <span class="bell-count">{user.bell.count >= 100 ? '99+' : user.bell.count}</span>}
                  </a>
                )}
                <a href="/mes-sessions">{t('account.sessions')}</a>
                <form method="post" action="/deconnexion" class="inline-form">
                  <CsrfField ctx={props.ctx} />
                  <button type="submit">{t('logout')}</button>
                </form>
              </>
            ) : (
              <a href={loginHref(path)}>{t('login')}</a>
            )}
          </div>
        </header>
        <main id="main" class="site-main" tabIndex={-1}>
          {props.children}
        </main>
        <footer class="site-footer">
          {branding.links && branding.links.length > 0 && (
            <nav aria-label={t('footer.links')}>
              <ul>
                {branding.links.map((link) => (
                  <li>
                    <a href={link.href}>{(locale === 'en' && link.label.en) || link.label.fr}</a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          <p class="footer-meta">
            <a href={`/langue/${otherLocale}?retour=${encodeURIComponent(path)}`} hrefLang={otherLocale} lang={otherLocale}>
              {t('lang.switch')}
            </a>
            <span aria-hidden="true"> · </span>
            <span>{t('footer.poweredBy')}</span>
          </p>
        </footer>
      </body>
    </html>
  );
}

/** A page with no tenant: unknown host. Deliberately plain and unbranded. */
export function PlainPage(props: { title: string; lang: Locale; children: ComponentChildren }) {
  return (
    <html lang={props.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <link rel="stylesheet" href="/static/portique.css" />
      </head>
      <body>
        <main id="main" class="site-main plain">
          {props.children}
        </main>
      </body>
    </html>
  );
}
