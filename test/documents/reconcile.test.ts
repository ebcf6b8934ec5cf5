// documents.reconcile against the real S3 server and PostgreSQL: orphans made both ways (objects
// without rows, rows without objects), stale reservations, the grace period, another tenant's
// objects left alone, the report kept and shown to the tenant's admins only, a second run clean.
import t from 'tap';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { newId } from '../../src/platform/ids.js';
import { notify, type NotifyInput } from '../../src/notifications/service.js';
import { documentsReconcileJob, reconcileTenant } from '../../src/documents/reconcile.js';
import { JOBS } from '../../src/jobs/registry.js';
import { SCHEDULES } from '../../src/jobs/schedules.js';
import { testLog } from '../helpers/jobs.js';
import { bookkeeping, loginAs, objectsOf, send, sha256, startDocs, upload } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const alix = await loginAs(h, 'nord', 'alix@univ-nord.example');
const sam = await loginAs(h, 'sud', 'sam@univ-sud.example');
const nord = h.p.registry.byId(h.nord)!;
const HOUR = 3_600_000;

const fileOf = async (who: typeof alix, name: string, body: string) => {
  const res = await upload(h, who, name, Buffer.from(body));
  if (res.status !== 200) throw new Error(`upload ${name}: ${res.status} ${res.body}`);
  return JSON.parse(res.body.toString()).files[0] as { id: string };
};
const versionsOf = (nodeId: string) =>
  h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_versions').select(['id', 'object_key', 'size']).where('node_id', '=', nodeId).orderBy('created_at').execute());
const put = (key: string, body: string) => h.p.storage.client.send(new PutObjectCommand({ Bucket: h.p.storage.bucket, Key: key, Body: Buffer.from(body) }));
const remove = (key: string) => h.p.storage.client.send(new DeleteObjectCommand({ Bucket: h.p.storage.bucket, Key: key }));
const notices = (personId: string) =>
  h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('notifications').select(['title', 'body', 'category']).where('person_id', '=', personId).where('category', '=', 'documents' as never).execute());
const deps = { database: h.p.database.app, storage: h.p.storage, notify: (input: NotifyInput) => notify({ database: h.p.database.app }, input) };
// The clock two hours ahead: whatever was stored in this test is then two hours old.
const later = () => new Date(Date.now() + 2 * HOUR);

t.test('the job is registered and scheduled once a day', async (t) => {
  t.ok(JOBS.some((j) => j.name === 'documents.reconcile'));
  t.equal(SCHEDULES.filter((s) => s.job === 'documents.reconcile').length, 1);
});

t.test('objects without rows: young ones are left alone, old ones reported then removed; other tenants untouched', async (t) => {
  await fileOf(alix, 'garde.txt', 'gardé');
  const orphanA = `${h.nord}/documents/${newId()}`;
  const orphanB = `${h.nord}/documents/${newId()}`;
  const elsewhere = `${h.nord}/branding/${newId()}`;
  const sudOrphan = `${h.sud}/documents/${newId()}`;
  for (const key of [orphanA, orphanB, elsewhere, sudOrphan]) await put(key, 'orphelin');

  // Within the grace period (stored an hour ago at most, grace three hours): nothing is done.
  const young = await reconcileTenant(deps, nord, { now: later, graceMs: 3 * HOUR });
  t.equal(young.orphanObjectsCount, 0, 'an upload in flight could own them: not reported');
  t.ok((await objectsOf(h, h.nord)).includes(orphanA), 'not removed');

  const report = await reconcileTenant(deps, nord, { now: later, graceMs: HOUR });
  t.same(report.orphanObjects.map((o) => o.key).sort(), [orphanA, orphanB].sort(), 'both reported, with their keys');
  t.equal(report.orphanBytes, 2 * Buffer.byteLength('orphelin'));
  t.equal(report.missingObjectsCount, 0, 'every row has its object');
  const left = await objectsOf(h, h.nord);
  t.notOk(left.includes(orphanA) || left.includes(orphanB), 'removed from S3');
  t.equal(left.length, 1, 'the file with a row is kept');
  t.ok((await objectsOf(h, h.sud)).includes(sudOrphan), "another tenant's orphan is not this tenant's run's business");

  const again = await reconcileTenant(deps, nord, { now: later, graceMs: HOUR });
  t.equal(again.orphanObjectsCount, 0, 'a second run finds nothing');
  await remove(elsewhere);
  await remove(sudOrphan);
});

