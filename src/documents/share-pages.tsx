// Pages of sharing and public links: "Partagés avec moi", a shared folder, the owner's sharing
// page of an item (people, groups, public links) and the public page /p/<token>. Words in
// src/web/i18n (documents.shared.*, documents.share.*, documents.links.*, documents.public.*).
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import { formatSize, NodeIcon } from './pages.js';
import type { DocumentNode } from './service.js';
import type { Access, LinkRow, ShareRow, SharedItem } from './sharing.js';

const date = (ctx: PageContext, d: Date) => new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Paris' }).format(d);
const accessLabel = (ctx: PageContext, access: Access) => ctx.t(access === 'write' ? 'documents.shared.write' : 'documents.shared.read');

const MORE = {
  fr: {
    copyMine: 'Copier dans Mes documents', move: 'Déplacer vers', moveSubmit: 'Déplacer', trash: 'Mettre à la corbeille (celle du propriétaire)',
    folderLink: 'Dossier partagé par lien', empty: 'Ce dossier est vide.', open: 'Ouvrir', unlock: 'Ouvrir le dossier',
  },
  en: {
    copyMine: 'Copy to My documents', move: 'Move to', moveSubmit: 'Move', trash: "Move to the trash (the owner's)",
    folderLink: 'Folder shared by link', empty: 'This folder is empty.', open: 'Open', unlock: 'Open the folder',
  },
} as const;
const more = (ctx: PageContext, key: keyof (typeof MORE)['fr']) => MORE[ctx.locale][key];

function SharedRow(props: { ctx: PageContext; node: DocumentNode; access: Access; owner?: string; folders?: DocumentNode[] }) {
  const { ctx, node, access } = props;
  const targets = (props.folders ?? []).filter((f) => f.id !== node.id);
  return (
    <tr>
      <td>
        <a href={node.kind === 'folder' ? `/documents/partages/dossiers/${node.id}` : `/documents/fichiers/${node.id}`}>
          <NodeIcon kind={node.kind} />{node.name}
        </a>
      </td>
      <td>{node.kind === 'file' ? formatSize(node.size, ctx.locale) : ''}</td>
      {props.owner !== undefined && <td>{props.owner}</td>}
      <td>{accessLabel(ctx, access)}</td>
      <td>
        {access === 'write' && (
          <form method="post" action={`/documents/partages/elements/${node.id}/renommer`} class="inline-form">
            <CsrfField ctx={ctx} />
            <input name="nom" value={node.name} required maxLength={255} aria-label={node.name} /> <button type="submit">✎</button>
          </form>
        )}
        <form method="post" action={`/documents/partages/elements/${node.id}/copier`} class="inline-form">
          <CsrfField ctx={ctx} />
          <button type="submit">{more(ctx, 'copyMine')}</button>
        </form>
        {access === 'write' && targets.length > 0 && (
          <form method="post" action={`/documents/partages/elements/${node.id}/deplacer`} class="inline-form">
            <CsrfField ctx={ctx} />
            <label>
              {more(ctx, 'move')}{' '}
              <select name="cible">
                {targets.map((f) => (
                  <option value={f.id}>{f.name}</option>
                ))}
              </select>
            </label>{' '}
            <button type="submit">{more(ctx, 'moveSubmit')}</button>
          </form>
        )}
        {access === 'write' && (
          <form method="post" action={`/documents/partages/elements/${node.id}/supprimer`} class="inline-form">
            <CsrfField ctx={ctx} />
            <button type="submit">{more(ctx, 'trash')}</button>
          </form>
        )}
      </td>
    </tr>
  );
}

