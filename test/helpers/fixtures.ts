// Small data builders for tests. Each inserts through withTenant, as the application does.
import type { DbHandle } from '../../src/platform/db.js';
import { newId } from '../../src/platform/ids.js';

export async function insertPerson(db: DbHandle, tenantId: string, fields: { externalId?: string; displayName?: string } = {}) {
  const id = newId();
  await db.withTenant(tenantId, (trx) =>
    trx
      .insertInto('people')
      .values({
        tenant_id: tenantId,
        id,
        external_id: fields.externalId ?? `${id}@example.test`,
        display_name: fields.displayName ?? 'Camille Test',
        given_name: 'Camille',
        family_name: 'Test',
        mail: null,
        affiliations: ['student'],
      })
      .execute(),
  );
  return id;
}

export async function insertGroup(db: DbHandle, tenantId: string, memberIds: string[] = []) {
  const id = newId();
  await db.withTenant(tenantId, async (trx) => {
    await trx.insertInto('groups').values({ tenant_id: tenantId, id, kind: 'workgroup', name: 'Projet tutoré', description: null }).execute();
    if (memberIds.length) {
      await trx.insertInto('group_members').values(memberIds.map((person_id) => ({ tenant_id: tenantId, group_id: id, person_id }))).execute();
    }
  });
  return id;
}
