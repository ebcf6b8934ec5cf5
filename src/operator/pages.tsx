// The operator console's pages: a plain, unbranded shell (it belongs to no university) with who
// is logged in, its navigation and a logout button; the tenants table, the suspension's
// confirmation, a tenant's failed jobs and the audit journal. Forms are plain POSTs with the
// CSRF field: everything works without JavaScript.
import type { ComponentChildren } from 'preact';
import type { FailedJob } from '../jobs/client.js';
import type { Tenant } from '../tenancy/registry.js';
import type { Locale, Translate } from '../web/i18n/index.js';
import { CSRF_FIELD } from '../web/layout.js';
import { BarChart } from '../statistics/chart.js';
import type { Period, TenantUsage, UsageReport } from '../statistics/report.js';
import type { AuditRecord } from './audit.js';
import { ACTIVE_DAYS, type TenantFigures } from './regional.js';

export interface OperatorPageContext {
  readonly locale: Locale;
  readonly t: Translate;
  readonly consoleName: string;
  readonly user?: { readonly displayName: string; readonly csrfToken: string };
}

/** `refreshTo`: go on to this address by itself (meta refresh), as the tenant Layout's. */
export function OperatorLayout(props: { ctx: OperatorPageContext; title: string; refreshTo?: string | undefined; children: ComponentChildren }) {
  const { ctx } = props;
  return (
    <html lang={ctx.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${ctx.consoleName}`}</title>
        {props.refreshTo && <meta http-equiv="refresh" content={`0;url=${props.refreshTo}`} />}
        <link rel="stylesheet" href="/static/portique.css" />
        {ctx.user && <meta name="csrf-token" content={ctx.user.csrfToken} />}
      </head>
      <body>
        <header class="site-header">
          <a class="brand" href="/">
            <span class="brand-name">{ctx.consoleName}</span>
          </a>
          {ctx.user && (
            // site-nav: the portal's header menu styles (its links were in the link colour, which is
            // the header's own: invisible, and axe could not tell).
            <nav class="site-nav" aria-label={ctx.t('operator.nav')}>
              <ul class="inline-list">
                <li>
                  <a href="/">{ctx.t('operator.nav.tenants')}</a>
                </li>
                <li>
                  <a href="/statistiques">{ctx.t('operator.nav.statistics')}</a>
                </li>
                <li>
                  <a href="/journal">{ctx.t('operator.nav.audit')}</a>
                </li>
              </ul>
            </nav>
          )}
          {ctx.user && (
            <div class="header-actions">
              <span class="user-name">{ctx.user.displayName}</span>
              <form method="post" action="/deconnexion" class="inline-form">
                <CsrfInput ctx={ctx} />
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

function CsrfInput(props: { ctx: OperatorPageContext }) {
  return <input type="hidden" name={CSRF_FIELD} value={props.ctx.user?.csrfToken ?? ''} />;
}

/** A tenant's usage statistics, as the operator sees them. */
export const statisticsHref = (tenant: Tenant) => `/etablissements/${tenant.slug}/statistiques`;
export const failedJobsHref = (tenant: Tenant) => `/etablissements/${tenant.slug}/travaux`;

export function formatBytes(bytes: number, locale: Locale): string {
  const units = locale === 'fr' ? ['o', 'Ko', 'Mo', 'Go', 'To', 'Po'] : ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: unit ? 1 : 0 }).format(value)} ${units[unit]}`;
}

const number = (ctx: OperatorPageContext, n: number) => new Intl.NumberFormat(ctx.locale, { maximumFractionDigits: 1 }).format(n);
const dateTime = (ctx: OperatorPageContext, d: Date) =>
  new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Europe/Paris' }).format(d);

function Notice(props: { message?: string | undefined }) {
  return props.message ? (
    <p class="notice" role="status">
      {props.message}
    </p>
  ) : null;
}

export function OperatorHomePage(props: { ctx: OperatorPageContext; tenants: TenantFigures[]; notice?: string | undefined }) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <OperatorLayout ctx={ctx} title={t('operator.title')}>
      <h1>{t('operator.title')}</h1>
      <p class="lead">{t('operator.welcome', { name: ctx.user?.displayName ?? '' })}</p>
      <Notice message={props.notice} />
      <h2>{t('operator.tenants')}</h2>
      <table class="sessions tenants">
        <caption>{t('operator.tenants.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('operator.col.tenant')}</th>
            <th scope="col">{t('operator.col.status')}</th>
            <th scope="col">{t('operator.col.people')}</th>
            <th scope="col">{t('operator.col.active', { days: String(ACTIVE_DAYS) })}</th>
            <th scope="col">{t('operator.col.storage')}</th>
            <th scope="col">{t('operator.col.queued')}</th>
            <th scope="col">{t('operator.col.running')}</th>
            <th scope="col">{t('operator.col.failed')}</th>
            <th scope="col">{t('operator.col.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {props.tenants.map((f) => (
            <TenantRow ctx={ctx} figures={f} key={f.tenant.id} />
          ))}
        </tbody>
      </table>
    </OperatorLayout>
  );
}

function TenantRow(props: { ctx: OperatorPageContext; figures: TenantFigures }) {
  const { ctx, figures } = props;
  const { t } = ctx;
  const { tenant, jobs } = figures;
  const name = tenant.displayName;
  const unavailable = t('operator.jobs.unavailable');
  return (
    <tr data-tenant={tenant.slug}>
      <th scope="row" data-label={t('operator.col.tenant')}>
        {name}
        <br />
        <small>{tenant.hosts.join(', ')}</small>
      </th>
      <td data-label={t('operator.col.status')} class={`status status-${tenant.status}`}>
        {t(tenant.status === 'active' ? 'operator.status.active' : 'operator.status.suspended')}
      </td>
      <td data-label={t('operator.col.people')} class="people">{number(ctx, figures.people)}</td>
      <td data-label={t('operator.col.active', { days: String(ACTIVE_DAYS) })} class="active-people">{number(ctx, figures.activePeople)}</td>
      <td data-label={t('operator.col.storage')} class="storage">
        {formatBytes(figures.storageUsed, ctx.locale)} / {formatBytes(figures.storageQuota, ctx.locale)}
      </td>
      <td data-label={t('operator.col.queued')} class="queued">{jobs ? number(ctx, jobs.waiting + jobs.delayed) : unavailable}</td>
      <td data-label={t('operator.col.running')} class="running">{jobs ? number(ctx, jobs.active) : unavailable}</td>
      <td data-label={t('operator.col.failed')} class="failed">
        <a href={failedJobsHref(tenant)}>
          {jobs ? number(ctx, jobs.failed) : unavailable}
          <span class="visually-hidden"> — {t('operator.failedJobs', { name })}</span>
        </a>
      </td>
      <td data-label={t('operator.col.actions')}>
        <ul class="inline-list">
          <li>
            <a href={statisticsHref(tenant)}>{t('operator.statistics', { name })}</a>
          </li>
          <li>
            {tenant.status === 'active' ? (
              <a href={`/etablissements/${tenant.slug}/suspendre`}>{t('operator.suspend', { name })}</a>
            ) : (
              <form method="post" action={`/etablissements/${tenant.slug}/reprendre`} class="inline-form">
                <CsrfInput ctx={ctx} />
                <button type="submit">{t('operator.resume', { name })}</button>
              </form>
            )}
          </li>
        </ul>
      </td>
    </tr>
  );
}

export function SuspendConfirmPage(props: { ctx: OperatorPageContext; tenant: Tenant }) {
  const { ctx, tenant } = props;
  const { t } = ctx;
  const name = tenant.displayName;
  return (
    <OperatorLayout ctx={ctx} title={t('operator.suspend.title', { name })}>
      <h1>{t('operator.suspend.title', { name })}</h1>
      <p class="notice">{t('operator.suspend.warning', { name })}</p>
      <form method="post" action={`/etablissements/${tenant.slug}/suspendre`}>
        <CsrfInput ctx={ctx} />
        <button type="submit" class="danger">{t('operator.suspend.confirm')}</button> <a href="/">{t('operator.cancel')}</a>
      </form>
    </OperatorLayout>
  );
}

export function FailedJobsPage(props: { ctx: OperatorPageContext; tenant: Tenant; jobs: FailedJob[] | undefined; notice?: string | undefined }) {
  const { ctx, tenant } = props;
  const { t } = ctx;
  const name = tenant.displayName;
  return (
    <OperatorLayout ctx={ctx} title={t('operator.jobs.title', { name })}>
      <h1>{t('operator.jobs.title', { name })}</h1>
      <p>
        <a href="/">{t('operator.back')}</a>
      </p>
      <Notice message={props.notice} />
      {!props.jobs ? (
        <p class="notice">{t('operator.jobs.unreachable')}</p>
      ) : props.jobs.length === 0 ? (
        <p>{t('operator.jobs.none', { name })}</p>
      ) : (
        <table class="sessions failed-jobs">
          <caption>{t('operator.jobs.caption', { name })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('operator.jobs.name')}</th>
              <th scope="col">{t('operator.jobs.lane')}</th>
              <th scope="col">{t('operator.jobs.error')}</th>
              <th scope="col">{t('operator.jobs.attempts')}</th>
              <th scope="col">{t('operator.jobs.failedAt')}</th>
              <th scope="col">{t('operator.col.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {props.jobs.map((job) => (
              <tr key={`${job.lane}/${job.id}`} data-job={job.id}>
                <th scope="row" data-label={t('operator.jobs.name')}>
                  {job.name}
                  <br />
                  <small>
                    <code>{job.id}</code>
                  </small>
                </th>
                <td data-label={t('operator.jobs.lane')}>{job.lane}</td>
                <td data-label={t('operator.jobs.error')}>
                  <code>{job.error}</code>
                </td>
                <td data-label={t('operator.jobs.attempts')}>{number(ctx, job.attempts)}</td>
                <td data-label={t('operator.jobs.failedAt')}>{job.failedAt ? dateTime(ctx, job.failedAt) : ''}</td>
                <td data-label={t('operator.col.actions')}>
                  <form method="post" action={`/etablissements/${tenant.slug}/travaux/${job.lane}/${encodeURIComponent(job.id)}/relancer`} class="inline-form">
                    <CsrfInput ctx={ctx} />
                    <button type="submit" aria-label={t('operator.jobs.retryLabel', { job: `${job.name} ${job.id}` })}>
                      {t('operator.jobs.retry')}
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </OperatorLayout>
  );
}

function PeriodPicker(props: { ctx: OperatorPageContext; action: string; period: Period; invalid: boolean }) {
  const { t } = props.ctx;
  return (
    <>
      {props.invalid && <p role="alert">{t('operator.stats.invalid')}</p>}
      <form method="get" action={props.action} class="period-picker">
        <fieldset>
          <legend>{t('operator.stats.period')}</legend>
          <label>
            {t('operator.stats.from')} <input type="date" name="du" value={props.period.from} required />
          </label>{' '}
          <label>
            {t('operator.stats.to')} <input type="date" name="au" value={props.period.to} required />
          </label>{' '}
          <button type="submit">{t('operator.stats.show')}</button>
        </fieldset>
      </form>
    </>
  );
}

const figure = (ctx: OperatorPageContext, value: number | null) => (value === null ? <em>{ctx.t('operator.stats.withheld')}</em> : number(ctx, value));

/** What the regional table compares: events, average daily actives, the last month's actives. */
export function summaryOf(report: UsageReport): { events: number; averageDaily: number | null; lastMonth: number | null } {
  const shown = report.daily.filter((d) => d.people !== null);
  const averageDaily = shown.length ? shown.reduce((n, d) => n + d.people!, 0) / shown.length : null;
  const last = report.monthly.at(-1);
  return { events: report.daily.reduce((n, d) => n + (d.events ?? 0), 0), averageDaily, lastMonth: last ? last.people : 0 };
}

export function RegionalStatisticsPage(props: { ctx: OperatorPageContext; usage: TenantUsage[]; period: Period; invalid: boolean }) {
  const { ctx, period } = props;
  const { t } = ctx;
  return (
    <OperatorLayout ctx={ctx} title={t('operator.stats.regional.title')}>
      <h1>{t('operator.stats.regional.title')}</h1>
      <PeriodPicker ctx={ctx} action="/statistiques" period={period} invalid={props.invalid} />
      <p>{t('operator.stats.kNoteRegional')}</p>
      <table class="sessions regional-statistics">
        <caption>{t('operator.stats.regional.caption', { from: period.from, to: period.to })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('operator.col.tenant')}</th>
            <th scope="col">{t('operator.stats.events')}</th>
            <th scope="col">{t('operator.stats.averageDaily')}</th>
            <th scope="col">{t('operator.stats.lastMonth')}</th>
          </tr>
        </thead>
        <tbody>
          {props.usage.map((u) => {
            const summary = summaryOf(u.report);
            return (
              <tr key={u.tenantId} data-tenant={u.slug}>
                <th scope="row" data-label={t('operator.col.tenant')}>
                  <a href={`/etablissements/${u.slug}/statistiques?du=${period.from}&au=${period.to}`}>{u.displayName}</a>
                </th>
                <td data-label={t('operator.stats.events')} class="events">{number(ctx, summary.events)}</td>
                <td data-label={t('operator.stats.averageDaily')} class="average-daily">{figure(ctx, summary.averageDaily)}</td>
                <td data-label={t('operator.stats.lastMonth')} class="last-month">{figure(ctx, summary.lastMonth)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </OperatorLayout>
  );
}

export function TenantStatisticsPage(props: { ctx: OperatorPageContext; tenant: Tenant; report: UsageReport; invalid: boolean }) {
  const { ctx, tenant, report } = props;
  const { t } = ctx;
  const title = t('operator.stats.title', { name: tenant.displayName });
  return (
    <OperatorLayout ctx={ctx} title={title}>
      <h1>{title}</h1>
      <p>
        <a href="/statistiques">{t('operator.nav.statistics')}</a> · <a href="/">{t('operator.back')}</a>
      </p>
      <PeriodPicker ctx={ctx} action={statisticsHref(tenant)} period={report.period} invalid={props.invalid} />
      <p>{t('operator.stats.kNote', { k: String(report.minGroupSize) })}</p>
      <h2>{t('operator.stats.daily')}</h2>
      <BarChart id="chart-daily" title={t('operator.stats.daily')} withheldLabel={t('operator.stats.withheld')} bars={report.daily.map((d) => ({ label: d.day.slice(5), value: d.people }))} />
      <details>
        <summary>{t('operator.stats.dailyCaption')}</summary>
        <table class="sessions daily">
          <caption>{t('operator.stats.dailyCaption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('operator.stats.day')}</th>
              <th scope="col">{t('operator.stats.people')}</th>
              <th scope="col">{t('operator.stats.events')}</th>
            </tr>
          </thead>
          <tbody>
            {report.daily.map((d) => (
              <tr key={d.day} data-day={d.day}>
                <th scope="row">{d.day}</th>
                <td class="people">{figure(ctx, d.people)}</td>
                <td class="events">{figure(ctx, d.events)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      {report.monthly.length === 0 ? (
        <p>{t('operator.stats.none')}</p>
      ) : (
        <table class="sessions monthly">
          <caption>{t('operator.stats.monthlyCaption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('operator.stats.month')}</th>
              <th scope="col">{t('operator.stats.people')}</th>
              <th scope="col">{t('operator.stats.events')}</th>
            </tr>
          </thead>
          <tbody>
            {report.monthly.map((m) => (
              <tr key={m.month}>
                <th scope="row">{m.month.slice(0, 7)}</th>
                <td>{figure(ctx, m.people)}</td>
                <td>{figure(ctx, m.events)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report.byService.length > 0 && (
        <table class="sessions by-service">
          <caption>{t('operator.stats.serviceCaption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('operator.stats.service')}</th>
              <th scope="col">{t('operator.stats.events')}</th>
              <th scope="col">{t('operator.stats.averageDaily')}</th>
            </tr>
          </thead>
          <tbody>
            {report.byService.map((b) => (
              <tr key={b.key}>
                <th scope="row">{b.key}</th>
                <td>{number(ctx, b.events)}</td>
                <td>{figure(ctx, b.averageDailyPeople)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </OperatorLayout>
  );
}

export function AuditPage(props: { ctx: OperatorPageContext; records: AuditRecord[] }) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <OperatorLayout ctx={ctx} title={t('operator.audit.title')}>
      <h1>{t('operator.audit.title')}</h1>
      {props.records.length === 0 ? (
        <p>{t('operator.audit.none')}</p>
      ) : (
        <table class="sessions audit">
          <caption>{t('operator.audit.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('operator.audit.at')}</th>
              <th scope="col">{t('operator.audit.actor')}</th>
              <th scope="col">{t('operator.audit.action')}</th>
              <th scope="col">{t('operator.col.tenant')}</th>
              <th scope="col">{t('operator.audit.detail')}</th>
              <th scope="col">{t('operator.audit.ip')}</th>
              <th scope="col">{t('operator.audit.requestId')}</th>
            </tr>
          </thead>
          <tbody>
            {props.records.map((r) => (
              <tr key={r.id} data-audit={r.id}>
                <th scope="row" data-label={t('operator.audit.at')}>
                  <time dateTime={r.at.toISOString()}>{dateTime(ctx, r.at)}</time>
                </th>
                <td data-label={t('operator.audit.actor')}>
                  {r.actorName} <small>({r.actor})</small>
                </td>
                <td data-label={t('operator.audit.action')}>{t(`operator.action.${r.action}`)}</td>
                <td data-label={t('operator.col.tenant')}>{r.tenantSlug ?? ''}</td>
                <td data-label={t('operator.audit.detail')}>
                  {Object.entries(r.detail)
                    .map(([k, v]) => `${k}: ${v}`)
                    .join(', ')}
                </td>
                <td data-label={t('operator.audit.ip')}>{r.ip}</td>
                <td data-label={t('operator.audit.requestId')}>
                  <code>{r.requestId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
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
