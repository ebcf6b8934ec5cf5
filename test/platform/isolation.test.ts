// Tenant isolation at the database, attacked as the application role. The tenant tables are
// enumerated from the catalogue, so a table added later without RLS makes this file fail.
import t from 'tap';
import { sql } from 'kysely';
import postgres from 'postgres';
import { applyTenants } from '../../src/tenancy/apply.js';
import { createTestDatabase } from '../helpers/db.js';
import { PG_APP_ROLE } from '../helpers/env.js';
import { insertGroup, insertPerson } from '../helpers/fixtures.js';
import { createSpKeyStore } from '../../src/identity/saml/keys.js';
import { seedDirectory } from '../directory/fixtures.js';
import { newId } from '../../src/platform/ids.js';
import '../../src/documents/tables.js';
import '../../src/documents/reconcile.js';
import '../../src/documents/scan.js';
import '../../src/notifications/tables.js';
import '../../src/statistics/tables.js';

/**
 * Platform tables that carry tenant_id but are not tenant-owned: the registry's tenant_hosts
 * (read-only to the application), and operator_audit, the operator's trail of actions on tenants
 * (append-only to the application; only the operator console reads it; test/operator/).
 */
const REGISTRY_TABLES = ['tenant_hosts', 'operator_audit'];

const database = await createTestDatabase();
t.teardown(() => database.drop());
await applyTenants(database.owner.db, 'tenants');
const tenants = await database.app.db.selectFrom('tenants').select(['id', 'slug']).orderBy('slug').execute();
const A = tenants.find((x) => x.slug === 'nord')!.id;
const B = tenants.find((x) => x.slug === 'sud')!.id;

// Every tenant table gets rows for both tenants.
for (const tenant of [A, B]) {
  const person = await insertPerson(database.app, tenant);
  await insertGroup(database.app, tenant, [person]);
  await createSpKeyStore(database.app, 'isolation-test-secret-0123456789abcdef').keys(tenant, `https://${tenant}.example/saml/metadata`);
  await database.app.withTenant(tenant, (trx) =>
    trx.insertInto('saml_idp_metadata').values({ tenant_id: tenant, entity_id: 'https://idp.example/idp', source_url: 'https://federation.example/metadata.xml', xml: '<md:EntityDescriptor/>', valid_until: null }).execute(),
  );
  await database.app.withTenant(tenant, (trx) =>
    trx.insertInto('saml_metadata_signers').values({ tenant_id: tenant, entity_id: 'https://idp.example/idp', metadata_url: 'https://federation.example/metadata.xml', certificates: '-----BEGIN CERTIFICATE-----' }).execute(),
  );
  await seedDirectory(database.app, tenant, person, await insertGroup(database.app, tenant));
  await database.app.withTenant(tenant, (trx) =>
    trx.insertInto('mail_deliveries').values({ tenant_id: tenant, key: `welcome:${person}`, message_id: `<${person}@example.test>`, status: 'sent', claim: null }).execute(),
  );
  await seedDocuments(tenant, person);
  await seedNotificationsAndUsage(tenant, person);
}

/** A notification and a preference; a usage event, a person's day of use and the daily and monthly aggregates. */
async function seedNotificationsAndUsage(tenant: string, person: string) {
  await database.app.withTenant(tenant, async (trx) => {
    await trx.insertInto('notifications').values({ tenant_id: tenant, id: newId(), person_id: person, category: 'share', title: 'Partagé avec vous', link: '/documents' }).execute();
    await trx.insertInto('notification_preferences').values({ tenant_id: tenant, person_id: person, category: 'share', delivery: 'digest' }).execute();
    await trx.insertInto('usage_events').values({ tenant_id: tenant, id: newId(), occurred_at: new Date(), person_id: person, event: 'login', service: 'portal' }).execute();
    await trx.insertInto('usage_person_days').values({ tenant_id: tenant, day: '2026-11-02', person_id: person, service: 'portal', event: 'login', count: 1 }).execute();
    const aggregate = { tenant_id: tenant, service: '*', affiliation: '*', event: '*', events: 1, people: 1 };
    await trx.insertInto('usage_daily').values({ ...aggregate, day: '2026-11-02' }).execute();
    await trx.insertInto('usage_monthly').values({ ...aggregate, month: '2026-11-01' }).execute();
  });
}

