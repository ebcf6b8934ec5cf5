// Pages shared by every feature: errors, maintenance, unknown host.
import { Layout, PlainPage, type PageContext } from './layout.js';
import type { Locale } from './i18n/index.js';
import { translator } from './i18n/index.js';

export function ErrorPage(props: { ctx: PageContext; status: number; message: string; requestId: string }) {
  const { t } = props.ctx;
  return (
    <Layout ctx={props.ctx} title={`${t('error.title')} ${props.status}`}>
      <section class="error-page">
        <h1>{`${t('error.title')} ${props.status}`}</h1>
        <p class="lead">{props.message}</p>
        <p class="code">
          {t('error.requestId')} : <code>{props.requestId}</code>
        </p>
        <p class="actions">
          <a class="button" href="/">
            {t('error.back')}
          </a>
          {props.ctx.tenant.declaration.services.includes('help') && <a href="/aide">{t('help.title')}</a>}
        </p>
      </section>
    </Layout>
  );
}

export function MaintenancePage(props: { ctx: PageContext }) {
  const { t, tenant } = props.ctx;
  return (
    <Layout ctx={props.ctx} title={t('maintenance.title')}>
      <section class="notice">
        <h1>{t('maintenance.title')}</h1>
        <p>{t('maintenance.body', { name: tenant.displayName })}</p>
      </section>
    </Layout>
  );
}

/** A page without tenant branding: unknown host, or a failure while drawing the branded page. */
export function PlainMessagePage(props: { lang: Locale; title: string; message: string; requestId: string }) {
  const t = translator(props.lang);
  return (
    <PlainPage title={props.title} lang={props.lang}>
      <h1>{props.title}</h1>
      <p class="lead">{props.message}</p>
      <p class="code">
        {t('error.requestId')} : <code>{props.requestId}</code>
      </p>
    </PlainPage>
  );
}

export function UnknownHostPage(props: { lang: Locale; requestId: string }) {
  const t = translator(props.lang);
  return <PlainMessagePage lang={props.lang} title={t('unknownHost.title')} message={t('unknownHost.body')} requestId={props.requestId} />;
}
