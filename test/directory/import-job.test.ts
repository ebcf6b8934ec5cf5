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

t.test('people an import deactivates lose their sessions at once; a dry run or a refused run ends none', async (t) => {
  const { directoryImportCsvJob } = await import('../../src/directory/jobs.js');
  const { testLog } = await import('../helpers/jobs.js');
  const { createSessionStore } = await import('../../src/identity/session-store.js');
  const sessions = createSessionStore(harness.queues.redis);
  const nord = harness.nord;
  const realm = { kind: 'tenant' as const, tenantId: nord };
  const csv = (ids: string[]) => Buffer.from(`id;sn;givenName\n${ids.map((id) => `${id}@univ-nord.example;Nom${id};Prénom`).join('\n')}\n`);
  const everyone = Array.from({ length: 30 }, (_, i) => `s${i}`);
  const runJob = async (body: Buffer, options: { dryRun?: boolean; forced?: boolean } = {}) => {
    const id = await imports.createCsvRun(nord, { fileName: 'x.csv', body, dryRun: options.dryRun ?? false, requestedBy: null, ...(options.forced ? { forced: true } : {}) });
    await directoryImportCsvJob.handle({ tenantId: nord, importId: id }, { jobId: 'test', attempt: 1, log: testLog }, harness.deps);
    return id;
  };
  await runJob(csv(everyone), { forced: true }); // forced: the people of the first test leave
  const personOf = async (externalId: string) =>
    (await harness.database.app.withTenant(nord, (trx) => trx.selectFrom('people').select(['id', 'status']).where('external_id', '=', `${externalId}@univ-nord.example`).executeTakeFirstOrThrow()));
  const leaver = await personOf('s0');
  const stayer = await personOf('s5');
  const login = (personId: string) =>
    sessions.create({ realm, personId, displayName: 'x', roles: ['student'], idpEntityId: 'idp', nameId: `n-${personId}`, nameIdFormat: undefined, sessionIndex: undefined, userAgent: 'tap' }, { idleMs: 600_000, absoluteMs: 3_600_000 });
  const leaverSession = await login(leaver.id);
  const stayerSession = await login(stayer.id);
  // In another tenant, the same person id (an attack on the realm) keeps its session.
  const sudSession = await sessions.create({ realm: { kind: 'tenant', tenantId: harness.sud }, personId: leaver.id, displayName: 'x', roles: [], idpEntityId: 'idp', nameId: 'n', nameIdFormat: undefined, sessionIndex: undefined, userAgent: 'tap' }, { idleMs: 600_000, absoluteMs: 3_600_000 });

  await runJob(csv(everyone.slice(5)), { dryRun: true });
  t.ok(await sessions.get(realm, leaverSession.id), 'a dry run ends no session');
  await runJob(csv(everyone.slice(5)));
  t.equal((await personOf('s0')).status, 'active', 'over the 5 % threshold: nothing deactivated');
  t.ok(await sessions.get(realm, leaverSession.id), 'and no session ended');

  const forced = await runJob(csv(everyone.slice(5)), { forced: true });
  t.equal((await personOf('s0')).status, 'deactivated');
  t.notOk(await sessions.get(realm, leaverSession.id), "the deactivated person's session is over");
  t.ok(await sessions.get(realm, stayerSession.id), 'the others keep theirs');
  t.ok(await sessions.get({ kind: 'tenant', tenantId: harness.sud }, sudSession.id), "another tenant's session is untouched");
  t.equal((await imports.deactivatedBy(nord, forced)).length, 5, 'the five people the forced run deactivated');
  t.ok((await imports.deactivatedBy(nord, forced)).includes(leaver.id));
  t.same(await imports.deactivatedBy(harness.sud, forced), [], 'the run is not seen from another tenant');

  // A session opened again before a repeated job (worker died after the commit): it ends too.
  const again = await login(leaver.id);
  await directoryImportCsvJob.handle({ tenantId: nord, importId: forced }, { jobId: 'test', attempt: 2, log: testLog }, harness.deps);
  t.notOk(await sessions.get(realm, again.id), 'a repeated job ends it as well');

  const withoutStore = { ...harness.deps, sessions: undefined };
  const another = await imports.createCsvRun(nord, { fileName: 'x.csv', body: csv(everyone.slice(6)), dryRun: false, requestedBy: null, forced: true });
  await t.rejects(directoryImportCsvJob.handle({ tenantId: nord, importId: another }, { jobId: 'test', attempt: 1, log: testLog }, withoutStore), /session store/, 'a worker that cannot end sessions says so');
});
