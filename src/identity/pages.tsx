// Identity pages: "Mes sessions", and the page a refused login lands on.
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import type { Session } from './session-store.js';
import { describeUserAgent } from './user-agent.js';

function formatTime(ctx: PageContext, at: number): string {
  return new Intl.DateTimeFormat(ctx.locale === 'en' ? 'en-GB' : 'fr-FR', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Europe/Paris',
  }).format(new Date(at));
}

export function SessionsPage(props: { ctx: PageContext; sessions: Session[]; currentHandle: string }) {
  const { ctx, sessions, currentHandle } = props;
  const { t } = ctx;
  const others = sessions.filter((s) => s.handle !== currentHandle);
  return (
    <Layout ctx={ctx} title={t('sessions.title')}>
      <h1>{t('sessions.title')}</h1>
      <p class="lead">{t('sessions.intro', { name: ctx.tenant.displayName })}</p>
      <table class="sessions">
        <thead>
          <tr>
            <th scope="col">{t('sessions.device')}</th>
            <th scope="col">{t('sessions.started')}</th>
            <th scope="col">{t('sessions.lastActivity')}</th>
            <th scope="col">
              <span class="visually-hidden">{t('sessions.end')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => {
            const device = describeUserAgent(s.userAgent) ?? t('sessions.unknownDevice');
            return (
              <tr>
                <th scope="row">{device}</th>
                <td data-label={t('sessions.started')}>{formatTime(ctx, s.createdAt)}</td>
                <td data-label={t('sessions.lastActivity')}>{formatTime(ctx, s.lastSeenAt)}</td>
                <td>
                  {s.handle === currentHandle ? (
                    <strong>{t('sessions.current')}</strong>
                  ) : (
                    <form method="post" action="/mes-sessions/terminer" class="inline-form">
                      <CsrfField ctx={ctx} />
                      <input type="hidden" name="session" value={s.handle} />
                      <button type="submit" aria-label={t('sessions.endLabel', { device })}>
                        {t('sessions.end')}
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {others.length > 0 ? (
        <form method="post" action="/mes-sessions/terminer-les-autres">
          <CsrfField ctx={ctx} />
          <button type="submit">{t('sessions.endOthers')}</button>
        </form>
      ) : (
        <p>{t('sessions.noOthers')}</p>
      )}
    </Layout>
  );
}

export function LoginRefusedPage(props: { ctx: PageContext; message: string; requestId: string }) {
  const { t } = props.ctx;
  return (
    <Layout ctx={props.ctx} title={t('login.refused.title')}>
      <section class="error-page">
        <h1>{t('login.refused.title')}</h1>
        <p class="lead">{props.message}</p>
        <p>{t('login.refused.help')}</p>
        <p class="code">
          {t('error.requestId')} : <code>{props.requestId}</code>
        </p>
        <p>
          <a href="/">{t('error.back')}</a>
        </p>
      </section>
    </Layout>
  );
}
