// Directory admin views: a person's detail with its actions; import upload, history and reports.
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import { directoryTranslator, type DirectoryKey } from './messages.js';
import { CardFields } from './pages.js';
import type { ImportRun } from './imports.js';
import type { Card } from './white-pages.js';
import type { PersonRow } from './repository.js';

/** The directory administration's menu; the entry whose pages these are is marked (a person's page is under People). */
export function AdminNav(props: { ctx: PageContext }) {
  const d = directoryTranslator(props.ctx.locale);
  const entries = [
    { href: '/admin/annuaire', label: d('admin.people') },
    { href: '/admin/annuaire/imports', label: d('admin.imports') },
    { href: '/admin/groupes', label: d('admin.groups') },
  ];
  const path = props.ctx.path;
  // The longest entry the path is in: /admin/annuaire/imports/<id> is under Imports, not People.
  const current = entries.filter((e) => path === e.href || path.startsWith(`${e.href}/`)).sort((a, b) => b.href.length - a.href.length)[0];
  return (
    <nav aria-label={d('admin.title')} class="subnav">
      <ul>
        {entries.map((e) => (
          <li>
            <a href={e.href} aria-current={e === current ? (path === e.href ? 'page' : 'true') : undefined}>
              {e.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function ActionForm(props: { ctx: PageContext; action: string; label: string }) {
  return (
    <form method="post" action={props.action} class="inline-form">
      <CsrfField ctx={props.ctx} />
      <button type="submit">{props.label}</button>
    </form>
  );
}

export function AdminPersonPage(props: { ctx: PageContext; card: Card; row: PersonRow }) {
  const { ctx, card, row } = props;
  const d = directoryTranslator(ctx.locale);
  const base = `/admin/annuaire/personnes/${row.id}`;
  return (
    <Layout ctx={ctx} title={card.displayName}>
      <AdminNav ctx={ctx} />
      <h1>{card.displayName}</h1>
      {row.red_list && <p class="badge">{d('wp.redList')}</p>}
      {row.status === 'deactivated' && <p class="badge">{d('wp.deactivated')}</p>}
      <CardFields ctx={ctx} card={card} />
      <dl>
        <dt>id</dt>
        <dd>{row.external_id}</dd>
        <dt>{d('admin.source')}</dt>
        <dd>{row.source}</dd>
        <dt>eduPersonAffiliation</dt>
        <dd>{row.affiliations.join(', ')}</dd>
      </dl>
      <p>
        {row.status === 'active' ? (
          <ActionForm ctx={ctx} action={`${base}/desactiver`} label={d('admin.deactivate')} />
        ) : (
          <ActionForm ctx={ctx} action={`${base}/reactiver`} label={d('admin.reactivate')} />
        )}{' '}
        {row.granted_roles.includes('admin') ? (
          <ActionForm ctx={ctx} action={`${base}/admin/retirer`} label={d('admin.revokeAdmin')} />
        ) : (
          <ActionForm ctx={ctx} action={`${base}/admin/accorder`} label={d('admin.grantAdmin')} />
        )}
      </p>
    </Layout>
  );
}

const statusKey = (status: string) => `admin.status.${status}` as DirectoryKey;
const fmt = (date: Date | null, locale: string) => (date ? new Date(date).toLocaleString(locale === 'en' ? 'en-GB' : 'fr-FR', { timeZone: 'Europe/Paris' }) : '');

export function ImportsPage(props: { ctx: PageContext; runs: ImportRun[] }) {
  const { ctx } = props;
  const d = directoryTranslator(ctx.locale);
  // A multipart body is streamed: the CSRF token travels in the action URL (src/identity/csrf.ts).
  const action = `/admin/annuaire/imports?_csrf=${encodeURIComponent(ctx.user?.csrfToken ?? '')}`;
  return (
    <Layout ctx={ctx} title={d('admin.imports')}>
      <AdminNav ctx={ctx} />
      <h1>{d('admin.upload')}</h1>
      <p class="hint">{d('admin.format')}</p>
      <form method="post" action={action} enctype="multipart/form-data">
        <p>
          <label for="dryRun">
            <input id="dryRun" type="checkbox" name="dryRun" value="1" checked /> {d('admin.dryRun')}
          </label>
        </p>
        <p>
          <label for="file">{d('admin.file')}</label>
          <input id="file" type="file" name="file" accept=".csv,text/csv" required />
        </p>
        <button type="submit">{d('admin.send')}</button>
      </form>
      {ctx.tenant.declaration.directory?.ldap && (
        <form method="post" action="/admin/annuaire/ldap">
          <CsrfField ctx={ctx} />
          <p>
            <label for="mode">LDAP</label>{' '}
            <select id="mode" name="mode">
              <option value="incremental">{ctx.locale === 'en' ? 'Incremental sync' : 'Synchronisation incrémentale'}</option>
              <option value="full">{ctx.locale === 'en' ? 'Full reconcile' : 'Réconciliation complète'}</option>
            </select>{' '}
            <label for="ldap-force">
              <input id="ldap-force" type="checkbox" name="force" value="1" /> {d('admin.force')}
            </label>{' '}
            <button type="submit">{d('admin.send')}</button>
          </p>
        </form>
      )}
      <h2>{d('admin.history')}</h2>
      {props.runs.length === 0 ? (
        <p>{d('admin.noRuns')}</p>
      ) : (
        <table class="sessions">
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">{d('admin.source')}</th>
              <th scope="col">Mode</th>
              <th scope="col">Statut</th>
              <th scope="col">{d('admin.changes')}</th>
            </tr>
          </thead>
          <tbody>
            {props.runs.map((run) => (
              <tr key={run.id}>
                <td>
                  <a href={`/admin/annuaire/imports/${run.id}`}>{fmt(run.createdAt, ctx.locale)}</a>
                </td>
                <td>
                  {run.source}
                  {run.fileName ? ` (${run.fileName})` : ''}
                </td>
                <td>{run.dryRun ? d('admin.dry') : d('admin.real')}</td>
                <td>
                  {d(statusKey(run.status))}
                  {run.status === 'running' ? ` ${run.progress} %` : ''}
                </td>
                <td>{summary(run.counts)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

const summary = (counts: Record<string, number>) =>
  ['create', 'update', 'deactivate', 'reactivate', 'unchanged', 'bad'].filter((k) => counts[k] !== undefined).map((k) => `${k}: ${counts[k]}`).join(', ');

export function ImportPage(props: { ctx: PageContext; run: ImportRun }) {
  const { ctx, run } = props;
  const d = directoryTranslator(ctx.locale);
  const canApply = run.source === 'csv' && run.hasFile && (run.dryRun ? run.status === 'succeeded' : run.status === 'needs_force');
  return (
    <Layout ctx={ctx} title={d('admin.imports')}>
      <AdminNav ctx={ctx} />
      <h1>
        {d('admin.imports')} · {run.dryRun ? d('admin.dry') : d('admin.real')}
      </h1>
      <p role="status">
        {d(statusKey(run.status))}
        {run.status === 'running' || run.status === 'queued' ? ` (${run.progress} %)` : ''}
      </p>
      {run.error && <p class="error">{run.error}</p>}
      <p>{summary(run.counts)}</p>
      {canApply && (
        <form method="post" action={`/admin/annuaire/imports/${run.id}/appliquer`}>
          <CsrfField ctx={ctx} />
          {(run.status === 'needs_force' || (run.counts.deactivate ?? 0) > 0) && (
            <p>
              <label for="force">
                <input id="force" type="checkbox" name="force" value="1" /> {d('admin.force')}
              </label>
            </p>
          )}
          <button type="submit">{d('admin.apply')}</button>
        </form>
      )}
      {run.problems.length > 0 && (
        <>
          <h2>{d('admin.problems')}</h2>
          <ul>
            {run.problems.map((p) => (
              <li>
                {p.line ? `ligne ${p.line} : ` : ''}
                {p.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {run.changes.length > 0 && (
        <>
          <h2>{d('admin.changes')}</h2>
          <ul>
            {run.changes.map((c) => (
              <li>
                {c.action} · {c.id}
                {c.fields ? ` (${c.fields.join(', ')})` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </Layout>
  );
}
