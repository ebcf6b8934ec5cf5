// The tenant admin's documents page: the tenant's usage against its total, usage per person and
// per group space (by size, paginated), and the quota forms.
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import { formatSize, QuotaBar } from './pages.js';
import type { SortOrder, UsageOverview } from './quotas.js';

const TEXT = {
  fr: {
    title: 'Documents : espace et quotas', tenant: "Espace de l'établissement", tenantNote: "Le total est fixé par l'opérateur régional.",
    defaultTitle: 'Quota par défaut par personne', defaultNote: 'Actuellement {size}{source}.', fromDeclaration: " (celui de la déclaration de l'établissement)",
    quota: 'Quota', quotaHelp: 'Par exemple « 500 Mo » ou « 2 Go » (1 Go = 1024 Mo) ; vide : revenir au quota par défaut.', save: 'Enregistrer',
    people: 'Par personne', groups: 'Par espace de groupe', person: 'Personne', group: 'Groupe', used: 'Utilisé', limit: 'Quota',
    custom: 'propre', byDefault: 'par défaut', sortDesc: 'Les plus gros d’abord', sortAsc: 'Les plus petits d’abord',
    personTitle: "Quota d'une personne", personField: 'Adresse de messagerie', page: 'Page {page} sur {pages}', previous: 'Page précédente', next: 'Page suivante',
    noPeople: "Personne n'a encore d'espace de documents.", noGroups: "L'établissement n'a aucun groupe.", access: 'Membres', read: 'lecture', write: 'lecture et écriture',
    capNote: "Aucun quota ne peut dépasser l'espace total de l'établissement ({total}).", reserved: '{size} réservés par des envois en cours',
  },
  en: {
    title: 'Documents: space and quotas', tenant: "The institution's space", tenantNote: 'The total is set by the regional operator.',
    defaultTitle: 'Default quota per person', defaultNote: 'Currently {size}{source}.', fromDeclaration: " (the institution's declaration)",
    quota: 'Quota', quotaHelp: 'For example “500 MB” or “2 GB” (1 GB = 1024 MB); empty: back to the default quota.', save: 'Save',
    people: 'Per person', groups: 'Per group space', person: 'Person', group: 'Group', used: 'Used', limit: 'Quota',
    custom: 'own', byDefault: 'default', sortDesc: 'Largest first', sortAsc: 'Smallest first',
    personTitle: "A person's quota", personField: 'Mail address', page: 'Page {page} of {pages}', previous: 'Previous page', next: 'Next page',
    noPeople: 'Nobody has a documents space yet.', noGroups: 'The institution has no group.', access: 'Members', read: 'read', write: 'read and write',
    capNote: "No quota can be above the institution's total space ({total}).", reserved: '{size} reserved by uploads in progress',
  },
} as const;
type Key = keyof (typeof TEXT)['fr'];
const tr = (ctx: PageContext, key: Key, params: Record<string, string> = {}) =>
  (TEXT[ctx.locale][key] as string).replace(/\{(\w+)\}/g, (m, n: string) => params[n] ?? m);

function QuotaForm(props: { ctx: PageContext; action: string; id: string; person?: boolean }) {
  const { ctx, action, id } = props;
  return (
    <form method="post" action={action} class="inline-form">
      <CsrfField ctx={ctx} />
      {props.person && (
        <>
          <label for={`${id}-personne`}>{tr(ctx, 'personField')}</label> <input id={`${id}-personne`} name="personne" type="email" required />{' '}
        </>
      )}
      <label for={`${id}-quota`}>{tr(ctx, 'quota')}</label> <input id={`${id}-quota`} name="quota" size={10} aria-describedby="quota-help" />{' '}
      <button type="submit">{tr(ctx, 'save')}</button>
    </form>
  );
}

function Pager(props: { ctx: PageContext; page: number; pages: number; href: (page: number) => string }) {
  const { ctx, page, pages, href } = props;
  if (pages <= 1) return null;
  return (
    <nav aria-label={tr(ctx, 'page', { page: String(page), pages: String(pages) })}>
      {page > 1 && <a href={href(page - 1)}>{tr(ctx, 'previous')}</a>} {tr(ctx, 'page', { page: String(page), pages: String(pages) })}{' '}
      {page < pages && <a href={href(page + 1)}>{tr(ctx, 'next')}</a>}
    </nav>
  );
}

