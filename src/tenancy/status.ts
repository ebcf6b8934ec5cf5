// Suspending and resuming a tenant: the one registry change the application itself makes (the
// application role may UPDATE tenants.status and updated_at only, src/platform/migrate.ts). The
// tenants trigger NOTIFYs every serve replica, whose registry reloads and shows the tenant's
// maintenance page (or its portal again) within a moment.
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../platform/database.js';
import type { Tenant } from './registry.js';

/** Returns false when the tenant already had this status (nothing written). */
export async function setTenantStatus(db: Kysely<Database>, tenantId: string, status: Tenant['status']): Promise<boolean> {
  const result = await db
    .updateTable('tenants')
    .set({ status, updated_at: sql<Date>`now()` as never })
    .where('id', '=', tenantId)
    .where('status', '<>', status)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
