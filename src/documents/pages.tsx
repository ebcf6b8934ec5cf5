// "Mes documents" pages: server-rendered, usable without JavaScript (every change is a form with
// its CSRF field; uploads are a plain multipart form). documents.js adds drag and drop and a
// progress bar where scripts run.
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import type { DocumentNode, DocumentVersion, Usage } from './service.js';

const TEXT = {
  fr: {
    title: 'Mes documents', root: 'Mes documents', trash: 'Corbeille', search: 'Rechercher', searchLabel: 'Rechercher dans mes documents',
    upload: 'Envoyer', uploadLabel: 'Fichiers à envoyer', drop: 'ou déposez des fichiers ici', newFolder: 'Nouveau dossier', create: 'Créer',
    name: 'Nom', size: 'Taille', modified: 'Modifié le', actions: 'Actions', empty: 'Ce dossier est vide.', download: 'Télécharger', open: 'Ouvrir',
    rename: 'Renommer', move: 'Déplacer', copy: 'Copier', delete: 'Mettre à la corbeille', versions: 'Versions', to: 'vers',
    rootFolder: '(racine)', usage: 'Espace utilisé : {used} sur {limit}', trashEmpty: 'La corbeille est vide.', restore: 'Restaurer',
    purge: 'Supprimer définitivement', emptyTrash: 'Vider la corbeille', deletedOn: 'Supprimé le', results: 'Résultats pour « {q} »',
    noResults: 'Aucun document ne correspond.', current: 'version actuelle', back: 'Retour au dossier', breadcrumb: "Fil d'Ariane",
    adminLink: "Espace et quotas de l'établissement (administration)",
    groupSpaces: 'Espaces de groupe', readOnly: 'Vous pouvez lire cet espace ; seuls ses propriétaires décident qui y écrit.',
  },
  en: {
    title: 'My documents', root: 'My documents', trash: 'Trash', search: 'Search', searchLabel: 'Search my documents',
    upload: 'Upload', uploadLabel: 'Files to upload', drop: 'or drop files here', newFolder: 'New folder', create: 'Create',
    name: 'Name', size: 'Size', modified: 'Modified', actions: 'Actions', empty: 'This folder is empty.', download: 'Download', open: 'Open',
    rename: 'Rename', move: 'Move', copy: 'Copy', delete: 'Move to trash', versions: 'Versions', to: 'to',
    rootFolder: '(root)', usage: 'Space used: {used} of {limit}', trashEmpty: 'The trash is empty.', restore: 'Restore',
    purge: 'Delete forever', emptyTrash: 'Empty the trash', deletedOn: 'Deleted on', results: 'Results for “{q}”',
    noResults: 'No document matches.', current: 'current version', back: 'Back to the folder', breadcrumb: 'Breadcrumb',
    adminLink: "The institution's space and quotas (administration)",
    groupSpaces: 'Group spaces', readOnly: 'You can read this space; its owners decide who writes in it.',
  },
} as const;
type Key = keyof (typeof TEXT)['fr'];
const tr = (ctx: PageContext, key: Key, params: Record<string, string> = {}) =>
  (TEXT[ctx.locale][key] as string).replace(/\{(\w+)\}/g, (m, n: string) => params[n] ?? m);

