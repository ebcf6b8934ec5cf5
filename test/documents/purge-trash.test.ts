// documents.purge-trash: items trashed longer than the tenant's retention are deleted for good
// (rows, objects, quota given back); what was trashed recently stays; a second run does nothing.
import t from 'tap';
import { documentsPurgeTrashJob } from '../../src/documents/jobs.js';
import { SCHEDULES } from '../../src/jobs/schedules.js';
import { testLog } from '../helpers/jobs.js';
import { bookkeeping, loginAs, objectsOf, send, startDocs, upload } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const alix = await loginAs(h, 'nord', 'alix@univ-nord.example');
const json = { 'content-type': 'application/json' };
const fileOf = async (name: string, body: string) => JSON.parse((await upload(h, alix, name, Buffer.from(body))).body.toString()).files[0] as { id: string };
const deps = { database: h.p.database.app, registry: h.p.registry, mailer: h.p.mailer, storage: h.p.storage, config: h.p.config };
const run = () => documentsPurgeTrashJob.handle({ tenantId: h.nord }, { jobId: 'test', attempt: 1, log: testLog }, deps);

t.test('it is scheduled', async (t) => {
  t.ok(SCHEDULES.some((s) => s.job === 'documents.purge-trash'));
});

t.test('old trash is purged, recent trash stays', async (t) => {
  const old = await fileOf('ancien.txt', 'ancien contenu');
  const recent = await fileOf('recent.txt', 'récent');
  for (const file of [old, recent]) await send(h, alix, 'POST', `/documents/elements/${file.id}/supprimer`, { headers: json, body: '{}' });
  // 31 days ago for the old one (the demo tenant keeps its trash 30 days).
  await h.p.database.app.withTenant(h.nord, (trx) =>
    trx.updateTable('document_nodes').set({ deleted_at: new Date(Date.now() - 31 * 86_400_000) }).where('id', '=', old.id).execute(),
  );
  const objectsBefore = await objectsOf(h, h.nord);
  const usedBefore = (await bookkeeping(h, alix)).used;

  t.same(await run(), { purged: 1 });
  const after = await bookkeeping(h, alix);
  t.same(after.nodes.map((n) => n.id), [recent.id], 'only the recent item is left (in the trash)');
  t.equal(after.used, usedBefore - Buffer.byteLength('ancien contenu'), 'its space is given back');
  t.equal((await objectsOf(h, h.nord)).length, objectsBefore.length - 1, 'its object is deleted');
  const trash = JSON.parse((await send(h, alix, 'GET', '/documents/corbeille')).body.toString());
  t.same(trash.items.map((i: { id: string }) => i.id), [recent.id]);

  t.same(await run(), { purged: 0 }, 'a second run finds nothing');
});
