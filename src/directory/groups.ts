// Groups, all shown the same way: institutional (admins), workgroups (anyone; owners, members,
// invitations, leaving), imported (from CSV or LDAP: membership follows the source) and dynamic
// (a rule on attributes: membership is computed from the people's attributes when read, so it
// always follows them). Other features use memberIds() to target a group.
import { sql, type Expression, type SqlBool } from 'kysely';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.js';
import { isUuid, newId } from '../platform/ids.js';
import type { Tenant } from '../tenancy/registry.js';
import { nameKey, PERSON_COLUMNS, personById, type PersonRow } from './repository.js';
import { cardOf, viewerOf, type Card, type Who } from './white-pages.js';

export type GroupKind = 'institutional' | 'workgroup' | 'imported' | 'dynamic';

export interface RuleClause {
  /** affiliation, affectation, or the name of a stored attribute (supannEtuEtape, ...). */
  attribute: string;
  values: string[];
}
export interface GroupRule {
  all: RuleClause[];
}

export interface GroupSummary {
  id: string;
  kind: GroupKind;
  name: string;
  description: string | null;
  role: 'owner' | 'member' | null;
}

export interface GroupPage {
  group: GroupSummary & { rule: GroupRule | null };
  members: (Card & { owner: boolean })[];
  hiddenMembers: number;
  canManage: boolean;
  /** An owner of a workgroup or institutional group: may name and withdraw owners. */
  canChooseOwners: boolean;
  canLeave: boolean;
}

const ATTRIBUTE = /^[a-zA-Z][a-zA-Z0-9]{0,63}$/;

/** Checks a rule from a form or a declaration: 1 to 5 clauses, each with 1 to 50 values. */
export function parseRule(text: string): GroupRule {
  // "affiliation=student; supannEtuEtape=L3INF|L3MATH"
  const clauses = text
    .split(/[;\n&]+/)
    .map((c) => c.trim())
    .filter(Boolean)
    .map((clause) => {
      const match = /^([a-zA-Z][a-zA-Z0-9]{0,63})\s*=\s*(.+)$/.exec(clause);
      if (!match) throw new BadRequestError(`Règle incomprise : « ${clause.slice(0, 80)} » (attendu : attribut=valeur|valeur).`);
      const values = match[2]!.split('|').map((v) => v.trim()).filter(Boolean);
      if (values.length === 0 || values.length > 50) throw new BadRequestError(`Règle : « ${match[1]} » doit avoir de 1 à 50 valeurs.`);
      return { attribute: match[1]!, values };
    });
  if (clauses.length === 0 || clauses.length > 5) throw new BadRequestError('Une règle a de 1 à 5 conditions (attribut=valeur).');
  return { all: clauses };
}

export const ruleText = (rule: GroupRule) => rule.all.map((c) => `${c.attribute}=${c.values.join('|')}`).join('; ');

function ruleCondition(rule: GroupRule): Expression<SqlBool> {
  const clauses = rule.all.map((c) => {
    if (!ATTRIBUTE.test(c.attribute)) throw new BadRequestError('attribut invalide');
    if (c.attribute === 'affiliation' || c.attribute === 'eduPersonAffiliation') return sql<SqlBool>`people.affiliations && ${c.values}::text[]`;
    if (c.attribute === 'affectation' || c.attribute === 'supannEntiteAffectation') return sql<SqlBool>`people.affectation = any(${c.values}::text[])`;
    return sql<SqlBool>`(people.attributes -> ${c.attribute}) ?| ${c.values}::text[]`;
  });
  return sql<SqlBool>`(${sql.join(clauses, sql` and `)})`;
}

export function ruleMatches(rule: GroupRule, person: Pick<PersonRow, 'affiliations' | 'affectation' | 'attributes'>): boolean {
  return rule.all.every((c) => {
    if (c.attribute === 'affiliation' || c.attribute === 'eduPersonAffiliation') return person.affiliations.some((a) => c.values.includes(a));
    if (c.attribute === 'affectation' || c.attribute === 'supannEntiteAffectation') return !!person.affectation && c.values.includes(person.affectation);
    return (person.attributes[c.attribute] ?? []).some((v) => c.values.includes(v));
  });
}

async function groupRow(trx: TenantDb, tenantId: string, id: string) {
  if (!isUuid(id)) throw new NotFoundError();
  const row = await trx.selectFrom('groups').select(['id', 'kind', 'name', 'description', 'rule']).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError();
  return { ...row, rule: (row.rule as GroupRule | null) ?? null };
}

async function roleIn(trx: TenantDb, tenantId: string, groupId: string, personId: string): Promise<'owner' | 'member' | null> {
  const row = await trx.selectFrom('group_members').select('role').where('tenant_id', '=', tenantId).where('group_id', '=', groupId).where('person_id', '=', personId).executeTakeFirst();
  return row?.role ?? null;
}

