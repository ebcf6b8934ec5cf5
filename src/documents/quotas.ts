// Quotas of "Mes documents" and of group spaces, and the tenant admin's view of usage
// (migrations/0016_documents_group_spaces_quotas.sql). No HTTP here (admin-routes.tsx).
//
// Three levels: the tenant total (quotas.storageTotal, set by the operator in the declaration),
// then what the tenant's admins set: a default per person (else the declaration's
// storagePerPerson), a quota for one person, a quota for one group space (else the default per
// person). None of these may be above the tenant total: an admin never grants more than the
// tenant has. A quota below what a space already uses is allowed (it only stops new uploads).
import { sql } from 'kysely';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { BadRequestError, NotFoundError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import { parseSize } from '../tenancy/declaration.js';
import type { Tenant } from '../tenancy/registry.js';
import type { Limits } from './repository.js';
import './tables.js';

/** Whose space: a person's own, or a group's. */
export interface SpaceRef {
  tenant: Tenant;
  personId: string;
  groupId?: string;
}

export const tenantTotal = (tenant: Tenant) => parseSize(tenant.declaration.quotas.storageTotal);

/** The default per person: the admins' setting (document_quota_settings) if they made one, else the declaration's. */
const perPersonDefault = (tenant: Tenant, setting: string | number | bigint | null | undefined): number =>
  setting != null ? Number(setting) : parseSize(tenant.declaration.quotas.storagePerPerson);

async function defaultPerPerson(trx: TenantDb, tenant: Tenant): Promise<number> {
  const row = await trx.selectFrom('document_quota_settings').select('default_per_person').executeTakeFirst();
  return perPersonDefault(tenant, row?.default_per_person);
}

/**
 * The quota of a space, as the admins set it (the tenant total still bounds every reservation):
 * the space's own, else the tenant's default per person, else the declaration's. One statement:
 * every upload reads it under way to its reservation.
 */
export async function spaceQuota(trx: TenantDb, space: SpaceRef): Promise<number> {
  const own = space.groupId
    ? trx.selectFrom('document_group_spaces').select('quota').where('group_id', '=', space.groupId)
    : trx.selectFrom('document_person_quotas').select('quota').where('person_id', '=', space.personId);
  const row = await trx
    .selectNoFrom((eb) => [own.as('own'), eb.selectFrom('document_quota_settings').select('default_per_person').as('fallback')])
    .executeTakeFirstOrThrow();
  return row.own != null ? Number(row.own) : perPersonDefault(space.tenant, row.fallback);
}

export async function limitsIn(trx: TenantDb, space: SpaceRef): Promise<Limits> {
  return { tenantId: space.tenant.id, spaceId: space.groupId ?? space.personId, spaceLimit: await spaceQuota(trx, space), tenantLimit: tenantTotal(space.tenant) };
}

// French units are shown binary by formatSize (1 Go = 1024 Mo), so they are read the same way.
const FRENCH_UNITS: Record<string, string> = { o: 'B', ko: 'KiB', mo: 'MiB', go: 'GiB', to: 'TiB' };

/** "500 Mo", "2 Go", "1.5 GiB", "1073741824" -> bytes; "" -> null (back to the default). */
export function parseQuota(raw: unknown): number | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new BadRequestError('Le quota doit être une taille, par exemple « 500 Mo » ou « 2 Go ».');
  const text = String(raw).trim().replace(',', '.');
  if (text === '') return null;
  if (/^\d+$/.test(text)) return checkBytes(Number(text));
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(text);
  if (!match) throw new BadRequestError(`« ${text.slice(0, 40)} » n'est pas une taille (exemples : « 500 Mo », « 2 Go »).`);
  const unit = FRENCH_UNITS[match[2]!.toLowerCase()] ?? match[2]!;
  if (!/^(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/.test(unit)) throw new BadRequestError(`Unité inconnue : « ${match[2]} » (o, Ko, Mo, Go, To).`);
  return checkBytes(parseSize(`${match[1]} ${unit}`));
}

function checkBytes(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new BadRequestError("Cette taille n'est pas valide.");
  return bytes;
}

function capped(tenant: Tenant, bytes: number | null): void {
  if (bytes !== null && bytes > tenantTotal(tenant)) {
    throw new BadRequestError(`Un quota ne peut pas dépasser l'espace total de l'établissement (${tenant.declaration.quotas.storageTotal}).`, { field: 'quota', total: tenantTotal(tenant) });
  }
}

export type SortOrder = 'desc' | 'asc';

export interface PersonUsage {
  personId: string;
  displayName: string;
  mail: string | null;
  used: number;
  quota: number;
  overridden: boolean;
}

export interface GroupUsage {
  groupId: string;
  name: string;
  kind: string;
  used: number;
  quota: number;
  overridden: boolean;
  memberAccess: 'read' | 'write';
}

export interface UsageOverview {
  tenant: { used: number; reserved: number; total: number };
  defaultPerPerson: number;
  defaultOverridden: boolean;
  people: { rows: PersonUsage[]; total: number; page: number; pages: number };
  groups: { rows: GroupUsage[]; total: number; page: number; pages: number };
}

export const PAGE_SIZE = 50;

export function createQuotaAdmin(database: DbHandle) {
  const tx = <T>(tenant: Tenant, fn: (trx: TenantDb) => Promise<T>) => database.withTenant(tenant.id, fn);
  const pages = (total: number) => Math.max(1, Math.ceil(total / PAGE_SIZE));

  return {
    async overview(tenant: Tenant, options: { peoplePage: number; groupsPage: number; order: SortOrder }): Promise<UsageOverview> {
      return tx(tenant, async (trx) => {
        const tenantRow = await trx.selectFrom('document_usage').select(['used', 'reserved']).where('space_id', '=', tenant.id).executeTakeFirst();
        const settings = await trx.selectFrom('document_quota_settings').select('default_per_person').executeTakeFirst();
        const fallback = await defaultPerPerson(trx, tenant);
        const order = options.order === 'asc' ? sql`asc` : sql`desc`;

        // People who have a space (a usage row appears at their first upload or quota change).
        const peopleTotal = await trx
          .selectFrom('document_usage as u')
          .innerJoin('people as p', (j) => j.onRef('p.tenant_id', '=', 'u.tenant_id').onRef('p.id', '=', 'u.space_id'))
          .select(sql<number>`count(*)::int`.as('n'))
          .executeTakeFirstOrThrow();
        const people = await trx
          .selectFrom('document_usage as u')
          .innerJoin('people as p', (j) => j.onRef('p.tenant_id', '=', 'u.tenant_id').onRef('p.id', '=', 'u.space_id'))
          .leftJoin('document_person_quotas as q', (j) => j.onRef('q.tenant_id', '=', 'u.tenant_id').onRef('q.person_id', '=', 'u.space_id'))
          .select(['p.id', 'p.display_name', 'p.mail', 'u.used', 'q.quota'])
          .orderBy(sql`u.used ${order}`)
          .orderBy('p.id')
          .limit(PAGE_SIZE)
          .offset((options.peoplePage - 1) * PAGE_SIZE)
          .execute();

        // Every group has a space, used or not: an admin may give it a quota before its first file.
        const groupsTotal = await trx.selectFrom('groups').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
        const groups = await trx
          .selectFrom('groups as g')
          .leftJoin('document_usage as u', (j) => j.onRef('u.tenant_id', '=', 'g.tenant_id').onRef('u.space_id', '=', 'g.id'))
          .leftJoin('document_group_spaces as s', (j) => j.onRef('s.tenant_id', '=', 'g.tenant_id').onRef('s.group_id', '=', 'g.id'))
          .select(['g.id', 'g.name', 'g.kind', 'u.used', 's.quota', 's.member_access'])
          .orderBy(sql`coalesce(u.used, 0) ${order}`)
          .orderBy('g.name')
          .orderBy('g.id')
          .limit(PAGE_SIZE)
          .offset((options.groupsPage - 1) * PAGE_SIZE)
          .execute();

        return {
          tenant: { used: Number(tenantRow?.used ?? 0), reserved: Number(tenantRow?.reserved ?? 0), total: tenantTotal(tenant) },
          defaultPerPerson: fallback,
          defaultOverridden: settings?.default_per_person != null,
          people: {
            rows: people.map((r) => ({ personId: r.id, displayName: r.display_name, mail: r.mail, used: Number(r.used), quota: r.quota != null ? Number(r.quota) : fallback, overridden: r.quota != null })),
            total: peopleTotal.n,
            page: options.peoplePage,
            pages: pages(peopleTotal.n),
          },
          groups: {
            rows: groups.map((r) => ({ groupId: r.id, name: r.name, kind: r.kind, used: Number(r.used ?? 0), quota: r.quota != null ? Number(r.quota) : fallback, overridden: r.quota != null, memberAccess: r.member_access ?? 'read' })),
            total: groupsTotal.n,
            page: options.groupsPage,
            pages: pages(groupsTotal.n),
          },
        };
      });
    },

    async setDefault(tenant: Tenant, raw: unknown): Promise<number | null> {
      const bytes = parseQuota(raw);
      capped(tenant, bytes);
      await tx(tenant, (trx) =>
        trx
          .insertInto('document_quota_settings')
          .values({ tenant_id: tenant.id, default_per_person: bytes })
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ default_per_person: bytes, updated_at: new Date() }))
          .execute(),
      );
      return bytes;
    },

    /** `person`: an id or an address of this tenant; an empty quota gives the person the default back. */
    async setPerson(tenant: Tenant, person: unknown, raw: unknown): Promise<{ personId: string; quota: number | null }> {
      const bytes = parseQuota(raw);
      capped(tenant, bytes);
      const wanted = typeof person === 'string' ? person.trim() : '';
      if (!wanted) throw new BadRequestError('Indiquez une personne (adresse de messagerie).');
      const address = wanted.toLowerCase();
      return tx(tenant, async (trx) => {
        // RLS hides every other tenant's people: their ids answer "not found" here.
        const row = await trx
          .selectFrom('people')
          .select('id')
          .where((eb) => (isUuid(wanted) ? eb('id', '=', wanted) : eb(sql`lower(mail)`, '=', address)))
          .executeTakeFirst();
        if (!row) throw new NotFoundError("Cette personne n'existe pas dans votre établissement.");
        if (bytes === null) await trx.deleteFrom('document_person_quotas').where('person_id', '=', row.id).execute();
        else
          await trx
            .insertInto('document_person_quotas')
            .values({ tenant_id: tenant.id, person_id: row.id, quota: bytes })
            .onConflict((oc) => oc.columns(['tenant_id', 'person_id']).doUpdateSet({ quota: bytes, updated_at: new Date() }))
            .execute();
        // The person is listed from now on, used or not.
        await trx.insertInto('document_usage').values({ tenant_id: tenant.id, space_id: row.id, used: 0, reserved: 0 }).onConflict((oc) => oc.columns(['tenant_id', 'space_id']).doNothing()).execute();
        return { personId: row.id, quota: bytes };
      });
    },

    async setGroup(tenant: Tenant, groupId: string, raw: unknown): Promise<number | null> {
      const bytes = parseQuota(raw);
      capped(tenant, bytes);
      await tx(tenant, async (trx) => {
        const group = isUuid(groupId) ? await trx.selectFrom('groups').select('id').where('id', '=', groupId).executeTakeFirst() : undefined;
        if (!group) throw new NotFoundError("Ce groupe n'existe pas dans votre établissement.");
        await trx
          .insertInto('document_group_spaces')
          .values({ tenant_id: tenant.id, group_id: group.id, quota: bytes })
          .onConflict((oc) => oc.columns(['tenant_id', 'group_id']).doUpdateSet({ quota: bytes, updated_at: new Date() }))
          .execute();
      });
      return bytes;
    },
  };
}

export type QuotaAdmin = ReturnType<typeof createQuotaAdmin>;
