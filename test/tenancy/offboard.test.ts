// Offboarding: `tenants export` then `tenants purge` of tenant A, attacked and measured. Tenant B
// must come out byte-identical (every row of every tenant table found in the catalogue, every
// object, every Redis key); A must be gone from all three. Refusals change nothing.
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { createSpKeyStore } from '../../src/identity/saml/keys.js';
import { queueName } from '../../src/jobs/queues.js';
import { newId } from '../../src/platform/ids.js';
import { tenantKey } from '../../src/platform/storage.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { cliOrigin, runOffboarding } from '../../src/tenancy/cli.js';
import { exportTenant, purgeTenant, tenantTables, verifyExport, type ExportManifest } from '../../src/tenancy/offboard.js';
import { setTenantStatus } from '../../src/tenancy/status.js';
import { seedDirectory } from '../directory/fixtures.js';
import { REDIS_URL } from '../helpers/env.js';
import { insertGroup, insertPerson } from '../helpers/fixtures.js';
import { startOffboardingDeps } from './offboard-harness.js';
import '../../src/documents/tables.js';
import '../../src/notifications/tables.js';
import '../../src/statistics/tables.js';

const { database, s3, storage, redis } = await startOffboardingDeps(t);
const deps = { owner: database.owner, storage, redis };
const origin = { actor: { id: 'offboard-test@consortium.example', displayName: 'Test' }, ip: 'cli', requestId: newId() };

const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-offboard-tenants-'));
await cp('tenants', tenantsDir, { recursive: true });
await applyTenants(database.owner.db, tenantsDir);
const ids = Object.fromEntries((await database.owner.db.selectFrom('tenants').select(['id', 'slug']).execute()).map((r) => [r.slug, r.id]));
const A = ids.nord!;
const B = ids.sud!;
const work = await mkdtemp(join(tmpdir(), 'portique-offboard-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

// Rows in every table the features write, objects, and Redis keys, for both tenants.
for (const tenant of [A, B]) {
  const person = await insertPerson(database.app, tenant);
  const other = await insertPerson(database.app, tenant, { externalId: `other-${tenant}@example.test` });
  await insertGroup(database.app, tenant, [person, other]);
  await createSpKeyStore(database.app, 'offboard-test-secret-0123456789abcdef').keys(tenant, `https://${tenant}.example/saml/metadata`);
  await database.app.withTenant(tenant, (trx) =>
    trx.insertInto('saml_idp_metadata').values({ tenant_id: tenant, entity_id: 'https://idp.example/idp', source_url: 'https://federation.example/metadata.xml', xml: '<md:EntityDescriptor/>', valid_until: null }).execute(),
  );
  await seedDirectory(database.app, tenant, person, await insertGroup(database.app, tenant));
  await database.app.withTenant(tenant, (trx) =>
    trx.insertInto('mail_deliveries').values({ tenant_id: tenant, key: `welcome:${person}`, message_id: `<${person}@example.test>`, status: 'sent', claim: null }).execute(),
  );
  const folder = newId();
  const versions: string[] = [];
  await database.app.withTenant(tenant, async (trx) => {
    await trx.insertInto('document_nodes').values({ tenant_id: tenant, id: folder, space_id: person, owner_id: person, group_id: null, parent_id: null, kind: 'folder', name: 'Cours', content_type: null, current_version_id: null }).execute();
    for (const name of ['notes.txt', 'thèse.pdf']) {
      const file = newId();
      const version = newId();
      versions.push(version);
      await trx.insertInto('document_nodes').values({ tenant_id: tenant, id: file, space_id: person, owner_id: person, group_id: null, parent_id: folder, kind: 'file', name, size: 5, content_type: 'text/plain', current_version_id: version }).execute();
      await trx.insertInto('document_versions').values({ tenant_id: tenant, id: version, node_id: file, object_key: tenantKey(tenant, 'documents', version), size: 5, content_type: 'text/plain', sha256: '0'.repeat(64), created_by: person }).execute();
      await trx.insertInto('document_shares').values({ tenant_id: tenant, id: newId(), node_id: file, person_id: other, group_id: null, access: 'read', created_by: person }).execute();
    }
    await trx.insertInto('document_usage').values({ tenant_id: tenant, space_id: person, used: 10, reserved: 0 }).execute();
    await trx.insertInto('notifications').values({ tenant_id: tenant, id: newId(), person_id: other, category: 'share', title: 'Partagé avec vous', link: '/documents' }).execute();
    await trx.insertInto('notification_preferences').values({ tenant_id: tenant, person_id: person, category: 'share', delivery: 'digest' }).execute();
    await trx.insertInto('usage_events').values({ tenant_id: tenant, id: newId(), occurred_at: new Date(), person_id: person, event: 'login', service: 'portal' }).execute();
    const aggregate = { tenant_id: tenant, service: '*', affiliation: '*', event: '*', events: 1, people: 1 };
    await trx.insertInto('usage_daily').values({ ...aggregate, day: '2026-11-02' }).execute();
    await trx.insertInto('usage_monthly').values({ ...aggregate, month: '2026-11-01' }).execute();
  });
  for (const [i, version] of versions.entries()) await storage.put(tenantKey(tenant, 'documents', version), Buffer.from(`${tenant} file ${i} \u00e9\0\xff`, 'latin1'));
  await storage.put(tenantKey(tenant, 'imports', 'annuaire.csv'), `uid;nom\n1;${tenant}\n`);
  await redis.set(`portique:tenant:${tenant}:session:${newId()}`, JSON.stringify({ tenant }));
  await redis.set(`portique:${tenant}:saml:request:${newId()}`, '{}', 'EX', 600);
  await redis.incr(`portique:documents:link-attempts:${tenant}:${newId()}`);
  const queue = new Queue(queueName(tenant, 'default'), { connection: redis, prefix: 'portique' });
  await queue.add('directory.import', { tenantId: tenant }, { delay: 3_600_000 });
  await queue.close();
}
const unrelated = `portique:offboard-test:${newId()}`;
await redis.set(unrelated, 'platform key naming no tenant', 'EX', 600);
t.teardown(() => redis.del(unrelated));

const tables = await tenantTables(database.owner.sql);

async function bytesOf(key: string): Promise<Buffer> {
  const body = (await storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: key }))).Body as Readable;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Everything a tenant has, per table (row count and a hash of every row), object and Redis key. */