/** A folder with a file (and its version), a share, a public link, usage and a reservation. */
async function seedDocuments(tenant: string, person: string) {
  const folder = newId();
  const file = newId();
  const version = newId();
  await database.app.withTenant(tenant, async (trx) => {
    await trx.insertInto('document_nodes').values({ tenant_id: tenant, id: folder, space_id: person, owner_id: person, group_id: null, parent_id: null, kind: 'folder', name: 'Cours', content_type: null, current_version_id: null }).execute();
    await trx.insertInto('document_nodes').values({ tenant_id: tenant, id: file, space_id: person, owner_id: person, group_id: null, parent_id: folder, kind: 'file', name: 'notes.txt', size: 5, content_type: 'text/plain', current_version_id: version }).execute();
    await trx.insertInto('document_versions').values({ tenant_id: tenant, id: version, node_id: file, object_key: `${tenant}/documents/${version}`, size: 5, content_type: 'text/plain', sha256: '0'.repeat(64), created_by: person }).execute();
    await trx.insertInto('document_usage').values({ tenant_id: tenant, space_id: person, used: 5, reserved: 0 }).execute();
    await trx.insertInto('document_reservations').values({ tenant_id: tenant, id: newId(), space_id: person, bytes: 0 }).execute();
    await trx.insertInto('document_shares').values({ tenant_id: tenant, id: newId(), node_id: file, person_id: person, group_id: null, access: 'read', created_by: person }).execute();
    await trx.insertInto('document_links').values({ tenant_id: tenant, id: newId(), node_id: file, token_sha256: newId(), password_hash: null, expires_at: null, created_by: person }).execute();
  });
  // Quotas set by the tenant's admins and a group space's settings (0016).
  const group = await insertGroup(database.app, tenant, [person]);
  await database.app.withTenant(tenant, async (trx) => {
    await trx.insertInto('document_quota_settings').values({ tenant_id: tenant, default_per_person: 1024 }).execute();
    await trx.insertInto('document_person_quotas').values({ tenant_id: tenant, person_id: person, quota: 2048 }).execute();
    await trx.insertInto('document_group_spaces').values({ tenant_id: tenant, group_id: group, member_access: 'write', quota: 4096 }).execute();
  });
  // A reconciliation report (0018) and a virus scan verdict (0019).
  await database.app.withTenant(tenant, async (trx) => {
    await trx.insertInto('document_reconciliations').values({ tenant_id: tenant, id: newId(), bucket: 'portique', started_at: new Date(), finished_at: new Date(), objects_listed: 1, versions_listed: 1, orphan_objects: [], orphan_objects_count: 0, orphan_bytes: 0, missing_objects: [], missing_objects_count: 0, reservations_released: 0, reserved_bytes_released: 0 }).execute();
    await trx.insertInto('document_scans').values({ tenant_id: tenant, sha256: '0'.repeat(64), status: 'infected', finding: 'Eicar-Test-Signature', version_id: version }).execute();
  });
}

const raw = postgres(database.appUrl, { max: 1, onnotice: () => {} });
t.teardown(() => raw.end());

const tenantTables = (
  await raw<{ table_name: string }[]>`
    select c.table_name from information_schema.columns c
    join information_schema.tables t using (table_schema, table_name)
    where c.table_schema = 'public' and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE'
    order by 1`
)
  .map((r) => r.table_name)
  .filter((name) => !REGISTRY_TABLES.includes(name));

t.ok(tenantTables.length >= 4, `found the tenant tables: ${tenantTables.join(', ')}`);

t.test('the application role can bypass nothing', async (t) => {
  const [role] = await raw`select rolsuper, rolbypassrls from pg_roles where rolname = ${PG_APP_ROLE}`;
  t.same(role, { rolsuper: false, rolbypassrls: false });
  const owned = await raw`select relname from pg_class where relowner = (select oid from pg_roles where rolname = ${PG_APP_ROLE})`;
  t.same(owned, [], 'owns no table');
  await t.rejects(raw`insert into tenants (id, slug, display_name, declaration, digest) values (gen_random_uuid(), 'pirate', 'P', '{}', 'x')`, /permission denied/);
  await t.rejects(raw`delete from tenant_hosts`, /permission denied/);
});

