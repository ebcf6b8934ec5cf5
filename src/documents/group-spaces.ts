// Group spaces: every group of the tenant (institutional, workgroup, imported, dynamic) has a
// shared documents space, whose nodes have space_id = group_id = the group's id. Its members
// read it; they also write in it if the group's owners (or the tenant's admins, the only ones who
// can for imported and dynamic groups, which have no owners) said so; owners always write.
// Membership comes from the directory's groups service (dynamic groups: from the rule, when
// read), never from its tables. Anyone else, and any id of another tenant, gets NotFoundError.
//
// Once this module has let a person in, the documents service does the work with an actor whose
// groupId is the group's: uploads are counted against the group space's quota (and the tenant's),
// never against the person's; the person who sent a file is recorded as its owner_id.
import type { DbHandle } from '../platform/db.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import type { GroupSummary, Groups } from '../directory/groups.js';
import type { Access } from './sharing.js';
import type { Actor } from './service.js';
import './tables.js';

export interface GroupSpace {
  id: string;
  name: string;
  kind: string;
  role: 'owner' | 'member';
  /** What members (not owners) may do, as the owners set it. */
  memberAccess: Access;
  /** What this person may do. */
  access: Access;
  /** May change memberAccess. */
  canManage: boolean;
}

export interface GroupSpaces {
  /** The spaces of the groups this person belongs to. */
  mine(actor: Actor, admin: boolean): Promise<GroupSpace[]>;
  /** The space and an actor acting in it, if this person may `need` there; else 404 (not a member) or 403 (read only). */
  enter(actor: Actor, groupId: string, need: Access, admin: boolean): Promise<{ space: GroupSpace; actor: Actor }>;
  /** Owners of the group, or the tenant's admins (member or not). */
  setMemberAccess(actor: Actor, groupId: string, access: unknown, admin: boolean): Promise<Access>;
}

export function createGroupSpaces(deps: { database: DbHandle; groups: Groups }): GroupSpaces {
  const { database, groups } = deps;

  async function memberAccessOf(tenantId: string, groupIds: string[]): Promise<Map<string, Access>> {
    if (groupIds.length === 0) return new Map();
    const rows = await database.withTenant(tenantId, (trx) => trx.selectFrom('document_group_spaces').select(['group_id', 'member_access']).where('group_id', 'in', groupIds).execute());
    return new Map(rows.map((r) => [r.group_id, r.member_access]));
  }

  async function spacesOf(actor: Actor, admin: boolean, memberOf: GroupSummary[]): Promise<GroupSpace[]> {
    const settings = await memberAccessOf(actor.tenant.id, memberOf.map((g) => g.id));
    return memberOf.map((g) => {
      const role = g.role ?? 'member';
      const memberAccess = settings.get(g.id) ?? 'read';
      return { id: g.id, name: g.name, kind: g.kind, role, memberAccess, access: role === 'owner' ? 'write' : memberAccess, canManage: role === 'owner' || admin };
    });
  }

  async function mine(actor: Actor, admin: boolean): Promise<GroupSpace[]> {
    const { groups: memberOf } = await groups.mine(actor.tenant, { personId: actor.personId, roles: admin ? ['admin'] : [] });
    return spacesOf(actor, admin, memberOf);
  }

  /** The one space of `groupId`, if this person is in the group (every request inside a space asks this). */
  async function one(actor: Actor, groupId: string, admin: boolean): Promise<GroupSpace | undefined> {
    const group = await groups.membership(actor.tenant, actor.personId, groupId);
    return group ? (await spacesOf(actor, admin, [group]))[0] : undefined;
  }

  return {
    mine,

    async enter(actor, groupId, need, admin) {
      if (!isUuid(groupId)) throw new NotFoundError("Cet espace de groupe n'existe pas.");
      const space = await one(actor, groupId, admin);
      if (!space) throw new NotFoundError("Cet espace de groupe n'existe pas.");
      if (need === 'write' && space.access !== 'write') throw new ForbiddenError('Les membres de ce groupe ne peuvent que lire son espace : ses propriétaires en décident.');
      return { space, actor: { tenant: actor.tenant, personId: actor.personId, groupId: space.id } };
    },

    async setMemberAccess(actor, groupId, raw, admin) {
      if (raw !== 'read' && raw !== 'write') throw new BadRequestError("L'accès des membres est « read » (lecture) ou « write » (lecture et écriture).");
      const access: Access = raw;
      if (!isUuid(groupId)) throw new NotFoundError("Cet espace de groupe n'existe pas.");
      if (!admin) {
        const space = await one(actor, groupId, false);
        if (!space) throw new NotFoundError("Cet espace de groupe n'existe pas.");
        if (!space.canManage) throw new ForbiddenError("Seuls les propriétaires du groupe décident de ce que ses membres peuvent faire dans son espace.");
      }
      await database.withTenant(actor.tenant.id, async (trx) => {
        // RLS: another tenant's group id finds nothing here.
        const group = await trx.selectFrom('groups').select('id').where('id', '=', groupId).executeTakeFirst();
        if (!group) throw new NotFoundError("Cet espace de groupe n'existe pas.");
        await trx
          .insertInto('document_group_spaces')
          .values({ tenant_id: actor.tenant.id, group_id: group.id, member_access: access })
          .onConflict((oc) => oc.columns(['tenant_id', 'group_id']).doUpdateSet({ member_access: access, updated_at: new Date() }))
          .execute();
      });
      return access;
    },
  };
}
