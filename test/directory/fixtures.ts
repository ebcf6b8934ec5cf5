// Directory rows for tests that need every directory table filled (test/platform/isolation.test.ts).
import type { DbHandle } from '../../src/platform/db.js';
import { newId } from '../../src/platform/ids.js';

/** An invitation to a group, an import run with its file and the LDAP sync state, for one tenant. */
export async function seedDirectory(db: DbHandle, tenantId: string, personId: string, groupId: string): Promise<void> {
  const run = newId();
  await db.withTenant(tenantId, async (trx) => {
    await trx.insertInto('group_invitations').values({ tenant_id: tenantId, group_id: groupId, person_id: personId, invited_by: personId }).execute();
    await trx.insertInto('directory_imports').values({ tenant_id: tenantId, id: run, source: 'csv', dry_run: true, file_name: 'people.csv', requested_by: personId }).execute();
    await trx.insertInto('directory_import_files').values({ tenant_id: tenantId, import_id: run, body: Buffer.from('id;sn;givenName\n') }).execute();
    await trx.insertInto('directory_sync_state').values({ tenant_id: tenantId, source: 'ldap', high_water: '20260101000000Z' }).execute();
  });
}