export function SharedWithMePage(props: { ctx: PageContext; items: SharedItem[] }) {
  const { ctx, items } = props;
  return (
    <Layout ctx={ctx} title={ctx.t('documents.shared.title')}>
      <h1>{ctx.t('documents.shared.title')}</h1>
      <p>
        <a href="/documents">{ctx.locale === 'en' ? 'My documents' : 'Mes documents'}</a>
      </p>
      {items.length === 0 ? (
        <p>{ctx.t('documents.shared.empty')}</p>
      ) : (
        <table class="documents">
          <tbody>
            {items.map((i) => (
              <SharedRow ctx={ctx} node={i.node} access={i.access} owner={i.ownerName} />
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

export function SharedFolderPage(props: { ctx: PageContext; folder: DocumentNode; items: DocumentNode[]; access: Access }) {
  const { ctx, folder, items, access } = props;
  const csrf = ctx.user?.csrfToken ?? '';
  return (
    <Layout ctx={ctx} title={folder.name}>
      <h1>{folder.name}</h1>
      <p>
        <a href="/documents/partages">{ctx.t('documents.shared.back')}</a> · {accessLabel(ctx, access)}
      </p>
      {access === 'write' && (
        <form method="post" action={`/documents/partages/envoi?_csrf=${encodeURIComponent(csrf)}&dossier=${folder.id}`} enctype="multipart/form-data">
          <input name="fichiers" type="file" multiple required aria-label={folder.name} /> <button type="submit">↑</button>
        </form>
      )}
      <table class="documents">
        <tbody>
          {items.map((n) => (
            <SharedRow ctx={ctx} node={n} access={access} folders={items.filter((i) => i.kind === 'folder')} />
          ))}
        </tbody>
      </table>
    </Layout>
  );
}

export function SharePage(props: { ctx: PageContext; node: DocumentNode; shares: ShareRow[]; links: LinkRow[]; groups: { id: string; name: string }[]; origin: string; created?: string }) {
  const { ctx, node, shares, links, groups } = props;
  return (
    <Layout ctx={ctx} title={ctx.t('documents.share.title', { name: node.name })}>
      <h1>{ctx.t('documents.share.title', { name: node.name })}</h1>
      <p>
        <a href={node.parentId ? `/documents?dossier=${node.parentId}` : '/documents'}>{ctx.locale === 'en' ? 'Back to the folder' : 'Retour au dossier'}</a>
      </p>
      {props.created && (
        <div role="status" class="notice">
          <p>{ctx.t('documents.links.created')}</p>
          <p>
            <input class="created-link" readOnly value={`${props.origin}/p/${props.created}`} aria-label={ctx.t('documents.links.title')} />
          </p>
        </div>
      )}
      <h2>{ctx.t('documents.share.people')}</h2>
      {shares.length === 0 ? (
        <p>{ctx.t('documents.share.none')}</p>
      ) : (
        <ul>
          {shares.map((s) => (
            <li>
              {s.groupId ? '👥 ' : ''}
              {s.label} — {accessLabel(ctx, s.access)}{' '}
              <form method="post" action={`/documents/partages/${s.id}/revoquer`} class="inline-form">
                <CsrfField ctx={ctx} />
                <button type="submit">{ctx.t('documents.share.revoke')}</button>
              </form>
            </li>
          ))}
        </ul>
      )}
      <form method="post" action={`/documents/elements/${node.id}/partages`}>
        <CsrfField ctx={ctx} />
        <p>
          <label for="personne">{ctx.t('documents.share.person')}</label> <input id="personne" name="personne" type="email" maxLength={320} />
        </p>
        <p>
          <label for="groupe">{ctx.t('documents.share.group')}</label>{' '}
          <select id="groupe" name="groupe">
            <option value="">{ctx.t('documents.share.noGroup')}</option>
            {groups.map((g) => (
              <option value={g.id}>{g.name}</option>
            ))}
          </select>
        </p>
        <fieldset>
          <legend>{ctx.t('documents.shared.access')}</legend>
          <label>
            <input type="radio" name="acces" value="read" checked /> {ctx.t('documents.shared.read')}
          </label>{' '}
          <label>
            <input type="radio" name="acces" value="write" /> {ctx.t('documents.shared.write')}
          </label>
        </fieldset>
        <button type="submit">{ctx.t('documents.share.submit')}</button>
      </form>
      <h2>{ctx.t('documents.links.title')}</h2>
      <>
        {links.length === 0 ? (
          <p>{ctx.t('documents.links.none')}</p>
        ) : (
          <ul>
            {links.map((l) => (
              <li>
                {date(ctx, l.createdAt)} — {l.expiresAt ? ctx.t('documents.links.expiresOn', { date: date(ctx, l.expiresAt) }) : ctx.t('documents.links.never')}
                {l.hasPassword ? `, ${ctx.t('documents.links.protected')}` : ''} — {ctx.t('documents.links.downloads', { count: String(l.downloads) })}{' '}
                {l.revokedAt ? (
                  <strong>({ctx.t('documents.links.revoked')})</strong>
                ) : (
                  <form method="post" action={`/documents/liens/${l.id}/revoquer`} class="inline-form">
                    <CsrfField ctx={ctx} />
                    <button type="submit">{ctx.t('documents.links.revoke')}</button>
                  </form>
                )}
              </li>
            ))}
          </ul>
        )}
        <form method="post" action={`/documents/elements/${node.id}/liens`}>
          <CsrfField ctx={ctx} />
          <p>
            <label for="expiration">{ctx.t('documents.links.expires')}</label> <input id="expiration" name="expiration" type="date" />
          </p>
          <p>
            <label for="motdepasse">{ctx.t('documents.links.password')}</label> <input id="motdepasse" name="motdepasse" type="password" autocomplete="new-password" maxLength={200} />
          </p>
          <button type="submit">{ctx.t('documents.links.create')}</button>
        </form>
      </>
    </Layout>
  );
}

export function PublicLinkPage(props: { ctx: PageContext; token: string; node?: DocumentNode; hasPassword?: boolean; error?: 'wrongPassword' | 'tooMany' }) {
  const { ctx, node } = props;
  return (
    <Layout ctx={ctx} title={ctx.t('documents.public.title')}>
      <h1>{ctx.t('documents.public.title')}</h1>
      {!node ? (
        <p>{ctx.t('documents.public.gone')}</p>
      ) : (
        <>
          <p>
            <strong>{node.name}</strong>
            {node.kind === 'file' ? ` — ${formatSize(node.size, ctx.locale)}` : ` — ${more(ctx, 'folderLink')}`}
          </p>
          {props.error && <p role="alert">{ctx.t(props.error === 'tooMany' ? 'documents.public.tooMany' : 'documents.public.wrongPassword')}</p>}
          {props.hasPassword ? (
            <form method="post" action={`/p/${props.token}`}>
              <CsrfField ctx={ctx} />
              <label for="motdepasse">{ctx.t('documents.public.passwordLabel')}</label> <input id="motdepasse" name="motdepasse" type="password" required autocomplete="off" />{' '}
              <button type="submit">{node.kind === 'folder' ? more(ctx, 'unlock') : ctx.t('documents.public.download')}</button>
            </form>
          ) : (
            <p>
              <a href={`/p/${props.token}/telecharger`} download>
                {ctx.t('documents.public.download')}
              </a>
            </p>
          )}
        </>
      )}
    </Layout>
  );
}

/** A folder shared by a public link: its content, every link staying under /p/<token>. */
export function PublicFolderPage(props: { ctx: PageContext; token: string; folder: DocumentNode; path: DocumentNode[]; items: DocumentNode[] }) {
  const { ctx, token, path, items } = props;
  const base = `/p/${token}`;
  return (
    <Layout ctx={ctx} title={props.folder.name}>
      <h1>{props.folder.name}</h1>
      <nav aria-label={ctx.locale === 'en' ? 'Breadcrumb' : "Fil d'Ariane"} class="breadcrumb">
        {path.map((p, i) => (
          <>
            {i > 0 && ' / '}
            <a href={i === 0 ? base : `${base}?dossier=${p.id}`}>{p.name}</a>
          </>
        ))}
      </nav>
      {items.length === 0 ? (
        <p>{more(ctx, 'empty')}</p>
      ) : (
        <table class="documents">
          <tbody>
            {items.map((n) => (
              <tr>
                <td>
                  {n.kind === 'folder' ? (
                    <a href={`${base}?dossier=${n.id}`}>
                      <NodeIcon kind="folder" />{n.name}
                    </a>
                  ) : (
                    <a href={`${base}/fichiers/${n.id}`} download>
                      <NodeIcon kind="file" />{n.name}
                    </a>
                  )}
                </td>
                <td>{n.kind === 'file' ? formatSize(n.size, ctx.locale) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
