// White pages views: search with results, a person's card, one's own profile.
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import { directoryTranslator } from './messages.js';
import type { Card, SearchResult } from './white-pages.js';

export function CardFields(props: { ctx: PageContext; card: Card }) {
  const d = directoryTranslator(props.ctx.locale);
  const { card } = props;
  return (
    <dl class="person-fields">
      {card.affectation && (
        <>
          <dt>{d('wp.affectation')}</dt>
          <dd>{card.affectation}</dd>
        </>
      )}
      {card.title && (
        <>
          <dt>{d('wp.title2')}</dt>
          <dd>{card.title}</dd>
        </>
      )}
      {card.mail && (
        <>
          <dt>{d('wp.mail')}</dt>
          <dd>
            <a href={`mailto:${card.mail}`}>{card.mail}</a>
          </dd>
        </>
      )}
      {card.officePhone && (
        <>
          <dt>{d('wp.phone')}</dt>
          <dd>
            <a href={`tel:${card.officePhone.replace(/[^+\d]/g, '')}`}>{card.officePhone}</a>
          </dd>
        </>
      )}
    </dl>
  );
}

export function SearchPage(props: { ctx: PageContext; query: string; result?: SearchResult; base?: string; admin?: boolean }) {
  const { ctx, query, result } = props;
  const d = directoryTranslator(ctx.locale);
  const base = props.base ?? '/annuaire';
  const pageHref = (page: number) => `${base}?q=${encodeURIComponent(query)}&page=${page}`;
  return (
    <Layout ctx={ctx} title={props.admin ? d('admin.people') : d('wp.title')}>
      <h1>{props.admin ? d('admin.people') : d('wp.title')}</h1>
      <form method="get" action={base} role="search" class="search-form">
        <label for="q">{d('wp.search')}</label>
        <p id="q-hint" class="hint">
          {d('wp.searchHint')}
        </p>
        <input id="q" name="q" type="search" value={query} maxLength={200} autocomplete="off" aria-describedby="q-hint" />
        <button type="submit">{d('wp.submit')}</button>
      </form>
      {!props.admin && (
        <p>
          <a href="/annuaire/mon-profil">{d('wp.profile')}</a>
        </p>
      )}
      {result && (
        <section aria-labelledby="results">
          <h2 id="results">{d('wp.results', { q: query, page: String(result.page) })}</h2>
          {result.cards.length === 0 ? (
            <p>{d('wp.none', { q: query })}</p>
          ) : (
            <ul class="people">
              {result.cards.map((card) => (
                <li key={card.id}>
                  <a href={props.admin ? `/admin/annuaire/personnes/${card.id}` : `/annuaire/${card.id}`}>{card.displayName}</a>
                  {card.affectation && <span class="meta"> · {card.affectation}</span>}
                  {card.redList && <span class="badge"> · {d('wp.redList')}</span>}
                  {card.status === 'deactivated' && <span class="badge"> · {d('wp.deactivated')}</span>}
                </li>
              ))}
            </ul>
          )}
          <nav class="pager" aria-label="pagination">
            {result.page > 1 && <a href={pageHref(result.page - 1)}>{d('wp.prev')}</a>}
            {result.hasMore && <a href={pageHref(result.page + 1)}>{d('wp.next')}</a>}
          </nav>
          {props.admin && (
            <p>
              <a href={`/admin/annuaire/export.csv?q=${encodeURIComponent(query)}`}>{d('admin.export')}</a>
            </p>
          )}
        </section>
      )}
    </Layout>
  );
}

export function PersonPage(props: { ctx: PageContext; card: Card }) {
  const { ctx, card } = props;
  const d = directoryTranslator(ctx.locale);
  return (
    <Layout ctx={ctx} title={card.displayName}>
      <article class="person-card">
        <h1>{card.displayName}</h1>
        {card.hasPhoto && <img class="person-photo" src={`/annuaire/${card.id}/photo`} alt="" width="120" height="120" />}
        {card.redList && <p class="badge">{d('wp.redList')}</p>}
        {card.status === 'deactivated' && <p class="badge">{d('wp.deactivated')}</p>}
        <CardFields ctx={ctx} card={card} />
        <p>
          <a href={`/annuaire/${card.id}/vcard`} download>
            {d('wp.vcard')}
          </a>
        </p>
      </article>
    </Layout>
  );
}

export function ProfilePage(props: { ctx: PageContext; card: Card; preferredMail: string | null; phoneVisible: boolean; editable: Set<string>; saved: boolean }) {
  const { ctx, card } = props;
  const d = directoryTranslator(ctx.locale);
  return (
    <Layout ctx={ctx} title={d('wp.profile')}>
      <h1>{d('wp.profile')}</h1>
      {props.saved && <p role="status">{d('wp.saved')}</p>}
      <h2>{d('wp.myCard')}</h2>
      <p>{card.displayName}</p>
      <CardFields ctx={ctx} card={card} />
      {card.hasPhoto && <img class="person-photo" src={`/annuaire/${card.id}/photo`} alt="" width="120" height="120" />}
      {props.editable.has('photo') && (
        <form method="post" action={`/annuaire/mon-profil/photo?_csrf=${encodeURIComponent(ctx.user?.csrfToken ?? '')}`} enctype="multipart/form-data">
          <p>
            <label for="photo">Photo (JPEG, PNG ou WebP, 2 Mo au plus)</label>
            <input id="photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" required />
          </p>
          <button type="submit">{d('wp.save')}</button>
        </form>
      )}
      <form method="post" action="/annuaire/mon-profil">
        <CsrfField ctx={ctx} />
        {props.editable.has('preferredMail') && (
          <p>
            <label for="preferredMail">{d('wp.preferredMail')}</label>
            <input id="preferredMail" name="preferredMail" type="email" value={props.preferredMail ?? ''} maxLength={254} />
          </p>
        )}
        {props.editable.has('phoneVisibility') && (
          <p>
            <input type="hidden" name="phoneVisible" value="0" />
            <input id="phoneVisible" name="phoneVisible" type="checkbox" value="1" checked={props.phoneVisible} />
            <label for="phoneVisible">{d('wp.phoneVisible')}</label>
          </p>
        )}
        <button type="submit">{d('wp.save')}</button>
      </form>
    </Layout>
  );
}