t.test('rows without objects: older version dropped, previous version made current, lonely file removed; space given back; owner told', async (t) => {
  const seul = await fileOf(alix, 'seul.txt', 'unique version');
  await fileOf(alix, 'historique.txt', 'version une');
  const historique = await fileOf(alix, 'historique.txt', 'version deux, plus longue');
  await fileOf(alix, 'ancien.txt', 'première');
  const ancien = await fileOf(alix, 'ancien.txt', 'seconde');
  const [seulV] = await versionsOf(seul.id);
  const [histOld, histNew] = await versionsOf(historique.id);
  const [ancienOld, ancienNew] = await versionsOf(ancien.id);
  for (const v of [seulV!, histNew!, ancienOld!]) await remove(v.object_key);
  const usedBefore = (await bookkeeping(h, alix)).used;

  const report = await reconcileTenant(deps, nord, { now: later, graceMs: HOUR });
  t.equal(report.missingObjectsCount, 3);
  const outcome = (id: string) => report.missingObjects.find((m) => m.versionId === id)?.outcome;
  t.equal(outcome(seulV!.id), 'file-removed');
  t.equal(outcome(histNew!.id), 'previous-version-current');
  t.equal(outcome(ancienOld!.id), 'version-dropped');
  t.equal(report.missingObjects.find((m) => m.versionId === histNew!.id)?.name, 'historique.txt', 'the report names the file');

  const after = await bookkeeping(h, alix);
  t.notOk(after.nodes.some((n) => n.id === seul.id), 'the file with nothing left is gone');
  t.equal(after.used, usedBefore - Number(seulV!.size) - Number(histNew!.size) - Number(ancienOld!.size), 'exactly the lost bytes are given back');

  const current = await send(h, alix, 'GET', `/documents/fichiers/${historique.id}`);
  t.equal(current.status, 200, 'the file still opens');
  t.equal(sha256(current.body), sha256(Buffer.from('version une')), 'with its previous content');
  t.same((await versionsOf(ancien.id)).map((v) => v.id), [ancienNew!.id], 'the lost old version left the history');
  t.equal((await send(h, alix, 'GET', `/documents/fichiers/${ancien.id}`)).body.toString(), 'seconde', 'the current version is untouched');
  t.same((await versionsOf(historique.id)).map((v) => v.id), [histOld!.id]);

  const told = await notices(alix.personId);
  t.equal(told.length, 3, 'one notification per file');
  t.ok(told.some((n) => n.title.includes('seul.txt') && /retiré de vos documents/.test(n.body)), 'says the file was removed, in words');
  t.ok(told.some((n) => n.title.includes('historique.txt') && /version précédente est redevenue/.test(n.body)));

  const again = await reconcileTenant(deps, nord, { now: later, graceMs: HOUR });
  t.equal(again.missingObjectsCount, 0, 'nothing left to find');
});

