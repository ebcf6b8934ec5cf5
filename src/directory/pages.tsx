// White pages views: search with results, a person's card, one's own profile.
import type { ComponentChildren } from 'preact';
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import { directoryTranslator } from './messages.js';
import type { Card, SearchResult } from './white-pages.js';

const initialsOf = (card: Pick<Card, 'displayName' | 'givenName' | 'familyName'>): string => {
  const parts = card.givenName || card.familyName ? [card.givenName ?? '', card.familyName ?? ''] : card.displayName.split(/\s+/);
  return parts
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]!.toLocaleUpperCase('fr'))
    .join('');
};

/**
 * The person's photo, or their initials where there is none (or where it is not to be fetched):
 * beside the name, so it says nothing more to a screen reader.
 */
export function Avatar(props: { card: Card; size: 'small' | 'large' }) {
  const { card, size } = props;
  const px = size === 'large' ? 120 : 48;
  if (card.hasPhoto) return <img class={`person-photo ${size}`} src={`/annuaire/${card.id}/photo`} alt="" width={px} height={px} loading="lazy" />;
  return (
    <span class={`person-avatar ${size}`} aria-hidden="true">
      {initialsOf(card)}
    </span>
  );
}

/** One person in a list (search results, a group's members): who they are, then any actions. */
export function PersonRow(props: { card: Card; href: string; marks?: ComponentChildren; actions?: ComponentChildren }) {
  const { card } = props;
  return (
    <li>
      <Avatar card={card} size="small" />
      <div class="person-summary">
        <h3 class="person-name">
          <a href={props.href}>{card.displayName}</a>
        </h3>
        {(card.title || card.affectation || props.marks) && (
          <p class="meta">
            {card.title && <span>{card.title}</span>}
            {card.affectation && <span>{card.affectation}</span>}
            {props.marks}
          </p>
        )}
        {card.mail && (
          <p class="person-mail">
            <a href={`mailto:${card.mail}`}>{card.mail}</a>
          </p>
        )}
      </div>
      {props.actions && <div class="person-actions">{props.actions}</div>}
    </li>
  );
}

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
      <div class="page-head">
        <h1>{props.admin ? d('admin.people') : d('wp.title')}</h1>
        {!props.admin && (
          <p>
            <a href="/annuaire/mon-profil">{d('wp.profile')}</a>
          </p>
        )}
      </div>
      <form method="get" action={base} role="search" class="search-form">
        <label for="q">{d('wp.search')}</label>
        <p id="q-hint" class="hint">
          {d('wp.searchHint')}
        </p>
        <div class="search-row">
          <input id="q" name="q" type="search" value={query} maxLength={200} autocomplete="off" aria-describedby="q-hint" />
          <button type="submit" class="primary">
            {d('wp.submit')}
          </button>
        </div>
      </form>
      {result && (
        <section aria-labelledby="results">
          <h2 id="results">{d('wp.results', { q: query, page: String(result.page) })}</h2>
          {result.cards.length === 0 ? (
            <p class="notice compact">{d('wp.none', { q: query })}</p>
          ) : (
            <ul class="people">
              {result.cards.map((card) => (
                <PersonRow
                  key={card.id}
                  card={card}
                  href={props.admin ? `/admin/annuaire/personnes/${card.id}` : `/annuaire/${card.id}`}
                  marks={
                    <>
                      {card.redList && <span class="badge">{d('wp.redList')}</span>}
                      {card.status === 'deactivated' && <span class="badge">{d('wp.deactivated')}</span>}
                    </>
                  }
                />
              ))}
            </ul>
          )}
          {(result.page > 1 || result.hasMore) && (
            <nav class="pager" aria-label="pagination">
              {result.page > 1 && (
                <a href={pageHref(result.page - 1)} rel="prev">
                  {d('wp.prev')}
                </a>
              )}
              {result.hasMore && (
                <a href={pageHref(result.page + 1)} rel="next">
                  {d('wp.next')}
                </a>
              )}
            </nav>
          )}
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
      <p class="breadcrumb">
        <a href="/annuaire">{d('wp.title')}</a>
      </p>
      <article class="person-card">
        <Avatar card={card} size="large" />
        <div class="person-card-body">
          <h1>{card.displayName}</h1>
          {card.redList && <p class="badge">{d('wp.redList')}</p>}
          {card.status === 'deactivated' && <p class="badge">{d('wp.deactivated')}</p>}
          <CardFields ctx={ctx} card={card} />
          <p class="person-card-actions">
            <a class="button-secondary" href={`/annuaire/${card.id}/vcard`} download>
              {d('wp.vcard')}
            </a>
          </p>
        </div>
      </article>
    </Layout>
  );
}

export function ProfilePage(props: { ctx: PageContext; card: Card; preferredMail: string | null; phoneVisible: boolean; editable: Set<string>; saved: boolean }) {
  const { ctx, card } = props;
  const d = directoryTranslator(ctx.locale);
  return (
    <Layout ctx={ctx} title={d('wp.profile')}>
      <p class="breadcrumb">
        <a href="/annuaire">{d('wp.title')}</a>
      </p>
      <h1>{d('wp.profile')}</h1>
      {props.saved && (
        <p role="status" class="notice compact">
          {d('wp.saved')}
        </p>
      )}
      <section class="profile-card" aria-labelledby="my-card">
        <h2 id="my-card">{d('wp.myCard')}</h2>
        <div class="person-card">
          <Avatar card={card} size="large" />
          <div class="person-card-body">
            <p class="person-card-name">{card.displayName}</p>
            <CardFields ctx={ctx} card={card} />
          </div>
        </div>
      </section>
      {props.editable.has('photo') && (
        <form method="post" action={`/annuaire/mon-profil/photo?_csrf=${encodeURIComponent(ctx.user?.csrfToken ?? '')}`} enctype="multipart/form-data" class="panel">
          <p class="field">
            <label for="photo">{d('wp.photo')}</label>
            <input id="photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" required />
          </p>
          <button type="submit">{d('wp.save')}</button>
        </form>
      )}
      {props.editable.has('photo') && card.hasPhoto && (
        <form method="post" action="/annuaire/mon-profil/photo/supprimer" class="panel">
          <CsrfField ctx={ctx} />
          <button type="submit" class="danger">
            {d('wp.removePhoto')}
          </button>
        </form>
      )}
      <form method="post" action="/annuaire/mon-profil" class="panel">
        <CsrfField ctx={ctx} />
        {props.editable.has('preferredMail') && (
          <p class="field">
            <label for="preferredMail">{d('wp.preferredMail')}</label>
            <input id="preferredMail" name="preferredMail" type="email" value={props.preferredMail ?? ''} maxLength={254} />
          </p>
        )}
        {props.editable.has('phoneVisibility') && (
          <p class="check">
            <input type="hidden" name="phoneVisible" value="0" />
            <input id="phoneVisible" name="phoneVisible" type="checkbox" value="1" checked={props.phoneVisible} />
            <label for="phoneVisible">{d('wp.phoneVisible')}</label>
          </p>
        )}
        <button type="submit" class="primary">
          {d('wp.save')}
        </button>
      </form>
    </Layout>
  );
}