export function DocumentsAdminPage(props: { ctx: PageContext; overview: UsageOverview; order: SortOrder }) {
  const { ctx, overview: o, order } = props;
  const size = (n: number) => formatSize(n, ctx.locale);
  const href = (people: number, groups: number, ordre: SortOrder = order) => `/admin/documents?personnes=${people}&groupes=${groups}&ordre=${ordre}`;
  return (
    <Layout ctx={ctx} title={tr(ctx, 'title')}>
      <h1>{tr(ctx, 'title')}</h1>
      <h2>{tr(ctx, 'tenant')}</h2>
      <QuotaBar ctx={ctx} usage={{ used: o.tenant.used, limit: o.tenant.total }} />
      <p>
        {tr(ctx, 'tenantNote')} {o.tenant.reserved > 0 && tr(ctx, 'reserved', { size: size(o.tenant.reserved) })}
      </p>
      <p id="quota-help">
        {tr(ctx, 'quotaHelp')} {tr(ctx, 'capNote', { total: size(o.tenant.total) })}
      </p>

      <h2>{tr(ctx, 'defaultTitle')}</h2>
      <p>{tr(ctx, 'defaultNote', { size: size(o.defaultPerPerson), source: o.defaultOverridden ? '' : tr(ctx, 'fromDeclaration') })}</p>
      <QuotaForm ctx={ctx} action="/admin/documents/defaut" id="defaut" />

      <h2>{tr(ctx, 'personTitle')}</h2>
      <QuotaForm ctx={ctx} action="/admin/documents/personnes" id="personne" person />

      <p>
        {order === 'desc' ? <a href={href(1, 1, 'asc')}>{tr(ctx, 'sortAsc')}</a> : <a href={href(1, 1, 'desc')}>{tr(ctx, 'sortDesc')}</a>}
      </p>

      <h2>{tr(ctx, 'people')}</h2>
      {o.people.rows.length === 0 ? (
        <p>{tr(ctx, 'noPeople')}</p>
      ) : (
        <table class="documents">
          <thead>
            <tr>
              <th scope="col">{tr(ctx, 'person')}</th>
              <th scope="col" aria-sort={order === 'desc' ? 'descending' : 'ascending'}>
                {tr(ctx, 'used')}
              </th>
              <th scope="col">{tr(ctx, 'limit')}</th>
            </tr>
          </thead>
          <tbody>
            {o.people.rows.map((p) => (
              <tr>
                <td>
                  {p.displayName} {p.mail && <small>({p.mail})</small>}
                </td>
                <td>{size(p.used)}</td>
                <td>
                  {size(p.quota)} ({tr(ctx, p.overridden ? 'custom' : 'byDefault')})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager ctx={ctx} page={o.people.page} pages={o.people.pages} href={(n) => href(n, o.groups.page)} />

      <h2>{tr(ctx, 'groups')}</h2>
      {o.groups.rows.length === 0 ? (
        <p>{tr(ctx, 'noGroups')}</p>
      ) : (
        <table class="documents">
          <thead>
            <tr>
              <th scope="col">{tr(ctx, 'group')}</th>
              <th scope="col" aria-sort={order === 'desc' ? 'descending' : 'ascending'}>
                {tr(ctx, 'used')}
              </th>
              <th scope="col">{tr(ctx, 'limit')}</th>
              <th scope="col">{tr(ctx, 'access')}</th>
            </tr>
          </thead>
          <tbody>
            {o.groups.rows.map((g) => (
              <tr>
                <td>{g.name}</td>
                <td>{size(g.used)}</td>
                <td>
                  {size(g.quota)} ({tr(ctx, g.overridden ? 'custom' : 'byDefault')}) <QuotaForm ctx={ctx} action={`/admin/documents/groupes/${g.groupId}`} id={`g-${g.groupId}`} />
                </td>
                <td>
                  <form method="post" action={`/documents/groupes/${g.groupId}/acces`} class="inline-form">
                    <CsrfField ctx={ctx} />
                    <input type="hidden" name="retour" value="admin" />
                    <label>
                      {tr(ctx, 'access')}{' '}
                      <select name="acces">
                        {(['read', 'write'] as const).map((v) => (
                          <option value={v} selected={g.memberAccess === v}>
                            {tr(ctx, v)}
                          </option>
                        ))}
                      </select>
                    </label>{' '}
                    <button type="submit">{tr(ctx, 'save')}</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager ctx={ctx} page={o.groups.page} pages={o.groups.pages} href={(n) => href(o.people.page, n)} />
    </Layout>
  );
}
