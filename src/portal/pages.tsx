import { Layout, type PageContext } from '../web/layout.js';
import { SERVICES } from '../tenancy/services.js';

export function HomePage(props: { ctx: PageContext }) {
  const { ctx } = props;
  const { t, tenant, locale } = ctx;
  const tagline = tenant.declaration.branding.tagline;
  // Services people can open come first, so they are not lost among those still to come.
  const services = tenant.declaration.services
    .map((id) => {
      const info = SERVICES[id] as { label: { fr: string; en: string }; path?: string };
      return { id, label: locale === 'en' ? info.label.en : info.label.fr, path: info.path };
    })
    .sort((a, b) => Number(!a.path) - Number(!b.path));
  return (
    <Layout ctx={ctx} title={t('home.title')}>
      <section class="hero" aria-labelledby="welcome">
        <h1 id="welcome">{tenant.displayName}</h1>
        <p class="lead">{(tagline && ((locale === 'en' && tagline.en) || tagline.fr)) || t('home.welcome')}</p>
      </section>
      <h2>{t('home.services')}</h2>
      <ul class="cards">
        {services.map(({ id, label, path }) =>
          path ? (
            <li class="card" key={id}>
              <h3>
                <a href={path}>{label}</a>
              </h3>
              {/* The link is named by the service; this is only the visual cue. */}
              <span class="go" aria-hidden="true">
                {t('home.open')} →
              </span>
            </li>
          ) : (
            <li class="card card-soon" key={id}>
              <h3>{label}</h3>
              <span class="status">{t('home.soon')}</span>
            </li>
          ),
        )}
      </ul>
    </Layout>
  );
}

export function HelpPage(props: { ctx: PageContext }) {
  const { t } = props.ctx;
  return (
    <Layout ctx={props.ctx} title={t('help.title')}>
      <h1>{t('help.title')}</h1>
      <p class="lead">{t('help.intro')}</p>
      <dl class="faq">
        <dt>{t('help.login.q')}</dt>
        <dd>{t('help.login.a')}</dd>
        <dt>{t('help.contact.q')}</dt>
        <dd>{t('help.contact.a')}</dd>
      </dl>
    </Layout>
  );
}