/** Active members of a group (ids), static or computed: what other features target. */
export async function memberIds(trx: TenantDb, tenantId: string, groupId: string): Promise<string[]> {
  const group = await groupRow(trx, tenantId, groupId);
  const query = group.rule
    ? trx.selectFrom('people').select('people.id').where('people.tenant_id', '=', tenantId).where(ruleCondition(group.rule))
    : trx
        .selectFrom('group_members')
        .innerJoin('people', (j) => j.onRef('people.tenant_id', '=', 'group_members.tenant_id').onRef('people.id', '=', 'group_members.person_id'))
        .select('people.id')
        .where('group_members.tenant_id', '=', tenantId)
        .where('group_members.group_id', '=', groupId);
  return (await query.where('people.status', '=', 'active').execute()).map((r) => r.id);
}

export function createGroups(database: DbHandle) {
  return {
    async mine(tenant: Tenant, who: Who): Promise<{ groups: GroupSummary[]; invitations: GroupSummary[] }> {
      return database.withTenant(tenant.id, async (trx) => {
        const me = await personById(trx, tenant.id, who.personId);
        if (!me) return { groups: [], invitations: [] };
        const direct = await trx
          .selectFrom('group_members')
          .innerJoin('groups', (j) => j.onRef('groups.tenant_id', '=', 'group_members.tenant_id').onRef('groups.id', '=', 'group_members.group_id'))
          .select(['groups.id', 'groups.kind', 'groups.name', 'groups.description', 'group_members.role'])
          .where('group_members.tenant_id', '=', tenant.id)
          .where('group_members.person_id', '=', who.personId)
          .execute();
        const dynamic = await trx.selectFrom('groups').select(['id', 'kind', 'name', 'description', 'rule']).where('tenant_id', '=', tenant.id).where('kind', '=', 'dynamic').execute();
        const invitations = await trx
          .selectFrom('group_invitations')
          .innerJoin('groups', (j) => j.onRef('groups.tenant_id', '=', 'group_invitations.tenant_id').onRef('groups.id', '=', 'group_invitations.group_id'))
          .select(['groups.id', 'groups.kind', 'groups.name', 'groups.description'])
          .where('group_invitations.tenant_id', '=', tenant.id)
          .where('group_invitations.person_id', '=', who.personId)
          .execute();
        const groups: GroupSummary[] = [
          ...direct.map((g) => ({ id: g.id, kind: g.kind, name: g.name, description: g.description, role: g.role })),
          ...dynamic.filter((g) => me.status === 'active' && ruleMatches(g.rule as GroupRule, me)).map((g) => ({ id: g.id, kind: g.kind, name: g.name, description: g.description, role: 'member' as const })),
        ].sort((a, b) => a.name.localeCompare(b.name, 'fr'));
        return { groups, invitations: invitations.map((g) => ({ ...g, role: null })) };
      });
    },

    /**
     * One group as `mine` lists it for this person (their role in it), or null when they are not
     * in it: a direct member or owner, or an active person its rule matches. What a request about
     * one group needs, without computing all of the person's groups.
     */
    async membership(tenant: Tenant, personId: string, groupId: string): Promise<GroupSummary | null> {
      if (!isUuid(groupId)) return null;
      return database.withTenant(tenant.id, async (trx) => {
        // The group and the person's row in it, in one query; the person is read only for a rule.
        const group = await trx
          .selectFrom('groups')
          .leftJoin('group_members', (j) =>
            j.onRef('group_members.tenant_id', '=', 'groups.tenant_id').onRef('group_members.group_id', '=', 'groups.id').on('group_members.person_id', '=', personId),
          )
          .select(['groups.id', 'groups.kind', 'groups.name', 'groups.description', 'groups.rule', 'group_members.role'])
          .where('groups.tenant_id', '=', tenant.id)
          .where('groups.id', '=', groupId)
          .executeTakeFirst();
        if (!group) return null;
        const summary = { id: group.id, kind: group.kind, name: group.name, description: group.description };
        if (group.role) return { ...summary, role: group.role };
        if (group.kind !== 'dynamic' || !group.rule) return null;
        const me = await personById(trx, tenant.id, personId);
        return me?.status === 'active' && ruleMatches(group.rule as GroupRule, me) ? { ...summary, role: 'member' } : null;
      });
    },

    /** A group's page: for its members, the invited and admins; members within visibility rules. */
    async page(tenant: Tenant, who: Who, id: string): Promise<GroupPage> {
      return database.withTenant(tenant.id, async (trx) => {
        const group = await groupRow(trx, tenant.id, id);
        const viewer = await viewerOf(trx, tenant.id, who);
        const me = await personById(trx, tenant.id, who.personId);
        const role = await roleIn(trx, tenant.id, id, who.personId);
        const dynamicMember = !!group.rule && !!me && ruleMatches(group.rule, me);
        const invited = !!(await trx.selectFrom('group_invitations').select('person_id').where('tenant_id', '=', tenant.id).where('group_id', '=', id).where('person_id', '=', who.personId).executeTakeFirst());
        if (!role && !dynamicMember && !invited && !viewer.admin) throw new NotFoundError();
        const base = group.rule
          ? trx.selectFrom('people').select([...PERSON_COLUMNS, sql<boolean>`false`.as('owner')]).where('people.tenant_id', '=', tenant.id).where(ruleCondition(group.rule))
          : trx
              .selectFrom('group_members')
              .innerJoin('people', (j) => j.onRef('people.tenant_id', '=', 'group_members.tenant_id').onRef('people.id', '=', 'group_members.person_id'))
              .select([...PERSON_COLUMNS, sql<boolean>`group_members.role = 'owner'`.as('owner')])
              .where('group_members.tenant_id', '=', tenant.id)
              .where('group_members.group_id', '=', id);
        const rows = (await base.orderBy(nameKey).limit(2000).execute()) as (PersonRow & { owner: boolean })[];
        const shown = rows.filter((r) => viewer.admin || r.id === viewer.personId || (r.status === 'active' && !r.red_list));
        return {
          group: { id: group.id, kind: group.kind, name: group.name, description: group.description, role: role ?? (dynamicMember ? 'member' : null), rule: group.rule },
          members: shown.map((r) => ({ ...cardOf(tenant, viewer, r), owner: r.owner })),
          hiddenMembers: rows.length - shown.length,
          canManage: role === 'owner' || (viewer.admin && group.kind === 'institutional'),
          canChooseOwners: role === 'owner' && (group.kind === 'workgroup' || group.kind === 'institutional'),
          canLeave: !!role && (group.kind === 'workgroup' || group.kind === 'institutional'),
        };
      });
    },

    async createWorkgroup(tenant: Tenant, who: Who, input: { name: string; description?: string }): Promise<string> {
      return createGroup(tenant.id, who.personId, 'workgroup', input);
    },

    /** Admins: institutional groups (members added by their owners) and dynamic ones (a rule). */
    async createByAdmin(tenant: Tenant, who: Who, input: { kind: 'institutional' | 'dynamic'; name: string; description?: string; rule?: string }): Promise<string> {
      const rule = input.kind === 'dynamic' ? parseRule(input.rule ?? '') : undefined;
      return createGroup(tenant.id, who.personId, input.kind, input, rule);
    },

    /** An owner invites a person of the tenant, named by mail or identifier. */
    async invite(tenant: Tenant, who: Who, groupId: string, target: string): Promise<void> {
      await database.withTenant(tenant.id, async (trx) => {
        const group = await groupRow(trx, tenant.id, groupId);
        await requireOwner(trx, tenant.id, group, who);
        const wanted = target.trim().toLowerCase();
        if (!wanted) throw new BadRequestError('Indiquez une adresse de messagerie ou un identifiant.');
        const person = await trx
          .selectFrom('people')
          .select('id')
          .where('tenant_id', '=', tenant.id)
          .where('status', '=', 'active')
          .where((eb) => eb.or([eb(sql`lower(mail)`, '=', wanted), eb(sql`lower(external_id)`, '=', wanted)]))
          .executeTakeFirst();
        // The same answer whether the person does not exist or is on the red list.
        if (!person) throw new NotFoundError('Personne ne correspond à cette adresse ou cet identifiant.');
        if (await roleIn(trx, tenant.id, groupId, person.id)) throw new ConflictError('Cette personne est déjà membre du groupe.');
        await trx.insertInto('group_invitations').values({ tenant_id: tenant.id, group_id: groupId, person_id: person.id, invited_by: who.personId }).onConflict((oc) => oc.doNothing()).execute();
      });
    },

    async answer(tenant: Tenant, who: Who, groupId: string, accept: boolean): Promise<void> {
      await database.withTenant(tenant.id, async (trx) => {
        if (!isUuid(groupId)) throw new NotFoundError();
        const deleted = await trx.deleteFrom('group_invitations').where('tenant_id', '=', tenant.id).where('group_id', '=', groupId).where('person_id', '=', who.personId).executeTakeFirst();
        if (deleted.numDeletedRows === 0n) throw new NotFoundError("Cette invitation n'existe pas ou plus.");
        if (accept) {
          await trx.insertInto('group_members').values({ tenant_id: tenant.id, group_id: groupId, person_id: who.personId, role: 'member' }).onConflict((oc) => oc.doNothing()).execute();
        }
      });
    },

    async leave(tenant: Tenant, who: Who, groupId: string): Promise<void> {
      await database.withTenant(tenant.id, async (trx) => {
        const group = await groupRow(trx, tenant.id, groupId);
        if (group.kind === 'imported' || group.kind === 'dynamic') throw new BadRequestError("On ne quitte pas un groupe importé ou dynamique : il suit l'annuaire de l'établissement.");
        const role = await roleIn(trx, tenant.id, groupId, who.personId);
        if (!role) throw new NotFoundError();
        if (role === 'owner') {
          // Lock the group's owners so two owners leaving at once cannot both be "not the last".
          const owners = await trx.selectFrom('group_members').select('person_id').where('tenant_id', '=', tenant.id).where('group_id', '=', groupId).where('role', '=', 'owner').forUpdate().execute();
          if (owners.length <= 1) throw new ConflictError("Vous êtes le dernier propriétaire : nommez-en un autre avant de quitter le groupe.");
        }
        await trx.deleteFrom('group_members').where('tenant_id', '=', tenant.id).where('group_id', '=', groupId).where('person_id', '=', who.personId).execute();
      });
    },

    /**
     * An owner names another member owner, or makes an owner (themselves included) a plain member
     * again; a group never loses its last owner.
     */
    async setRole(tenant: Tenant, who: Who, groupId: string, personId: string, role: 'owner' | 'member'): Promise<void> {
      await database.withTenant(tenant.id, async (trx) => {
        const group = await groupRow(trx, tenant.id, groupId);
        await requireOwner(trx, tenant.id, group, who);
        if (!isUuid(personId)) throw new NotFoundError("Cette personne n'est pas membre du groupe.");
        // Locked, so two owners demoting each other at once cannot both see "another owner left".
        const owners = await trx.selectFrom('group_members').select('person_id').where('tenant_id', '=', tenant.id).where('group_id', '=', groupId).where('role', '=', 'owner').forUpdate().execute();
        const current = await roleIn(trx, tenant.id, groupId, personId);
        if (!current) throw new NotFoundError("Cette personne n'est pas membre du groupe.");
        if (current === role) return;
        if (role === 'member' && owners.length <= 1) {
          throw new ConflictError('Le groupe doit garder au moins un propriétaire : nommez-en un autre avant de retirer celui-ci.');
        }
        await trx.updateTable('group_members').set({ role }).where('tenant_id', '=', tenant.id).where('group_id', '=', groupId).where('person_id', '=', personId).execute();
      });
    },

    async listAll(tenant: Tenant): Promise<(GroupSummary & { rule: GroupRule | null })[]> {
      const rows = await database.withTenant(tenant.id, (trx) =>
        trx.selectFrom('groups').select(['id', 'kind', 'name', 'description', 'rule']).where('tenant_id', '=', tenant.id).orderBy('kind').orderBy('name').limit(1000).execute(),
      );
      return rows.map((r) => ({ id: r.id, kind: r.kind, name: r.name, description: r.description, role: null, rule: (r.rule as GroupRule | null) ?? null }));
    },
  };

  async function requireOwner(trx: TenantDb, tenantId: string, group: { id: string; kind: GroupKind }, who: Who): Promise<void> {
    if (group.kind === 'imported' || group.kind === 'dynamic') throw new BadRequestError('Les membres de ce groupe viennent de l’annuaire : ils ne se gèrent pas ici.');
    if ((await roleIn(trx, tenantId, group.id, who.personId)) === 'owner') return;
    throw new ForbiddenError('Seuls les propriétaires du groupe peuvent le gérer.');
  }

  async function createGroup(tenantId: string, ownerId: string, kind: GroupKind, input: { name: string; description?: string }, rule?: GroupRule): Promise<string> {
    const name = input.name.trim();
    if (name.length < 2 || name.length > 120) throw new BadRequestError('Le nom du groupe doit faire de 2 à 120 caractères.');
    const description = input.description?.trim().slice(0, 2000) || null;
    const id = newId();
    await database.withTenant(tenantId, async (trx) => {
      await trx.insertInto('groups').values({ tenant_id: tenantId, id, kind, name, description, created_by: ownerId, rule: rule ?? null }).execute();
      // Whoever creates an institutional group or a workgroup owns it; a dynamic one has no owner.
      if (kind !== 'dynamic') await trx.insertInto('group_members').values({ tenant_id: tenantId, group_id: id, person_id: ownerId, role: 'owner' }).execute();
    });
    return id;
  }
}

export type Groups = ReturnType<typeof createGroups>;
