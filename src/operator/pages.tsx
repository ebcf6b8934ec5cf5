// The operator console's shell: plain, unbranded (it belongs to no university), with who is
// logged in and a logout button. The console's own pages (tenants, load, usage) come later.
import type { ComponentChildren } from 'preact';
import type { Tenant } from '../tenancy/registry.js';
import type { Locale, Translate } from '../web/i18n/index.js';

export interface OperatorPageContext {
  readonly locale: Locale;
  readonly t: Translate;
  readonly consoleName: string;
  readonly user?: { readonly displayName: string; readonly csrfToken: string };
}

export function OperatorLayout(props: { ctx: OperatorPageContext; title: string; children: ComponentChildren }) {
  const { ctx } = props;
  return (
    <html lang={ctx.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${ctx.consoleName}`}</title>
        <link rel="stylesheet" href="/static/portique.css" />
        {ctx.user && <meta name="csrf-token" content={ctx.user.csrfToken} />}
      </head>
      <body>
        <header class="site-header">
          <a class="brand" href="/">
            <span class="brand-name">{ctx.consoleName}</span>
          </a>
          {ctx.user && (
            <div class="header-actions">
              <span class="user-name">{ctx.user.displayName}</span>
              <form method="post" action="/deconnexion" class="inline-form">
                <input type="hidden" name="_csrf" value={ctx.user.csrfToken} />
                <button type="submit">{ctx.t('logout')}</button>
              </form>
            </div>
          )}
        </header>
        <main id="main" class="site-main" tabIndex={-1}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function OperatorHomePage(props: { ctx: OperatorPageContext; tenants: Tenant[] }) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <OperatorLayout ctx={ctx} title={t('operator.title')}>
      <h1>{t('operator.title')}</h1>
      <p class="lead">{t('operator.welcome', { name: ctx.user?.displayName ?? '' })}</p>
      <h2>{t('operator.tenants')}</h2>
      <ul>
        {props.tenants.map((tenant) => (
          <li>
            {tenant.displayName} <span class="status">({tenant.hosts.join(', ')} · {tenant.status})</span>
          </li>
        ))}
      </ul>
    </OperatorLayout>
  );
}

export function OperatorMessagePage(props: { ctx: OperatorPageContext; title: string; message: string; requestId: string }) {
  const { t } = props.ctx;
  return (
    <OperatorLayout ctx={props.ctx} title={props.title}>
      <section class="error-page">
        <h1>{props.title}</h1>
        <p class="lead">{props.message}</p>
        <p class="code">
          {t('error.requestId')} : <code>{props.requestId}</code>
        </p>
      </section>
    </OperatorLayout>
  );
}
