// "Espaces de groupe": the list of the spaces of my groups, and what a group space's page shows
// above its folder (who may write, and the owners' form to change it).
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import type { GroupSpace } from './group-spaces.js';

const TEXT = {
  fr: {
    title: 'Espaces de groupe', none: "Vous n'êtes membre d'aucun groupe.", group: 'Groupe', role: 'Votre rôle', access: 'Vous pouvez',
    owner: 'propriétaire', member: 'membre', read: 'lire', write: 'lire et écrire', back: 'Mes documents',
    kind_institutional: 'institutionnel', kind_workgroup: 'groupe de travail', kind_imported: 'importé', kind_dynamic: 'dynamique',
    membersMay: 'Les membres peuvent', membersRead: 'lire seulement', membersWrite: 'lire et écrire', save: 'Enregistrer',
    settings: "Accès des membres à l'espace", ownersWrite: 'Les propriétaires du groupe peuvent toujours écrire.',
    current: 'Les membres de ce groupe peuvent {access} dans cet espace.', trash: 'Corbeille du groupe',
  },
  en: {
    title: 'Group spaces', none: 'You are not a member of any group.', group: 'Group', role: 'Your role', access: 'You can',
    owner: 'owner', member: 'member', read: 'read', write: 'read and write', back: 'My documents',
    kind_institutional: 'institutional', kind_workgroup: 'workgroup', kind_imported: 'imported', kind_dynamic: 'dynamic',
    membersMay: 'Members can', membersRead: 'read only', membersWrite: 'read and write', save: 'Save',
    settings: "Members' access to the space", ownersWrite: "The group's owners can always write.",
    current: 'Members of this group can {access} in this space.', trash: "Group's trash",
  },
} as const;
type Key = keyof (typeof TEXT)['fr'];
const tr = (ctx: PageContext, key: Key, params: Record<string, string> = {}) =>
  (TEXT[ctx.locale][key] as string).replace(/\{(\w+)\}/g, (m, n: string) => params[n] ?? m);

export function GroupSpacesPage(props: { ctx: PageContext; spaces: GroupSpace[] }) {
  const { ctx, spaces } = props;
  return (
    <Layout ctx={ctx} title={tr(ctx, 'title')}>
      <h1>{tr(ctx, 'title')}</h1>
      <p>
        <a href="/documents">{tr(ctx, 'back')}</a>
      </p>
      {spaces.length === 0 ? (
        <p>{tr(ctx, 'none')}</p>
      ) : (
        <table class="documents">
          <thead>
            <tr>
              <th scope="col">{tr(ctx, 'group')}</th>
              <th scope="col">{tr(ctx, 'role')}</th>
              <th scope="col">{tr(ctx, 'access')}</th>
            </tr>
          </thead>
          <tbody>
            {spaces.map((s) => (
              <tr>
                <td>
                  <a href={`/documents/groupes/${s.id}`}>{s.name}</a> ({tr(ctx, `kind_${s.kind}` as Key)})
                </td>
                <td>{tr(ctx, s.role)}</td>
                <td>{tr(ctx, s.access)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

/** Above a group space's folder: who may write; for its owners (and admins), the form to change it. */
export function GroupSpaceHeader(props: { ctx: PageContext; space: GroupSpace }) {
  const { ctx, space } = props;
  return (
    <section class="group-space">
      <p>
        {tr(ctx, 'current', { access: tr(ctx, space.memberAccess) })} <a href={`/documents/groupes/${space.id}/corbeille`}>{tr(ctx, 'trash')}</a>
      </p>
      {space.canManage && (
        <form method="post" action={`/documents/groupes/${space.id}/acces`}>
          <CsrfField ctx={ctx} />
          <fieldset>
            <legend>{tr(ctx, 'settings')}</legend>
            <p>{tr(ctx, 'ownersWrite')}</p>
            {(['read', 'write'] as const).map((value) => (
              <label>
                <input type="radio" name="acces" value={value} checked={space.memberAccess === value} /> {tr(ctx, 'membersMay')} {tr(ctx, value === 'read' ? 'membersRead' : 'membersWrite')}
              </label>
            ))}{' '}
            <button type="submit">{tr(ctx, 'save')}</button>
          </fieldset>
        </form>
      )}
    </section>
  );
}
