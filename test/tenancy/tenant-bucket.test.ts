// `tenants apply` and offboarding with a tenant's own bucket (declaration storage.bucket), against
// s3rver: a bad bucket name is refused naming file, field and reason; a bucket that cannot be
// reached or created stops the apply before anything is written; a declared bucket is created;
// the bucket of a tenant holding documents cannot be changed; export and purge take the tenant's
// objects from both its bucket and the regional one, and leave the other tenant's alone.
import t from 'tap';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseDocument } from 'yaml';
import { newId } from '../../src/platform/ids.js';
import { createStorage, tenantKey } from '../../src/platform/storage.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { exportTenant, purgeTenant } from '../../src/tenancy/offboard.js';
import { setTenantStatus } from '../../src/tenancy/status.js';
import { insertPerson } from '../helpers/fixtures.js';
import { startOffboardingDeps } from './offboard-harness.js';
import '../../src/documents/tables.js';

const { database, s3, storage, redis } = await startOffboardingDeps(t);
const origin = { actor: { id: 'bucket-test@consortium.example', displayName: 'Test' }, ip: 'cli', requestId: newId() };

const dir = await mkdtemp(join(tmpdir(), 'portique-bucket-tenants-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await cp('tenants', dir, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'portique-bucket-export-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

async function declare(slug: string, bucket: string | undefined, extra: Record<string, unknown> = {}) {
  const file = join(dir, `${slug}.yaml`);
  const doc = parseDocument(await readFile(file, 'utf8'));
  doc.deleteIn(['storage']);
  if (bucket !== undefined) doc.setIn(['storage', 'bucket'], bucket);
  for (const [k, v] of Object.entries(extra)) doc.setIn([k], v);
  await writeFile(file, doc.toString());
}
const registry = () => database.owner.db.selectFrom('tenants').select(['slug', 'declaration']).orderBy('slug').execute();
const keys = async (bucket: string, prefix: string) =>
  ((await storage.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();
const bucketExists = (bucket: string) => storage.client.send(new HeadBucketCommand({ Bucket: bucket })).then(() => true, () => false);

t.test('a bad bucket name is refused with file, field and reason; nothing is written', async (t) => {
  for (const bad of ['Ent_Nord', 'ab', '192.168.0.1', 'ent..nord', 'xn--nord', `n${'o'.repeat(63)}`]) {
    await declare('nord', bad);
    const error = await applyTenants(database.owner.db, dir, { storage }).catch((e: unknown) => e);
    t.match(String(error), new RegExp(`nord\\.yaml: storage\\.bucket: expected an S3 bucket name: .*got ${JSON.stringify(bad).replace(/\./g, '\\.')}`), `${bad} refused`);
  }
  await declare('nord', 'ent-univ-nord', {});
  const doc = parseDocument(await readFile(join(dir, 'nord.yaml'), 'utf8'));
  doc.setIn(['storage', 'region'], 'eu-west-3');
  await writeFile(join(dir, 'nord.yaml'), doc.toString());
  t.match(String(await applyTenants(database.owner.db, dir, { storage }).catch((e: unknown) => e)), /nord\.yaml: storage\.region: unknown key/);
  t.same(await registry(), [], 'no tenant written');
  t.notOk(await bucketExists('ent-univ-nord'), 'no bucket created for a refused declaration');
});

t.test('a bucket that cannot be reached or created stops the apply, naming the bucket', async (t) => {
  await declare('nord', 'ent-univ-nord');
  const closed = createStorage({ ...s3.config, endpoint: 'http://127.0.0.1:9' });
  t.teardown(() => closed.close());
  const error = await applyTenants(database.owner.db, dir, { storage: closed }).catch((e: unknown) => e);
  t.match(String(error), /nord\.yaml: storage\.bucket: bucket ent-univ-nord is not usable by Portique/);
  t.same(await registry(), [], 'nothing written');
});

t.test('apply creates the declared bucket; sud stays regional', async (t) => {
  await declare('nord', 'ent-univ-nord');
  const result = await applyTenants(database.owner.db, dir, { storage });
  t.same(result.changes.map((c) => c.kind), ['create', 'create']);
  t.ok(await bucketExists('ent-univ-nord'), 'created in s3rver');
  const rows = await registry();
  t.same(rows.map((r) => (r.declaration as { storage?: { bucket?: string } }).storage?.bucket), ['ent-univ-nord', undefined]);
  t.same((await applyTenants(database.owner.db, dir, { storage })).changes.map((c) => c.kind), ['unchanged', 'unchanged'], 'again: exists, nothing to do');
});

const ids = async () => Object.fromEntries((await database.owner.db.selectFrom('tenants').select(['id', 'slug']).execute()).map((r) => [r.slug, r.id])) as Record<string, string>;

t.test('the bucket of a tenant holding documents cannot be changed', async (t) => {
  const { nord } = await ids();
  // No document yet: moving is allowed (and back).
  await declare('nord', 'ent-nord-autre');
  t.same((await applyTenants(database.owner.db, dir, { storage })).changes.find((c) => c.slug === 'nord'), { kind: 'update', slug: 'nord', what: ['storage'] });
  await declare('nord', 'ent-univ-nord');
  await applyTenants(database.owner.db, dir, { storage });

  const person = await insertPerson(database.app, nord!);
  await database.app.withTenant(nord!, async (trx) => {
    const file = newId();
    const version = newId();
    await trx.insertInto('document_nodes').values({ tenant_id: nord!, id: file, space_id: person, owner_id: person, group_id: null, parent_id: null, kind: 'file', name: 'a.txt', size: 1, content_type: 'text/plain', current_version_id: version }).execute();
    await trx.insertInto('document_versions').values({ tenant_id: nord!, id: version, node_id: file, object_key: tenantKey(nord!, 'documents', version), size: 1, content_type: 'text/plain', sha256: '0'.repeat(64), created_by: person }).execute();
  });
  for (const next of ['ent-nord-autre', undefined]) {
    await declare('nord', next);
    const error = await applyTenants(database.owner.db, dir, { storage }).catch((e: unknown) => e);
    t.match(String(error), /nord\.yaml: storage\.bucket: cannot change from ent-univ-nord to .*: the tenant has 1 stored document version\(s\) there/, `to ${next ?? 'regional'}: refused`);
  }
  t.equal(((await registry())[0]!.declaration as { storage?: { bucket?: string } }).storage?.bucket, 'ent-univ-nord', 'the registry still says ent-univ-nord');
  await declare('nord', 'ent-univ-nord');
});

t.test('export and purge take the tenant objects from its bucket and the regional one; the other tenant keeps its own', async (t) => {
  const { nord, sud } = await ids();
  const doc = tenantKey(nord!, 'documents', newId());
  const photo = tenantKey(nord!, 'directory', 'photos', newId());
  const sudDoc = tenantKey(sud!, 'documents', newId());
  await storage.client.send(new PutObjectCommand({ Bucket: 'ent-univ-nord', Key: doc, Body: Buffer.from('document de nord') }));
  await storage.client.send(new PutObjectCommand({ Bucket: s3.config.bucket, Key: photo, Body: Buffer.from('photo de nord') }));
  await storage.client.send(new PutObjectCommand({ Bucket: s3.config.bucket, Key: sudDoc, Body: Buffer.from('document de sud') }));
  // Another tenant's key in nord's bucket (should never happen): not nord's, so left alone.
  const stray = tenantKey(sud!, 'documents', newId());
  await storage.client.send(new PutObjectCommand({ Bucket: 'ent-univ-nord', Key: stray, Body: Buffer.from('pas à nord') }));

  t.ok(await setTenantStatus(database.app.db, nord!, 'suspended'));
  const out = join(work, 'nord');
  const exported = await exportTenant({ owner: database.owner, storage, redis }, 'nord', out, origin);
  t.same(exported.manifest.objects.map((o) => o.key).sort(), [doc, photo].sort(), 'both buckets exported');
  t.equal(await readFile(join(out, 'objects', doc.slice(nord!.length + 1)), 'utf8'), 'document de nord', 'the document from ent-univ-nord');
  t.equal(await readFile(join(out, 'objects', photo.slice(nord!.length + 1)), 'utf8'), 'photo de nord', 'the photo from the regional bucket');

  const purged = await purgeTenant({ owner: database.owner, storage, redis }, 'nord', { confirm: 'nord' }, origin);
  t.equal(purged.objects, 2);
  t.same(await keys('ent-univ-nord', `${nord}/`), [], "nothing of nord's left in its bucket");
  t.same(await keys(s3.config.bucket, `${nord}/`), [], 'nor in the regional one');
  t.same(await keys(s3.config.bucket, `${sud}/`), [sudDoc], "sud's object untouched");
  t.same(await keys('ent-univ-nord', `${sud}/`), [stray], "a sud key in nord's bucket is not nord's to purge");
});
