// Groups views: my groups (with invitations and the workgroup form), a group's page, admin list.
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import { ruleText, type GroupPage as GroupPageData, type GroupRule, type GroupSummary } from './groups.js';
import { directoryTranslator, type DirectoryKey } from './messages.js';
import { AdminNav } from './admin-pages.js';
import { PersonRow } from './pages.js';

const kindKey = (kind: string) => `groups.kind.${kind}` as DirectoryKey;

function Post(props: { ctx: PageContext; action: string; label: string; look?: 'primary' | 'danger'; formClass?: string; children?: preact.ComponentChildren }) {
  return (
    <form method="post" action={props.action} class={props.formClass ?? 'inline-form'}>
      <CsrfField ctx={props.ctx} />
      {props.children}
      <button type="submit" class={props.look}>
        {props.label}
      </button>
    </form>
  );
}

export function MyGroupsPage(props: { ctx: PageContext; groups: GroupSummary[]; invitations: GroupSummary[] }) {
  const { ctx } = props;
  const d = directoryTranslator(ctx.locale);
  return (
    <Layout ctx={ctx} title={d('groups.title')}>
      <h1>{d('groups.title')}</h1>
      {props.invitations.length > 0 && (
        <section aria-labelledby="invitations" class="invitations">
          <h2 id="invitations">{d('groups.invitations')}</h2>
          <ul>
            {props.invitations.map((g) => (
              <li key={g.id}>
                <a href={`/groupes/${g.id}`}>{g.name}</a>
                <span class="invitation-actions">
                  <Post ctx={ctx} action={`/groupes/${g.id}/invitation/accepter`} label={d('groups.accept')} look="primary" />{' '}
                  <Post ctx={ctx} action={`/groupes/${g.id}/invitation/refuser`} label={d('groups.decline')} />
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {props.groups.length === 0 ? (
        <p class="notice compact">{d('groups.none')}</p>
      ) : (
        <ul class="groups">
          {props.groups.map((g) => (
            <li key={g.id}>
              <a href={`/groupes/${g.id}`}>{g.name}</a>
              <span class="meta">
                <span>{d(kindKey(g.kind))}</span>
                {g.role === 'owner' && <span class="badge">{d('groups.owner')}</span>}
              </span>
            </li>
          ))}
        </ul>
      )}
      <section class="panel" aria-labelledby="create">
        <h2 id="create">{d('groups.create')}</h2>
        <form method="post" action="/groupes">
          <CsrfField ctx={ctx} />
          <p class="field">
            <label for="name">{d('groups.name')}</label>
            <input id="name" name="name" required minLength={2} maxLength={120} />
          </p>
          <p class="field">
            <label for="description">{d('groups.description')}</label>
            <textarea id="description" name="description" maxLength={2000} rows={3} />
          </p>
          <button type="submit" class="primary">
            {d('groups.create')}
          </button>
        </form>
      </section>
    </Layout>
  );
}

export function GroupPageView(props: { ctx: PageContext; page: GroupPageData }) {
  const { ctx, page } = props;
  const { group } = page;
  const d = directoryTranslator(ctx.locale);
  return (
    <Layout ctx={ctx} title={group.name}>
      <p class="breadcrumb">
        <a href="/groupes">{d('groups.title')}</a>
      </p>
      <h1>{group.name}</h1>
      <p class="meta group-kind">
        <span class="badge">{d(kindKey(group.kind))}</span>
      </p>
      {group.description && <p class="group-description">{group.description}</p>}
      {group.rule && (
        <p>
          {d('groups.rule')} : <code>{ruleText(group.rule)}</code>
        </p>
      )}
      <h2>
        {d('groups.members')} ({page.members.length})
      </h2>
      <ul class="people">
        {page.members.map((m) => (
          <PersonRow
            key={m.id}
            card={m}
            href={`/annuaire/${m.id}`}
            marks={m.owner && <span class="badge">{d('groups.owner')}</span>}
            actions={
              page.canChooseOwners && (
                <Post ctx={ctx} action={`/groupes/${group.id}/membres/${m.id}/role`} label={d(m.owner ? 'groups.removeOwner' : 'groups.makeOwner')}>
                  <input type="hidden" name="role" value={m.owner ? 'member' : 'owner'} />
                </Post>
              )
            }
          />
        ))}
      </ul>
      {page.hiddenMembers > 0 && <p class="hint">{d('groups.hiddenMembers', { n: String(page.hiddenMembers) })}</p>}
      {page.canManage && (
        <Post ctx={ctx} action={`/groupes/${group.id}/inviter`} label={d('groups.invite').split(' (')[0]!} look="primary" formClass="panel invite-form">
          <label for="target">{d('groups.invite')}</label> <input id="target" name="target" required maxLength={254} />{' '}
        </Post>
      )}
      {page.canLeave && (
        <div class="group-leave">
          <Post ctx={ctx} action={`/groupes/${group.id}/quitter`} label={d('groups.leave')} look="danger" />
        </div>
      )}
    </Layout>
  );
}

export function AdminGroupsPage(props: { ctx: PageContext; groups: (GroupSummary & { rule: GroupRule | null })[] }) {
  const { ctx } = props;
  const d = directoryTranslator(ctx.locale);
  return (
    <Layout ctx={ctx} title={d('admin.title')}>
      <AdminNav ctx={ctx} />
      <h1>Groupes</h1>
      <ul class="groups">
        {props.groups.map((g) => (
          <li key={g.id}>
            <a href={`/groupes/${g.id}`}>{g.name}</a>
            <span class="meta">
              <span>{d(kindKey(g.kind))}</span>
              {g.rule && <code>{ruleText(g.rule)}</code>}
            </span>
          </li>
        ))}
      </ul>
      <form method="post" action="/admin/groupes" class="panel">
        <CsrfField ctx={ctx} />
        <p class="field">
          <label for="kind">Type</label>
          <select id="kind" name="kind">
            <option value="institutional">{d('groups.kind.institutional')}</option>
            <option value="dynamic">{d('groups.kind.dynamic')}</option>
          </select>
        </p>
        <p class="field">
          <label for="name">{d('groups.name')}</label>
          <input id="name" name="name" required minLength={2} maxLength={120} />
        </p>
        <p class="field">
          <label for="rule">{d('groups.rule')} (affiliation=student; supannEtuEtape=L3INF)</label>
          <input id="rule" name="rule" maxLength={2000} />
        </p>
        <button type="submit" class="primary">
          {d('groups.create')}
        </button>
      </form>
    </Layout>
  );
}
