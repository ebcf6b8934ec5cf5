// A tenant with its own bucket (declaration storage.bucket), against the real S3 server: nord
// declares ent-univ-nord (created by `tenants apply`), sud keeps the regional bucket. Every way
// documents reach S3 (multipart form, PUT, copy, download, delete, trash purge job, reconciliation)
// uses the tenant's bucket; keys still start with the tenant id; nothing lands in the other bucket.
import t from 'tap';
import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { newId } from '../../src/platform/ids.js';
import { bucketFor } from '../../src/platform/storage.js';
import { reconcileTenant } from '../../src/documents/reconcile.js';
import { createDocumentsService } from '../../src/documents/service.js';
import { loginAs, objectsOf, send, startDocs, upload } from './helpers.js';

const OWN = 'ent-univ-nord';
const h = await startDocs({ nordBucket: OWN });
t.teardown(() => h.close());
const alix = await loginAs(h, 'nord', 'alix@univ-nord.example');
const sam = await loginAs(h, 'sud', 'sam@univ-sud.example');
const nord = h.p.registry.byId(h.nord)!;
const sud = h.p.registry.byId(h.sud)!;
const REGIONAL = h.p.storage.bucket;
const json = { 'content-type': 'application/json' };
const HOUR = 3_600_000;

const fileOf = (res: { status: number; body: Buffer }) => {
  if (res.status !== 200) throw new Error(`upload: ${res.status} ${res.body}`);
  const body = JSON.parse(res.body.toString());
  return (body.files?.[0] ?? body.file) as { id: string };
};
const keyOf = async (tenantId: string, fileId: string) =>
  (await h.p.database.app.withTenant(tenantId, (trx) => trx.selectFrom('document_versions').select('object_key').where('node_id', '=', fileId).orderBy('created_at', 'desc').executeTakeFirstOrThrow())).object_key;

t.test('apply created the declared bucket; bucketFor names it for nord, the regional one for sud', async (t) => {
  await t.resolves(h.p.storage.client.send(new HeadBucketCommand({ Bucket: OWN })), 'ent-univ-nord exists in s3rver');
  t.equal(bucketFor(h.p.storage, nord), OWN);
  t.equal(bucketFor(h.p.storage, sud), REGIONAL);
  t.not(OWN, REGIONAL);
});

t.test('uploads land in the tenant bucket, under the tenant prefix, and come back', async (t) => {
  const form = fileOf(await upload(h, alix, 'cours.txt', Buffer.from('cours de nord')));
  const body = Buffer.from('rapport de nord, par PUT');
  const put = fileOf(await send(h, alix, 'PUT', `/documents/fichiers?nom=rapport.txt`, { headers: { 'content-type': 'application/octet-stream', 'content-length': body.length }, body }));
  const own = await objectsOf(h, h.nord, OWN);
  const formKey = await keyOf(h.nord, form.id);
  const putKey = await keyOf(h.nord, put.id);
  t.ok(formKey.startsWith(`${h.nord}/documents/`) && putKey.startsWith(`${h.nord}/documents/`), 'keys carry the tenant');
  t.same(own.sort(), [formKey, putKey].sort(), 'both objects are in ent-univ-nord');
  t.same(await objectsOf(h, h.nord, REGIONAL), [], 'none in the regional bucket');
  t.equal((await send(h, alix, 'GET', `/documents/fichiers/${form.id}`)).body.toString(), 'cours de nord', 'multipart upload reads back');
  t.equal((await send(h, alix, 'GET', `/documents/fichiers/${put.id}`)).body.toString(), body.toString(), 'PUT upload reads back');
  const range = await send(h, alix, 'GET', `/documents/fichiers/${form.id}`, { headers: { range: 'bytes=0-3' } });
  t.equal(range.body.toString(), 'cour', 'a range read from the tenant bucket');

  // sud, with no bucket of its own: regional, and nothing of it in nord's bucket.
  const sudFile = fileOf(await upload(h, sam, 'sud.txt', Buffer.from('contenu de sud')));
  t.same(await objectsOf(h, h.sud, REGIONAL), [await keyOf(h.sud, sudFile.id)], "sud's object is in the regional bucket");
  t.same(await objectsOf(h, h.sud, OWN), [], "and not in nord's");
  t.equal((await send(h, sam, 'GET', `/documents/fichiers/${sudFile.id}`)).body.toString(), 'contenu de sud');
});