for (const table of tenantTables) {
  t.test(`${table}: schema follows the isolation rule`, async (t) => {
    const [rls] = await raw<{ relrowsecurity: boolean; relforcerowsecurity: boolean }[]>`
      select relrowsecurity, relforcerowsecurity from pg_class where oid = ${table}::regclass`;
    t.same(rls, { relrowsecurity: true, relforcerowsecurity: true }, 'RLS enabled and forced');

    const policies = await raw<{ qual: string | null; with_check: string | null; permissive: string; cmd: string }[]>`
      select qual, with_check, permissive, cmd from pg_policies where schemaname = 'public' and tablename = ${table}`;
    t.equal(policies.length, 1, 'exactly one policy');
    const [policy] = policies;
    t.equal(policy?.cmd, 'ALL');
    for (const expr of [policy?.qual, policy?.with_check]) {
      t.match(expr ?? '', /tenant_id = \(NULLIF\(current_setting\('app\.tenant_id'::text, true\), ''::text\)\)::uuid/, 'fails closed on app.tenant_id');
    }

    const keys = await raw<{ contype: string; first: string; name: string }[]>`
      select con.contype, con.conname as name, a.attname as first
      from pg_constraint con join pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1]
      where con.conrelid = ${table}::regclass and con.contype in ('p', 'f', 'u')`;
    t.ok(keys.some((k) => k.contype === 'p'), 'has a primary key');
    for (const key of keys) t.equal(key.first, 'tenant_id', `${key.name} leads with tenant_id`);

    const indexes = await raw<{ indexname: string; first: string }[]>`
      select i.relname as indexname, a.attname as first
      from pg_index x join pg_class i on i.oid = x.indexrelid
      join pg_attribute a on a.attrelid = x.indrelid and a.attnum = x.indkey[0]
      where x.indrelid = ${table}::regclass`;
    for (const index of indexes) t.equal(index.first, 'tenant_id', `index ${index.indexname} leads with tenant_id`);
  });

  t.test(`${table}: attacked as the application role`, async (t) => {
    // No tenant set: the table reads as empty and every insert fails.
    const [unset] = await raw.unsafe(`select count(*)::int as n from ${table}`);
    t.equal(unset!.n, 0, 'no tenant set: reads as empty');

    const rowOf = (tenant: string) =>
      database.app.withTenant(tenant, async (trx) => {
        const rows = await sql<{ row: Record<string, unknown> }>`select to_jsonb(x) as row from ${sql.table(table)} x limit 1`.execute(trx);
        return rows.rows[0]!.row;
      });
    const rowA = await rowOf(A);
    const rowB = await rowOf(B);
    t.equal(rowA.tenant_id, A);
    t.equal(rowB.tenant_id, B);

    const insertCopy = (row: Record<string, unknown>) =>
      sql`insert into ${sql.table(table)} select * from jsonb_populate_record(null::${sql.table(table)}, ${row}::jsonb)`;
    await t.rejects(raw.unsafe(`insert into ${table} select * from jsonb_populate_record(null::${table}, $1::jsonb)`, [rowA as never]), /row-level security/, 'no tenant set: insert refused');

    await database.app.withTenant(A, async (trx) => {
      const visible = await sql<{ tenant_id: string }>`select distinct tenant_id from ${sql.table(table)}`.execute(trx);
      t.same(visible.rows.map((r) => r.tenant_id), [A], "tenant A sees only A's rows");
      const updated = await sql`update ${sql.table(table)} set tenant_id = tenant_id where tenant_id = ${B}`.execute(trx);
      t.equal(updated.numAffectedRows, 0n, "B's rows cannot be updated");
      const deleted = await sql`delete from ${sql.table(table)} where tenant_id = ${B}`.execute(trx);
      t.equal(deleted.numAffectedRows, 0n, "B's rows cannot be deleted");
    });
    await t.rejects(
      database.app.withTenant(A, (trx) => sql`update ${sql.table(table)} set tenant_id = ${B} where tenant_id = ${A}`.execute(trx)),
      /row-level security/,
      "A's rows cannot be moved to B",
    );
    await t.rejects(database.app.withTenant(A, (trx) => insertCopy({ ...rowB, id: undefined }).execute(trx)), /row-level security|null value/, "an insert carrying B's tenant_id is refused");
    await t.rejects(database.app.withTenant(A, (trx) => insertCopy(rowB).execute(trx)), /row-level security/, "B's exact row cannot be inserted as A");

    const [after] = await raw.unsafe(`select count(*)::int as n from ${table}`);
    t.equal(after!.n, 0, 'setting does not leak to the pooled connection afterwards');
  });
}

t.test('a foreign key cannot point to another tenant', async (t) => {
  const personB = await insertPerson(database.app, B);
  const groupA = await insertGroup(database.app, A);
  await t.rejects(
    database.app.withTenant(A, (trx) => trx.insertInto('group_members').values({ tenant_id: A, group_id: groupA, person_id: personB }).execute()),
    /foreign key/,
  );
});

t.test('withTenant refuses a malformed tenant id before touching the database', async (t) => {
  await t.rejects(database.app.withTenant("x'; select 1; --", async () => 1), /not a tenant id/);
});

t.test('the setting stays inside its transaction under concurrency', async (t) => {
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => {
      const tenant = i % 2 ? A : B;
      return database.app.withTenant(tenant, async (trx) => {
        const rows = await trx.selectFrom('people').select('tenant_id').execute();
        return rows.every((r) => r.tenant_id === tenant) && rows.length > 0;
      });
    }),
  );
  t.ok(results.every(Boolean), 'every transaction saw exactly its tenant');
});
