// The discovery page: which IdP, when a tenant has several. Works without JavaScript (the search
// is a GET form filtered on the server). The pages are drawn in the shell of whoever serves the
// SAML routes: a tenant's portal layout, or the operator console's (src/operator/saml.tsx), which
// has no tenant logo nor portal navigation.
import type { ComponentChildren, VNode } from 'preact';
import type { Locale } from '../../web/i18n/index.js';
import type { IdpConfig } from './idp.js';
import { samlText } from './messages.js';

/** The page shell the SAML pages are drawn in, bound to the request. */
export interface SamlShell {
  readonly locale: Locale;
  page(props: { title: string; refreshTo?: string; children: ComponentChildren }): VNode;
}

export function DiscoveryPage(props: { ctx: SamlShell; idps: readonly IdpConfig[]; query: string; last: IdpConfig | undefined; returnTo: string }) {
  const { ctx, query, last, returnTo } = props;
  const Shell = ctx.page;
  const s = (key: Parameters<typeof samlText>[1], params?: Record<string, string>) => samlText(ctx.locale, key, params);
  const label = (idp: IdpConfig) => (ctx.locale === 'en' && idp.name.en) || idp.name.fr;
  const link = (idp: IdpConfig) => `/connexion?idp=${encodeURIComponent(idp.entityId)}&retour=${encodeURIComponent(returnTo)}`;
  const needle = query.trim().toLocaleLowerCase('fr');
  const shown = props.idps.filter((i) => !needle || `${i.name.fr} ${i.name.en ?? ''} ${i.entityId}`.toLocaleLowerCase('fr').includes(needle));
  return (
    <Shell title={s('discovery.title')}>
      <section class="discovery">
        <h1>{s('discovery.title')}</h1>
        <p class="lead">{s('discovery.intro')}</p>
        {last && (
          <p class="discovery-last">
            {s('discovery.last')} : <a href={link(last)}>{label(last)}</a>
          </p>
        )}
        <form method="get" action="/connexion" role="search">
          <input type="hidden" name="retour" value={returnTo} />
          <label for="idp-search">{s('discovery.search')}</label>{' '}
          <input id="idp-search" name="q" type="search" value={query} autocomplete="organization" />{' '}
          <button type="submit">{s('discovery.submit')}</button>
        </form>
        <h2>{s('discovery.all')}</h2>
        {shown.length === 0 ? (
          <p>{s('discovery.none', { q: query })}</p>
        ) : (
          <ul class="discovery-list">
            {shown.map((idp) => (
              <li>
                <a href={link(idp)}>{label(idp)}</a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </Shell>
  );
}

/**
 * After the local session ended: on to the IdP's single logout by a GET navigation. A redirect
 * would continue the logout form's submission, which `form-action 'self'` (our CSP) blocks for
 * another origin; a page that moves on by itself is not a form submission.
 */
export function LogoutContinuePage(props: { ctx: SamlShell; idpName: string; to: string }) {
  const s = (key: Parameters<typeof samlText>[1], params?: Record<string, string>) => samlText(props.ctx.locale, key, params);
  const Shell = props.ctx.page;
  return (
    <Shell title={s('logout.title')} refreshTo={props.to}>
      <section class="notice">
        <h1>{s('logout.title')}</h1>
        <p>{s('logout.continue', { idp: props.idpName })}</p>
        <p>
          <a class="button" href={props.to}>
            {s('logout.go')}
          </a>
        </p>
      </section>
    </Shell>
  );
}
