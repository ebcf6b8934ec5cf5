// The CSV import as a real job: enqueued by name, run by a worker, its run record shows the result;
// a second enqueue with the same key is the same job (the run is not applied twice).
import t from 'tap';
import { createImports } from '../../src/directory/imports.js';
import { startJobsHarness } from '../helpers/jobs.js';

const harness = await startJobsHarness();
t.teardown(() => harness.close());
const imports = createImports(harness.database.app);

t.test('directory.import-csv runs in a worker and records its report', async (t) => {
  await harness.startWorker();
  const body = Buffer.from('id;sn;givenName\na@univ-nord.example;Arnaud;Anne\nb@univ-nord.example;Bernard;Basile\n');
  const id = await imports.createCsvRun(harness.nord, { fileName: 'people.csv', body, dryRun: false, requestedBy: null });
  const first = await harness.jobs.enqueue('directory.import-csv', { tenantId: harness.nord, importId: id }, { key: id });
  const again = await harness.jobs.enqueue('directory.import-csv', { tenantId: harness.nord, importId: id }, { key: id });
  t.equal(again.id, first.id, 'same key, same job');
  let run = await imports.get(harness.nord, id);
  for (let i = 0; i < 200 && run.status !== 'succeeded' && run.status !== 'failed'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    run = await imports.get(harness.nord, id);
  }
  t.equal(run.status, 'succeeded');
  t.equal(run.progress, 100);
  t.match(run.counts, { create: 2 });
  t.notOk(run.hasFile, 'the file of a finished real run is removed; the report stays');
  await t.rejects(harness.jobs.enqueue('directory.import-csv', { tenantId: harness.nord, importId: 'nope' } as never), /importId/, 'a bad payload is refused at enqueue');
});

t.test('directory.purge-deactivated removes deactivated people after the retention period only', async (t) => {
  const { directoryPurgeDeactivatedJob } = await import('../../src/directory/jobs.js');
  const { testLog } = await import('../helpers/jobs.js');
  const { addPerson } = await import('./helpers.js');
  const db = harness.database.app;
  const old = await addPerson(db, harness.nord, { status: 'deactivated' });
  const recent = await addPerson(db, harness.nord, { status: 'deactivated' });
  const active = await addPerson(db, harness.nord);
  await db.withTenant(harness.nord, async (trx) => {
    await trx.updateTable('people').set({ deactivated_at: new Date(Date.now() - 400 * 86_400_000) }).where('id', '=', old).execute();
    await trx.updateTable('people').set({ deactivated_at: new Date(Date.now() - 86_400_000) }).where('id', '=', recent).execute();
  });
  const result = await directoryPurgeDeactivatedJob.handle({ tenantId: harness.nord }, { jobId: 'test', attempt: 1, log: testLog }, harness.deps);
  t.same(result, { removed: 1, kept: 0 });
  const left = await db.withTenant(harness.nord, (trx) => trx.selectFrom('people').select('id').where('id', 'in', [old, recent, active]).execute());
  t.same(left.map((r) => r.id).sort(), [recent, active].sort());
});

t.test('whoever started an import is told when it finishes (once, even if the job runs twice)', async (t) => {
  const { directoryImportCsvJob } = await import('../../src/directory/jobs.js');
  const { testLog } = await import('../helpers/jobs.js');
  const { addPerson } = await import('./helpers.js');
  const db = harness.database.app;
  const admin = await addPerson(db, harness.sud, { source: 'login' });
  const body = Buffer.from('id;sn;givenName\nc@univ-sud.example;Caron;Claire\n');
  const id = await imports.createCsvRun(harness.sud, { fileName: 'more.csv', body, dryRun: false, requestedBy: admin });
  const run = () => directoryImportCsvJob.handle({ tenantId: harness.sud, importId: id }, { jobId: 'test', attempt: 1, log: testLog }, harness.deps);
  t.same(await run(), { status: 'succeeded' });
  t.same(await run(), { status: 'succeeded' }, 'a duplicate run changes nothing');
  const notices = await db.withTenant(harness.sud, (trx) => trx.selectFrom('notifications').select(['category', 'title', 'link']).where('person_id', '=', admin).execute());
  t.equal(notices.length, 1, 'one notice');
  t.equal(notices[0]?.category, 'import');
  t.match(notices[0]?.title, "Import de l'annuaire terminé : 1 créés");
  t.equal(notices[0]?.link, `/admin/annuaire/imports/${id}`);
});