t.test('stale reservations are given back; a recent one (an upload in flight) stays', async (t) => {
  const reserve = async (bytes: number, age: number) =>
    h.p.database.app.withTenant(h.nord, async (trx) => {
      await trx.insertInto('document_reservations').values({ tenant_id: h.nord, id: newId(), space_id: alix.personId, bytes, created_at: new Date(Date.now() - age) }).execute();
      for (const space of [h.nord, alix.personId]) {
        await trx.updateTable('document_usage').set((eb) => ({ reserved: eb('reserved', '+', BigInt(bytes)) })).where('space_id', '=', space).execute();
      }
    });
  await reserve(5000, 30 * HOUR);
  await reserve(7000, 60_000);
  const before = await bookkeeping(h, alix);
  t.equal(before.reserved, 12000);
  const report = await reconcileTenant(deps, nord);
  t.equal(report.reservationsReleased, 1);
  t.equal(report.reservedBytesReleased, 5000);
  const after = await bookkeeping(h, alix);
  t.equal(after.reserved, 7000, 'only the crashed upload is given back');
  t.equal(after.reservations, 1);
  const tenantRow = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_usage').select('reserved').where('space_id', '=', h.nord).executeTakeFirstOrThrow());
  t.equal(Number(tenantRow.reserved), 7000, 'the tenant total too');
});

t.test('the job runs for its tenant and reports in its result', async (t) => {
  const jobDeps = { database: h.p.database.app, registry: h.p.registry, mailer: h.p.mailer, storage: h.p.storage, config: h.p.config };
  const result = (await documentsReconcileJob.handle({ tenantId: h.sud }, { jobId: 'test', attempt: 1, log: testLog }, jobDeps)) as { missingObjects: number; versionsListed: number };
  t.equal(result.missingObjects, 0);
  t.equal(result.versionsListed, 0, 'sud has no documents: nothing of nord is seen');
  await t.rejects(documentsReconcileJob.handle({ tenantId: newId() }, { jobId: 'test', attempt: 1, log: testLog }, jobDeps), /no tenant/);
});

t.test("the report is shown to the tenant's admins, and only to them", async (t) => {
  const page = await send(h, alix, 'GET', '/admin/documents/controles', { headers: { accept: 'text/html' } });
  t.equal(page.status, 403, 'a person without the admin role is refused');

  const eppn = 'admin@univ-nord.example';
  await loginAs(h, 'nord', eppn);
  await h.p.database.app.withTenant(h.nord, (trx) => trx.updateTable('people').set({ granted_roles: ['admin'] }).where('mail', '=', eppn).execute());
  const admin = await loginAs(h, 'nord', eppn);
  const html = await send(h, admin, 'GET', '/admin/documents/controles', { headers: { accept: 'text/html' } });
  t.equal(html.status, 200);
  const body = html.body.toString();
  t.match(body, /Contrôles des documents/);
  t.match(body, /Fichiers du stockage sans fiche, effacés : 2/);
  t.match(body, /historique\.txt/);
  t.match(body, /la version précédente est redevenue actuelle/);
  t.match(body, /Analyse antivirus : désactivée/);
  const json = JSON.parse((await send(h, admin, 'GET', '/admin/documents/controles')).body.toString());
  t.equal(json.virusScan, 'off');
  t.ok(json.runs.length >= 5);
  t.ok(json.runs.some((r: { orphanObjects: { key: string }[] }) => Array.isArray(r.orphanObjects) && r.orphanObjects.length === 2 && r.orphanObjects[0]!.key.startsWith(`${h.nord}/documents/`)), 'the lists are kept as lists');

  // sud's admin sees sud's reports only (RLS), and a nord session is refused on sud's host.
  await h.p.database.app.withTenant(h.sud, (trx) => trx.updateTable('people').set({ granted_roles: ['admin'] }).where('mail', '=', 'sam@univ-sud.example').execute());
  const sudAdmin = await loginAs(h, 'sud', 'sam@univ-sud.example');
  const sud = JSON.parse((await send(h, sudAdmin, 'GET', '/admin/documents/controles')).body.toString());
  t.equal(sud.runs.length, 1, "only sud's own run");
  t.equal(sud.runs[0].versionsListed, 0);
  const crossed = await send(h, { ...admin, host: sam.host }, 'GET', '/admin/documents/controles');
  t.not(crossed.status, 200, "a nord admin's session does not open sud's page");
});