t.test('copy, delete and purge work in the tenant bucket', async (t) => {
  const folder = JSON.parse((await send(h, alix, 'POST', '/documents/dossiers', { headers: json, body: JSON.stringify({ nom: 'Copies' }) })).body.toString());
  const file = fileOf(await upload(h, alix, 'a-copier.txt', Buffer.from('à copier'), folder.id));
  const before = (await objectsOf(h, h.nord, OWN)).length;
  t.equal((await send(h, alix, 'POST', `/documents/elements/${folder.id}/copier`, { headers: json, body: '{}' })).status, 200);
  t.equal((await objectsOf(h, h.nord, OWN)).length, before + 1, 'the copied object is in ent-univ-nord');
  t.same(await objectsOf(h, h.nord, REGIONAL), [], 'still nothing regional');

  await send(h, alix, 'POST', `/documents/elements/${file.id}/supprimer`, { headers: json, body: '{}' });
  const key = await keyOf(h.nord, file.id);
  t.equal((await send(h, alix, 'POST', '/documents/corbeille/vider', { headers: json, body: '{}' })).status, 200);
  t.notOk((await objectsOf(h, h.nord, OWN)).includes(key), 'emptying the trash deletes the object from ent-univ-nord');

  // The retention job's path (purgeTrashedBefore with the tenant).
  const old = fileOf(await upload(h, alix, 'vieux.txt', Buffer.from('vieux')));
  const oldKey = await keyOf(h.nord, old.id);
  await send(h, alix, 'POST', `/documents/elements/${old.id}/supprimer`, { headers: json, body: '{}' });
  const documents = createDocumentsService({ database: h.p.database.app, storage: h.p.storage });
  t.equal(await documents.purgeTrashedBefore(nord, new Date(Date.now() + HOUR)), 1);
  t.notOk((await objectsOf(h, h.nord, OWN)).includes(oldKey), 'the trash job deletes from ent-univ-nord');
});

t.test('reconciliation reads the tenant bucket, and only it', async (t) => {
  const orphan = `${h.nord}/documents/${newId()}`;
  const regionalStray = `${h.nord}/documents/${newId()}`;
  await h.p.storage.client.send(new PutObjectCommand({ Bucket: OWN, Key: orphan, Body: Buffer.from('orphelin') }));
  await h.p.storage.client.send(new PutObjectCommand({ Bucket: REGIONAL, Key: regionalStray, Body: Buffer.from('ailleurs') }));
  const deps = { database: h.p.database.app, storage: h.p.storage };
  const report = await reconcileTenant(deps, nord, { now: () => new Date(Date.now() + 2 * HOUR), graceMs: HOUR });
  t.equal(report.bucket, OWN, 'the report names ent-univ-nord');
  t.same(report.orphanObjects.map((o) => o.key), [orphan], 'the orphan in the tenant bucket is found');
  t.equal(report.missingObjectsCount, 0, 'every version has its object there: none reported lost');
  t.notOk((await objectsOf(h, h.nord, OWN)).includes(orphan), 'and removed');
  t.same(await objectsOf(h, h.nord, REGIONAL), [regionalStray], 'the regional bucket is not touched for nord');

  const sudReport = await reconcileTenant(deps, sud, { now: () => new Date(Date.now() + 2 * HOUR), graceMs: HOUR });
  t.equal(sudReport.bucket, REGIONAL);
  t.equal(sudReport.missingObjectsCount, 0, "sud's versions are found in the regional bucket");
  t.equal(sudReport.objectsListed, 1);
});