export function formatSize(bytes: number, locale: string): string {
  const units = locale === 'fr' ? ['o', 'Ko', 'Mo', 'Go', 'To'] : ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: unit ? 1 : 0 }).format(value)} ${units[unit]}`;
}

/**
 * A folder's or a file's mark before its name: drawn here, since an emoji needs a font the
 * person may not have (it showed as an empty box). Decorative: the name says what it is.
 */
export function NodeIcon(props: { kind: 'file' | 'folder' }) {
  return (
    <svg class="node-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      {props.kind === 'folder' ? (
        <path d="M3 6.5A1.5 1.5 0 0 1 4.5 5h4.6l2 2h8.4A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z" />
      ) : (
        <path d="M6.5 3h7.6L19 7.9v11.6a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 5 19.5v-15A1.5 1.5 0 0 1 6.5 3z" />
      )}
    </svg>
  );
}

const date = (ctx: PageContext, d: Date) => new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Paris' }).format(d);
const folderHref = (id: string | null, base = '/documents') => (id ? `${base}?dossier=${id}` : base);

export function QuotaBar(props: { ctx: PageContext; usage: Usage }) {
  const { ctx, usage } = props;
  const label = tr(ctx, 'usage', { used: formatSize(usage.used, ctx.locale), limit: formatSize(usage.limit, ctx.locale) });
  return (
    <div class="quota">
      <label for="quota-bar">{label}</label>
      <meter id="quota-bar" min={0} max={usage.limit} value={usage.used} high={usage.limit * 0.9}>
        {label}
      </meter>
    </div>
  );
}

/** The documents' own menu and search, on every page of "Mes documents"; `current`: the page shown, if it is one of them. */
function DocumentsNav(props: { ctx: PageContext; current?: 'root' | 'trash'; query?: string }) {
  const { ctx } = props;
  const entries = [
    { href: '/documents', label: tr(ctx, 'root'), key: 'root' },
    { href: '/documents/partages', label: ctx.t('documents.shared.title'), key: 'shared' },
    { href: '/documents/groupes', label: tr(ctx, 'groupSpaces'), key: 'groups' },
    { href: '/documents/corbeille', label: tr(ctx, 'trash'), key: 'trash' },
  ];
  return (
    <div class="documents-tools">
      <nav aria-label={tr(ctx, 'title')}>
        <ul class="documents-nav">
          {entries.map((e) => (
            <li>
              <a href={e.href} aria-current={e.key === props.current ? 'page' : undefined}>
                {e.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <form method="get" action="/documents/recherche" role="search" class="documents-search">
        <label for="q" class="visually-hidden">
          {tr(ctx, 'searchLabel')}
        </label>
        <input id="q" name="q" type="search" value={props.query} placeholder={tr(ctx, 'searchLabel')} /> <button type="submit">{tr(ctx, 'search')}</button>
      </form>
    </div>
  );
}

/** Where a space's pages live: '/documents' (my own) or '/documents/groupes/<id>'. */
export interface SpaceView {
  base: string;
  /** Read-only members see no form that changes anything. */
  canWrite: boolean;
  /** Sharing pages exist for my own space only. */
  personal: boolean;
}
const PERSONAL: SpaceView = { base: '/documents', canWrite: true, personal: true };

function ItemRow(props: { ctx: PageContext; item: DocumentNode; folders: DocumentNode[]; view: SpaceView }) {
  const { ctx, item, folders, view } = props;
  const { base } = view;
  const targets = folders.filter((f) => f.id !== item.id);
  return (
    <tr>
      <td>
        {item.kind === 'folder' ? (
          <a href={folderHref(item.id, base)}>
            <NodeIcon kind="folder" />{item.name}
          </a>
        ) : (
          <a href={`${base}/fichiers/${item.id}`} download>
            <NodeIcon kind="file" />{item.name}
          </a>
        )}
      </td>
      <td>{item.kind === 'file' ? formatSize(item.size, ctx.locale) : ''}</td>
      <td>{date(ctx, item.updatedAt)}</td>
      <td>
        <details>
          <summary>{tr(ctx, 'actions')}</summary>
          <p>
            {item.kind === 'file' && (
              <>
                <a href={`${base}/fichiers/${item.id}?affichage=1`}>{tr(ctx, 'open')}</a> · <a href={`${base}/fichiers/${item.id}/versions`}>{tr(ctx, 'versions')}</a>
              </>
            )}
            {view.personal && (
              <>
                {item.kind === 'file' && ' · '}
                <a href={`/documents/elements/${item.id}/partage`}>{ctx.t('documents.share.manage')}</a>
              </>
            )}
          </p>
          {view.canWrite && <ItemForms ctx={ctx} item={item} targets={targets} base={base} />}
        </details>
      </td>
    </tr>
  );
}

function ItemForms(props: { ctx: PageContext; item: DocumentNode; targets: DocumentNode[]; base: string }) {
  const { ctx, item, targets, base } = props;
  return (
    <>
          <form method="post" action={`${base}/elements/${item.id}/renommer`}>
            <CsrfField ctx={ctx} />
            <label>
              {tr(ctx, 'name')} <input name="nom" value={item.name} required maxLength={255} />
            </label>{' '}
            <button type="submit">{tr(ctx, 'rename')}</button>
          </form>
          {(['deplacer', 'copier'] as const).map((action) => (
            <form method="post" action={`${base}/elements/${item.id}/${action}`}>
              <CsrfField ctx={ctx} />
              <label>
                {tr(ctx, action === 'deplacer' ? 'move' : 'copy')} {tr(ctx, 'to')}{' '}
                <select name="cible">
                  <option value="">{tr(ctx, 'rootFolder')}</option>
                  {targets.map((f) => (
                    <option value={f.id}>{f.name}</option>
                  ))}
                </select>
              </label>{' '}
              <button type="submit">{tr(ctx, action === 'deplacer' ? 'move' : 'copy')}</button>
            </form>
          ))}
          <form method="post" action={`${base}/elements/${item.id}/supprimer`}>
            <CsrfField ctx={ctx} />
            <button type="submit">{tr(ctx, 'delete')}</button>
          </form>
    </>
  );
}

export function FolderPage(props: {
  ctx: PageContext;
  folder: DocumentNode | null;
  path: DocumentNode[];
  items: DocumentNode[];
  folders: DocumentNode[];
  usage: Usage;
  /** A group space: its name (the root's title), where its pages are, what this person may do, and what its owners see. */
  space?: { name: string; view: SpaceView; header?: preact.ComponentChildren };
  /** A tenant admin: a link to the tenant's usage and quotas. */
  admin?: boolean;
}) {
  const { ctx, folder, path, items, folders, usage } = props;
  const view = props.space?.view ?? PERSONAL;
  const rootTitle = props.space?.name ?? tr(ctx, 'title');
  const csrf = ctx.user?.csrfToken ?? '';
  const uploadAction = `${view.base}/envoi?_csrf=${encodeURIComponent(csrf)}${folder ? `&dossier=${folder.id}` : ''}`;
  return (
    <Layout ctx={ctx} title={folder ? folder.name : rootTitle}>
      <h1>{folder ? folder.name : rootTitle}</h1>
      {folder && (
        <nav aria-label={tr(ctx, 'breadcrumb')} class="breadcrumb">
          <a href={view.base}>{rootTitle}</a>
          {path.map((p) => (
            <>
              {' / '}
              <a href={folderHref(p.id, view.base)}>{p.name}</a>
            </>
          ))}
        </nav>
      )}
      <DocumentsNav ctx={ctx} current={view.personal && !folder ? 'root' : undefined} />
      {props.admin && (
        <p>
          <a href="/admin/documents">{tr(ctx, 'adminLink')}</a>
        </p>
      )}
      {props.space?.header}
      <QuotaBar ctx={ctx} usage={usage} />
      {view.canWrite ? <WriteForms ctx={ctx} folder={folder} uploadAction={uploadAction} base={view.base} /> : <p>{tr(ctx, 'readOnly')}</p>}
      {items.length === 0 ? (
        <p>{tr(ctx, 'empty')}</p>
      ) : (
        <table class="documents">
          <thead>
            <tr>
              <th scope="col">{tr(ctx, 'name')}</th>
              <th scope="col">{tr(ctx, 'size')}</th>
              <th scope="col">{tr(ctx, 'modified')}</th>
              <th scope="col">{tr(ctx, 'actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <ItemRow ctx={ctx} item={item} folders={folders} view={view} />
            ))}
          </tbody>
        </table>
      )}
      <script src="/static/documents.js" defer />
    </Layout>
  );
}

function WriteForms(props: { ctx: PageContext; folder: DocumentNode | null; uploadAction: string; base: string }) {
  const { ctx, folder, uploadAction } = props;
  return (
    <>
      <form method="post" action={uploadAction} enctype="multipart/form-data" class="upload-form" data-documents-upload>
        <label for="fichiers">{tr(ctx, 'uploadLabel')}</label> <input id="fichiers" name="fichiers" type="file" multiple required />{' '}
        <button type="submit" class="primary">
          {tr(ctx, 'upload')}
        </button>{' '}
        <span class="drop-hint">{tr(ctx, 'drop')}</span>
        <progress hidden max={100} value={0} />
        {/* documents.js says here which file goes, how far along, and what went wrong. */}
        <p class="upload-status" role="status" hidden />
      </form>
      <form method="post" action={`${props.base}/dossiers`} class="new-folder">
        <CsrfField ctx={ctx} />
        {folder && <input type="hidden" name="parent" value={folder.id} />}
        <label for="nom-dossier">{tr(ctx, 'newFolder')}</label> <input id="nom-dossier" name="nom" required maxLength={255} />{' '}
        <button type="submit">{tr(ctx, 'create')}</button>
      </form>
    </>
  );
}

export function TrashPage(props: { ctx: PageContext; items: DocumentNode[]; usage: Usage; space?: { name: string; base: string } }) {
  const { ctx, items } = props;
  const base = props.space?.base ?? '/documents';
  const title = props.space ? `${tr(ctx, 'trash')} · ${props.space.name}` : tr(ctx, 'trash');
  return (
    <Layout ctx={ctx} title={title}>
      <h1>{title}</h1>
      {props.space && (
        <p>
          <a href={base}>{props.space.name}</a>
        </p>
      )}
      <DocumentsNav ctx={ctx} current={props.space ? undefined : 'trash'} />
      <QuotaBar ctx={ctx} usage={props.usage} />
      {items.length === 0 ? (
        <p>{tr(ctx, 'trashEmpty')}</p>
      ) : (
        <>
          <table class="documents">
            <thead>
              <tr>
                <th scope="col">{tr(ctx, 'name')}</th>
                <th scope="col">{tr(ctx, 'deletedOn')}</th>
                <th scope="col">{tr(ctx, 'actions')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr>
                  <td>
                    <NodeIcon kind={item.kind} />{item.name}
                  </td>
                  <td>{item.deletedAt ? date(ctx, item.deletedAt) : ''}</td>
                  <td>
                    <form method="post" action={`${base}/corbeille/${item.id}/restaurer`} class="inline-form">
                      <CsrfField ctx={ctx} />
                      <button type="submit">{tr(ctx, 'restore')}</button>
                    </form>{' '}
                    <form method="post" action={`${base}/corbeille/${item.id}/supprimer`} class="inline-form">
                      <CsrfField ctx={ctx} />
                      <button type="submit">{tr(ctx, 'purge')}</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form method="post" action={`${base}/corbeille/vider`}>
            <CsrfField ctx={ctx} />
            <button type="submit">{tr(ctx, 'emptyTrash')}</button>
          </form>
        </>
      )}
    </Layout>
  );
}

export function SearchPage(props: { ctx: PageContext; query: string; results: DocumentNode[] }) {
  const { ctx, results } = props;
  return (
    <Layout ctx={ctx} title={tr(ctx, 'search')}>
      <h1>{tr(ctx, 'results', { q: props.query })}</h1>
      <DocumentsNav ctx={ctx} query={props.query} />
      {results.length === 0 ? (
        <p>{tr(ctx, 'noResults')}</p>
      ) : (
        <ul>
          {results.map((item) => (
            <li>
              <a href={item.kind === 'folder' ? folderHref(item.id) : `/documents/fichiers/${item.id}`}>
                <NodeIcon kind={item.kind} />{item.name}
              </a>{' '}
              (<a href={folderHref(item.parentId)}>{tr(ctx, 'back')}</a>)
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
}

export function VersionsPage(props: { ctx: PageContext; node: DocumentNode; versions: DocumentVersion[]; base?: string; canWrite?: boolean }) {
  const { ctx, node, versions } = props;
  const base = props.base ?? '/documents';
  return (
    <Layout ctx={ctx} title={`${tr(ctx, 'versions')} · ${node.name}`}>
      <h1>
        {tr(ctx, 'versions')} · {node.name}
      </h1>
      <p>
        <a href={folderHref(node.parentId, base)}>{tr(ctx, 'back')}</a>
      </p>
      <ul>
        {versions.map((v) => (
          <li>
            <a href={`${base}/fichiers/${node.id}?version=${v.id}`}>{date(ctx, v.createdAt)}</a> — {formatSize(v.size, ctx.locale)}{' '}
            {v.id === node.currentVersionId ? (
              <strong>({tr(ctx, 'current')})</strong>
            ) : (
              props.canWrite !== false && (
                <form method="post" action={`${base}/fichiers/${node.id}/versions/${v.id}/restaurer`} class="inline-form">
                  <CsrfField ctx={ctx} />
                  <button type="submit">{tr(ctx, 'restore')}</button>
                </form>
              )
            )}
          </li>
        ))}
      </ul>
    </Layout>
  );
}
