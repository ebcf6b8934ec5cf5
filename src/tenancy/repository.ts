import type { TenantDb } from '../platform/db.js';

export function findTenantAsset(trx: TenantDb, tenantId: string, name: string) {
  return trx
    .selectFrom('tenant_assets')
    .select(['content_type', 'sha256', 'body'])
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
}