async function fingerprint(tenant: string) {
  const rows: Record<string, { count: number; md5: string | null }> = {};
  await database.owner.sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenant}, true)`;
    for (const table of tables) {
      const [r] = await tx.unsafe(`select count(*)::int as count, md5(string_agg(to_jsonb(x)::text, '|' order by to_jsonb(x)::text)) as md5 from "${table}" x where tenant_id = $1`, [tenant]);
      rows[table] = { count: r!.count as number, md5: r!.md5 as string | null };
    }
  });
  const registry = await database.owner.sql`select t.slug, t.status, t.declaration, t.digest, array_agg(h.host order by h.host) as hosts from tenants t left join tenant_hosts h on h.tenant_id = t.id where t.id = ${tenant} group by t.id`;
  const listed = await storage.client.send(new ListObjectsV2Command({ Bucket: storage.bucket, Prefix: `${tenant}/` }));
  const objects: Record<string, string> = {};
  for (const o of listed.Contents ?? []) objects[o.Key!] = createHash('sha256').update(await bytesOf(o.Key!)).digest('hex');
  const keys = (await redis.keys(`*${tenant}*`)).sort();
  const redisState: Record<string, string> = {};
  for (const key of keys) redisState[key] = createHash('sha256').update((await redis.dump(key)) ?? '').digest('hex');
  return { rows, registry: registry.map((r) => ({ ...r })), objects, redis: redisState };
}

const bBefore = await fingerprint(B);
const aBefore = await fingerprint(A);
t.ok(tables.length >= 20, `tenant tables from the catalogue: ${tables.join(', ')}`);
t.ok(Object.values(aBefore.rows).filter((r) => r.count > 0).length >= 20, 'A has rows in most of them');
t.equal(Object.keys(aBefore.objects).length, 3);
t.ok(Object.keys(aBefore.redis).length >= 4, 'A has sessions, SAML state, rate-limit counters and queued jobs in Redis');

t.test('a tenant whose file disappears is only kept by apply, with everything it has', async (t) => {
  const file = join(tenantsDir, 'nord.yaml');
  const text = await readFile(file, 'utf8');
  await rm(file);
  const result = await applyTenants(database.owner.db, tenantsDir);
  t.same(result.changes.find((c) => c.slug === 'nord'), { kind: 'undeclared', slug: 'nord' });
  t.same(await fingerprint(A), aBefore, 'nothing of it changed');
  await writeFile(file, text);
  t.same((await applyTenants(database.owner.db, tenantsDir)).changes.map((c) => c.kind), ['unchanged', 'unchanged']);
});

let exported: { dir: string; manifest: ExportManifest };

t.test('purge is refused while the tenant is active, without confirmation, or without an export', async (t) => {
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord' }, origin), /nord is active: suspend it first/);
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord', noExport: true }, origin), /suspend it first/, '--no-export does not skip suspension');
  // An export taken while the tenant is still active does not count for a purge.
  exported = await exportTenant(deps, 'nord', join(work, 'early'), origin);
  t.ok(await setTenantStatus(database.app.db, A, 'suspended'));
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'sud' }, origin), /repeat its slug with --confirm nord/);
  await t.rejects(purgeTenant(deps, 'nord', { confirm: undefined }, origin), /--confirm nord/);
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord' }, origin), /predates its last change/);
  await t.rejects(purgeTenant(deps, 'nowhere', { confirm: 'nowhere', noExport: true }, origin), /no tenant "nowhere"/);
  const now = await fingerprint(A);
  t.same(now.rows, aBefore.rows, 'no row deleted');
  t.same(now.objects, aBefore.objects, 'no object deleted');
  t.same(now.redis, aBefore.redis, 'no Redis key deleted');
});

t.test('export: every table, every object, checksums that hold', async (t) => {
  await t.rejects(exportTenant(deps, 'nord', join(work, 'early'), origin), /already exists/, 'never over an earlier export');
  exported = await exportTenant(deps, 'nord', join(work, 'nord-export'), origin);
  const { dir, manifest } = exported;
  t.same(await verifyExport(dir), [], 'sha256sum -c SHA256SUMS holds');
  t.same(manifest.tables.map((x) => x.table).sort(), [...tables].sort(), 'every tenant table of the catalogue');
  for (const table of manifest.tables) {
    t.equal(table.rows, aBefore.rows[table.table]!.count, `${table.table}: ${table.rows} row(s)`);
    const lines = (await readFile(join(dir, table.file), 'utf8')).split('\n').filter(Boolean);
    t.equal(lines.length, table.rows);
    for (const line of lines) t.equal(JSON.parse(line).tenant_id, A, 'only A');
  }
  const keys = (await readFile(join(dir, 'tables/saml_sp_keys.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  t.ok(keys.length >= 1 && keys.every((k) => 'certificate' in k && !('private_key' in k)), 'SP keys without their sealed private key');
  const assets = (await readFile(join(dir, 'tables/tenant_assets.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const logo = assets.find((a) => a.name === 'logo.svg');
  t.same(Buffer.from(logo.body.slice(2), 'hex'), await readFile(join(tenantsDir, 'nord', 'logo.svg')), 'bytea as \\x<hex>, the exact bytes');
  t.equal(manifest.objects.length, 3);
  for (const object of manifest.objects) {
    const bytes = await readFile(join(dir, object.file));
    t.same(bytes, await bytesOf(object.key), `${object.key}: the same bytes`);
    t.equal(object.file, `objects/${object.key.slice(A.length + 1)}`);
  }
  const tenant = JSON.parse(await readFile(join(dir, 'tenant.json'), 'utf8'));
  t.equal(tenant.declaration.slug, 'nord');
  t.same(tenant.hosts, ['nord.localhost']);
  t.notMatch(await readFile(join(dir, 'tables/people.jsonl'), 'utf8'), B, 'nothing of B anywhere');
  const audit = await database.owner.db.selectFrom('operator_audit').selectAll().where('action', '=', 'export').where('tenant_id', '=', A).orderBy('at', 'desc').executeTakeFirstOrThrow();
  t.equal(audit.detail.dir, dir);
  t.equal(audit.actor, origin.actor.id);
});

t.test('purge refuses an export that was changed, moved away or is incomplete', async (t) => {
  const manifest = join(exported.dir, 'manifest.json');
  const text = await readFile(manifest, 'utf8');
  await writeFile(manifest, text.replace('"rows": ', '"rows": 1'));
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord' }, origin), /is changed/);
  await rm(manifest);
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord' }, origin), /is gone/);
  await writeFile(manifest, text);
  const object = join(exported.dir, exported.manifest.objects[0]!.file);
  const bytes = await readFile(object);
  await rm(object);
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord' }, origin), /is incomplete \(1 file\(s\) missing or changed, e\.g\. objects\/documents\//);
  await writeFile(object, Buffer.concat([bytes, Buffer.from('x')]));
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord' }, origin), /is incomplete/, 'a changed object too');
  await writeFile(object, bytes);
  const people = join(exported.dir, 'tables/people.jsonl');
  const lines = await readFile(people, 'utf8');
  await writeFile(people, lines.split('\n').slice(1).join('\n'));
  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord' }, origin), /is incomplete .*tables\/people\.jsonl/, 'a table file missing a row');
  await writeFile(people, lines);
  t.same((await fingerprint(A)).rows, aBefore.rows, 'still nothing deleted');
});

t.test('the command line refuses bad arguments before touching anything', async (t) => {
  await t.rejects(runOffboarding(deps, 'purge', []), /usage: portique tenants purge <slug> --confirm <slug>/);
  await t.rejects(runOffboarding(deps, 'purge', ['nord', '--confirm']), /--confirm needs a value/);
  await t.rejects(runOffboarding(deps, 'purge', ['nord', '--confirm', 'nord', '--force']), /unexpected: --force/);
  await t.rejects(runOffboarding(deps, 'export', ['nord', '--out']), /--out needs a value/);
  t.match(cliOrigin({ PORTIQUE_OPERATOR: 'alice@consortium.example' }).actor.id, 'alice@consortium.example');
  const env = { ...process.env, DATABASE_URL: database.appUrl, DATABASE_OWNER_URL: database.ownerUrl, REDIS_URL, S3_ENDPOINT: s3.config.endpoint, S3_BUCKET: s3.config.bucket, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER', S3_FORCE_PATH_STYLE: 'true', SMTP_URL: 'smtp://127.0.0.1:1025', NODE_ENV: 'test', PORTIQUE_OPERATOR: 'bob@consortium.example' };
  const cli = await promisify(execFile)('bin/portique', ['tenants', 'purge', 'nord'], { env }).catch((e: { code: number; stderr: string }) => e);
  t.equal((cli as { code: number }).code, 1, 'exits 1');
  t.match((cli as { stderr: string }).stderr, /refused: purging deletes everything nord has, for good: repeat its slug with --confirm nord/);
  // The command wired to the real services: an export of B (which changes nothing of B).
  const out = join(work, 'sud-by-cli');
  const exported = await promisify(execFile)('bin/portique', ['tenants', 'export', 'sud', '--out', out], { env });
  t.match(exported.stdout, /^exported sud: \d+ row\(s\) from \d+ table\(s\), 3 object\(s\)/);
  t.same(await verifyExport(out), []);
  const audit = await database.owner.db.selectFrom('operator_audit').select(['actor', 'ip']).where('tenant_id', '=', B).where('action', '=', 'export').executeTakeFirstOrThrow();
  t.same(audit, { actor: 'bob@consortium.example', ip: 'cli' }, 'who ran it, from the command line');
  t.same((await fingerprint(A)).rows, aBefore.rows);
});

t.test('purge deletes A everywhere and leaves B byte-identical', async (t) => {
  const output = await runOffboarding(deps, 'purge', ['nord', '--confirm', 'nord'], origin);
  t.match(output, /^purged nord/);
  t.match(output, /\n  people: 2\n/);
  t.match(output, /\n  document_versions: 2\n/, "rows deleted by a cascade are counted too");
  for (const [table, { count }] of Object.entries(aBefore.rows)) if (count > 0) t.match(output, `\n  ${table}: ${count}\n`);
  t.match(output, /S3 objects: 3/);
  t.match(output, /remove tenants\/nord\.yaml/);

  const after = await fingerprint(A);
  for (const table of tables) t.equal(after.rows[table]!.count, 0, `${table}: nothing of A left`);
  t.same(after.objects, {}, 'no object under its prefix');
  t.same(after.redis, {}, 'no Redis key naming it');
  t.same(after.registry, [], 'gone from the registry');
  t.same(await database.owner.sql`select host from tenant_hosts where host = 'nord.localhost'`, [], 'its host is free');

  t.same(await fingerprint(B), bBefore, 'B: every row, object and key exactly as before');
  t.equal(await redis.get(unrelated), 'platform key naming no tenant', 'keys of no tenant untouched');

  const trail = await database.owner.db.selectFrom('operator_audit').select(['action', 'tenant_slug', 'detail', 'actor']).where('tenant_id', '=', A).orderBy('at').execute();
  t.same(trail.map((r) => r.action), ['export', 'export', 'purge'], 'both exports and the purge are in the audit trail');
  t.match(trail.at(-1)!.detail, { objects: '3', export: exported.dir });
  t.same(await verifyExport(exported.dir), [], 'the export is left as it was');

  await t.rejects(purgeTenant(deps, 'nord', { confirm: 'nord', noExport: true }, origin), /no tenant "nord"/, 'a second purge finds nothing');
});

t.test('--no-export purges a suspended tenant without an export, said so in the audit trail', async (t) => {
  t.ok(await setTenantStatus(database.app.db, B, 'suspended'));
  const result = await purgeTenant(deps, 'sud', { confirm: 'sud', noExport: true }, origin);
  t.equal(result.exportDir, undefined);
  t.equal(result.objects, 3);
  const audit = await database.owner.db.selectFrom('operator_audit').select('detail').where('tenant_id', '=', B).where('action', '=', 'purge').executeTakeFirstOrThrow();
  t.equal(audit.detail.export, 'none (--no-export)');
  const left = await fingerprint(B);
  t.ok(Object.values(left.rows).every((r) => r.count === 0));
});
