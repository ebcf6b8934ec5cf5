// Directory administration: deactivate and reactivate people, grant the tenant-admin role,
// export people as CSV (neutralised against formula injection).
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { requireLogin } from '../identity/authorize.js';
import type { DbHandle } from '../platform/db.js';
import { ForbiddenError, NotFoundError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import type { Tenant } from '../tenancy/registry.js';
import { nameKey, PERSON_COLUMNS, searchPeople, type PersonRow } from './repository.js';

/**
 * Tenant admins: the admin role from the IdP (session) or granted in Portique (people.granted_roles,
 * effective at once, without a new login).
 */
export function requireDirectoryAdmin(database: DbHandle): preHandlerAsyncHookHandler {
  return async function (this: unknown, request, reply) {
    await requireLogin.call(this as never, request, reply);
    if (reply.sent) return reply;
    if (await isTenantAdmin(database, request)) return;
    throw new ForbiddenError(request.tenant.declaration.defaultLocale === 'en' ? 'This page is for the institution administrators.' : "Cette page est réservée aux administrateurs de l'établissement.");
  };
}

export async function isTenantAdmin(database: DbHandle, request: FastifyRequest): Promise<boolean> {
  const session = request.session;
  if (!session) return false;
  if (session.roles.includes('admin')) return true;
  const row = await database.withTenant(request.tenant.id, (trx) =>
    trx.selectFrom('people').select(['granted_roles', 'status']).where('tenant_id', '=', request.tenant.id).where('id', '=', session.personId).executeTakeFirst(),
  );
  return !!row && row.status === 'active' && row.granted_roles.includes('admin');
}

/** A cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is made plain text. */
export function neutralizeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function csvLine(cells: readonly (string | null | undefined)[]): string {
  return cells
    .map((cell) => {
      const text = neutralizeCell(cell ?? '');
      return /[";\r\n,]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(';');
}

export function createDirectoryAdmin(database: DbHandle) {
  async function update(tenant: Tenant, id: string, set: Record<string, unknown>): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError();
    const result = await database.withTenant(tenant.id, (trx) =>
      trx.updateTable('people').set({ ...set, updated_at: new Date() }).where('tenant_id', '=', tenant.id).where('id', '=', id).executeTakeFirst(),
    );
    if (result.numUpdatedRows === 0n) throw new NotFoundError();
  }

  return {
    /** Deactivated people are kept (they can no longer log in) until the retention period passes. */
    deactivate: (tenant: Tenant, id: string) => update(tenant, id, { status: 'deactivated', deactivated_at: new Date() }),
    reactivate: (tenant: Tenant, id: string) => update(tenant, id, { status: 'active', deactivated_at: null }),
    setAdmin: (tenant: Tenant, id: string, granted: boolean) => update(tenant, id, { granted_roles: granted ? ['admin'] : [] }),

    /** Everyone matching the query (red list and deactivated included), as CSV for a spreadsheet. */
    async exportCsv(tenant: Tenant, query: string): Promise<string> {
      // No query: everyone, in name order (a spreadsheet of the whole directory, 50,000 rows at most).
      const rows = await database.withTenant(tenant.id, (trx) =>
        query.trim()
          ? searchPeople(trx, { tenantId: tenant.id, query, limit: 2000, offset: 0, includeHidden: true })
          : (trx.selectFrom('people').select(PERSON_COLUMNS).where('people.tenant_id', '=', tenant.id).orderBy(nameKey).limit(50_000).execute() as Promise<PersonRow[]>),
      );
      const header = csvLine(['id', 'sn', 'givenName', 'displayName', 'mail', 'eduPersonAffiliation', 'supannEntiteAffectation', 'title', 'telephoneNumber', 'supannListeRouge', 'status']);
      const lines = rows.map((r) =>
        csvLine([r.external_id, r.family_name, r.given_name, r.display_name, r.mail, r.affiliations.join('|'), r.affectation, r.title, r.office_phone, r.red_list ? 'oui' : 'non', r.status]),
      );
      return `\uFEFF${[header, ...lines].join('\r\n')}\r\n`;
    },
  };
}

export type DirectoryAdmin = ReturnType<typeof createDirectoryAdmin>;
