// LDAP sync against a real slapd: a full reconcile, an incremental sync by modifyTimestamp, the
// deactivation threshold, and an LDAP that is down or too slow (run failed, directory unchanged).
import t from 'tap';
import { createServer } from 'node:net';
import { syncLdap } from '../../src/directory/ldap.js';
import type { Declaration } from '../../src/tenancy/declaration.js';
import type { JobDeps } from '../../src/jobs/deps.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { createTestDatabase } from '../helpers/db.js';
import { GROUPS_DN, PEOPLE_DN, ROOT_DN, ROOT_PW, startLdap } from './ldap-server.js';

const ldap = await startLdap();
t.teardown(() => ldap.close());
const database = await createTestDatabase();
t.teardown(() => database.drop());
await applyTenants(database.owner.db, 'tenants');
const rows = await database.app.db.selectFrom('tenants').select(['id', 'slug', 'declaration']).execute();
const nordRow = rows.find((r) => r.slug === 'nord')!;
const sudId = rows.find((r) => r.slug === 'sud')!.id;
const db = database.app;
const env = { TEST_LDAP_SECRET: ROOT_PW };

const tenantWith = (ldapConfig: object) => ({
  id: nordRow.id,
  declaration: { ...(nordRow.declaration as Declaration), directory: { ldap: { bindDn: ROOT_DN, bindSecretEnv: 'TEST_LDAP_SECRET', baseDn: PEOPLE_DN, url: ldap.url, timeoutMs: 3000, ...ldapConfig } } } as Declaration,
});
const nord = tenantWith({});
const person = (eppn: string) => db.withTenant(nord.id, (trx) => trx.selectFrom('people').selectAll().where('external_id', '=', eppn).executeTakeFirst());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ascii = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
const entry = (given: string, sn: string, extra: Record<string, string | string[]> = {}) => ({
  givenName: given,
  sn,
  displayName: `${given} ${sn}`,
  mail: `${ascii(given)}.${ascii(sn)}@univ-nord.example`,
  eduPersonPrincipalName: `${ascii(given)}.${ascii(sn)}@univ-nord.example`,
  eduPersonAffiliation: ['student', 'member'],
  supannEntiteAffectation: 'UFR Sciences',
  ...extra,
});

t.test('full reconcile creates the people of the LDAP with their SUPANN attributes', async (t) => {
  for (let i = 0; i < 20; i++) await ldap.addPerson(`etu${i}`, entry(`Etu${i}`, 'Lambda', { supannEtuEtape: 'L3INF' }));
  await ldap.addPerson('helene', entry('Hélène', 'Dupont', { eduPersonAffiliation: ['staff'], supannListeRouge: 'TRUE', title: 'Directrice' }));
  const outcome = await syncLdap(db, nord, 'full', { env });
  t.equal(outcome?.status, 'succeeded');
  t.match(outcome?.counts, { create: 21, deactivate: 0 });
  const helene = await person('helene.dupont@univ-nord.example');
  t.match(helene, { display_name: 'Hélène Dupont', red_list: true, title: 'Directrice', source: 'ldap', affiliations: ['staff'] });
  t.same((await person('etu3.lambda@univ-nord.example'))?.attributes, { supannEtuEtape: ['L3INF'] });
  const again = await syncLdap(db, nord, 'full', { env });
  t.match(again?.counts, { create: 0, update: 0, unchanged: 21 }, 'a second full run changes nothing');
});

t.test('incremental sync reads only what changed since the last run', async (t) => {
  await sleep(1100); // modifyTimestamp has a one-second resolution
  await ldap.modify('etu1', { sn: 'Nouveau', displayName: 'Etu1 Nouveau' });
  await ldap.addPerson('new', entry('Nina', 'Neuve'));
  const outcome = await syncLdap(db, nord, 'incremental', { env });
  t.equal(outcome?.status, 'succeeded');
  t.match(outcome?.counts, { create: 1, update: 1, deactivate: 0 });
  // The high-water mark is inclusive (entries of its very second are read again, harmlessly).
  const next = await syncLdap(db, nord, 'incremental', { env });
  t.match(next?.counts, { lines: 2, create: 0, update: 0, unchanged: 2 }, 'the next run reads only the two changed entries');
  t.equal((await person('etu1.lambda@univ-nord.example'))?.family_name, 'Nouveau');
  t.ok(await person('nina.neuve@univ-nord.example'));
  const state = await db.withTenant(nord.id, (trx) => trx.selectFrom('directory_sync_state').select('high_water').executeTakeFirstOrThrow());
  t.match(state.high_water, /^\d{14}Z$/);
});

t.test('people gone from the LDAP: deactivated by a full run, over the threshold only when forced', async (t) => {
  await ldap.remove('etu2');
  await ldap.remove('etu3');
  const stopped = await syncLdap(db, nord, 'full', { env });
  t.equal(stopped?.status, 'needs_force', '2 of 22 is over 5%');
  t.equal((await person('etu2.lambda@univ-nord.example'))?.status, 'active');
  const incremental = await syncLdap(db, nord, 'incremental', { env });
  t.match(incremental?.counts, { deactivate: 0 }, 'an incremental run never deactivates');
  const forced = await syncLdap(db, nord, 'full', { env, forced: true });
  t.equal(forced?.status, 'succeeded');
  t.match(forced?.counts, { deactivate: 2 });
  t.equal((await person('etu2.lambda@univ-nord.example'))?.status, 'deactivated', 'kept, deactivated');
  const sudPeople = await db.withTenant(sudId, (trx) => trx.selectFrom('people').select('id').execute());
  t.same(sudPeople, [], 'another tenant is untouched');
});

t.test('SUPANN groups under groupsBaseDn: created with their description, members mapped from DNs, reconciled by full runs', async (t) => {
  const withGroups = tenantWith({ groupsBaseDn: GROUPS_DN });
  // Spaces and case in a member DN do not matter; another group or an unknown DN is not a person.
  await ldap.addGroup('L3 Informatique', ['etu0', 'etu1', ldap.dnOf('helene').toUpperCase().replace(/,/g, ', '), `cn=Autre groupe,${GROUPS_DN}`, `uid=inconnu,${PEOPLE_DN}`], { description: 'Licence 3 informatique, promotion 2026' });
  await ldap.addGroup('CM-ALGO', ['etu4', 'etu5'], { unique: true });
  const members = async (name: string) =>
    (
      await db.withTenant(nord.id, (trx) =>
        trx
          .selectFrom('group_members')
          .innerJoin('groups', (j) => j.onRef('groups.tenant_id', '=', 'group_members.tenant_id').onRef('groups.id', '=', 'group_members.group_id'))
          .innerJoin('people', (j) => j.onRef('people.tenant_id', '=', 'group_members.tenant_id').onRef('people.id', '=', 'group_members.person_id'))
          .select('people.external_id')
          .where('groups.name', '=', name)
          .execute(),
      )
    )
      .map((r) => r.external_id.split('@')[0])
      .sort();
  const group = (name: string) => db.withTenant(nord.id, (trx) => trx.selectFrom('groups').select(['kind', 'description', 'source_key']).where('name', '=', name).executeTakeFirst());

  const first = await syncLdap(db, withGroups, 'full', { env });
  t.equal(first?.status, 'succeeded');
  t.match(first?.counts, { groups: 2, unknownMembers: 2, groupsCreated: 2, membershipsAdded: 5 });
  t.same(await members('L3 Informatique'), ['etu0.lambda', 'etu1.lambda', 'helene.dupont']);
  t.same(await members('CM-ALGO'), ['etu4.lambda', 'etu5.lambda'], 'groupOfUniqueNames too');
  t.match(await group('L3 Informatique'), { kind: 'imported', description: 'Licence 3 informatique, promotion 2026', source_key: 'ldap:L3 Informatique' });

  const again = await syncLdap(db, withGroups, 'full', { env });
  t.match(again?.counts, { groupsCreated: 0, membershipsAdded: 0, membershipsRemoved: 0 }, 'a second full run changes nothing');

  await sleep(1100);
  await ldap.modifyGroup('L3 Informatique', { member: [ldap.dnOf('etu0'), ldap.dnOf('etu6')], description: 'Licence 3 informatique' });
  const incremental = await syncLdap(db, withGroups, 'incremental', { env });
  t.match(incremental?.counts, { membershipsAdded: 0, membershipsRemoved: 0 }, 'an incremental run leaves groups to full runs');
  t.same(await members('L3 Informatique'), ['etu0.lambda', 'etu1.lambda', 'helene.dupont']);
  const full = await syncLdap(db, withGroups, 'full', { env });
  t.match(full?.counts, { membershipsAdded: 1, membershipsRemoved: 2 });
  t.same(await members('L3 Informatique'), ['etu0.lambda', 'etu6.lambda'], 'members as the LDAP now says');
  t.equal((await group('L3 Informatique'))?.description, 'Licence 3 informatique', 'description follows');

  const onlyAlgo = await syncLdap(db, tenantWith({ groupsBaseDn: GROUPS_DN, groupsFilter: '(cn=CM-*)' }), 'full', { env });
  t.match(onlyAlgo?.counts, { groups: 1 });
  t.same(await members('L3 Informatique'), [], 'a group the filter no longer selects is emptied');
  t.same(await members('CM-ALGO'), ['etu4.lambda', 'etu5.lambda']);
  const sudGroups = await db.withTenant(sudId, (trx) => trx.selectFrom('groups').select('id').execute());
  t.same(sudGroups, [], 'another tenant gets no group');
});

t.test('the LDAP jobs end the sessions of the people a run deactivates, in this tenant only', async (t) => {
  const { Redis } = await import('ioredis');
  const { REDIS_URL } = await import('../helpers/env.js');
  const { testLog } = await import('../helpers/jobs.js');
  const { createSessionStore } = await import('../../src/identity/session-store.js');
  const { directoryLdapReconcileJob } = await import('../../src/directory/jobs.js');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  t.teardown(() => redis.quit());
  const sessions = createSessionStore(redis);
  // The job reads the bind secret from the process's environment, as the worker does.
  process.env.TEST_LDAP_SECRET = ROOT_PW;
  t.teardown(() => void delete process.env.TEST_LDAP_SECRET);
  // The same groups as the last full run, so this run changes people only.
  const tenant = tenantWith({ groupsBaseDn: GROUPS_DN, groupsFilter: '(cn=CM-*)' });
  const deps = { database: db, registry: { byId: (id: string) => (id === nord.id ? tenant : undefined) }, sessions } as unknown as JobDeps;
  const login = (tenantId: string, personId: string) =>
    sessions.create(
      { realm: { kind: 'tenant', tenantId }, personId, displayName: 'x', roles: ['student'], idpEntityId: 'idp', nameId: `n-${personId}`, nameIdFormat: undefined, sessionIndex: undefined, userAgent: 'tap' },
      { idleMs: 60_000, absoluteMs: 60_000 },
    );
  const leaver = (await person('etu9.lambda@univ-nord.example'))!;
  const stayer = (await person('etu8.lambda@univ-nord.example'))!;
  const leaverSession = await login(nord.id, leaver.id);
  const stayerSession = await login(nord.id, stayer.id);
  // The same person id in another tenant's realm (an attack on the realm): untouched.
  const sudSession = await login(sudId, leaver.id);
  await ldap.remove('etu9');
  const outcome = (await directoryLdapReconcileJob.handle({ tenantId: nord.id, forced: true }, { jobId: 'test', attempt: 1, log: testLog }, deps)) as { status?: string; counts?: object };
  t.equal(outcome.status, 'succeeded');
  t.match(outcome.counts, { deactivate: 1 });
  t.equal((await person('etu9.lambda@univ-nord.example'))?.status, 'deactivated');
  t.notOk(await sessions.get({ kind: 'tenant', tenantId: nord.id }, leaverSession.id), "the deactivated person's session is over");
  t.ok(await sessions.get({ kind: 'tenant', tenantId: nord.id }, stayerSession.id), 'the others keep theirs');
  t.ok(await sessions.get({ kind: 'tenant', tenantId: sudId }, sudSession.id), "another tenant's session is untouched");
});

t.test('an LDAP that answers slowly: the run fails with a clear report, nothing changes', async (t) => {
  const silent = createServer((socket) => socket.on('data', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => silent.close(() => r())));
  const slow = tenantWith({ url: `ldap://127.0.0.1:${(silent.address() as { port: number }).port}`, timeoutMs: 500 });
  const before = await db.withTenant(nord.id, (trx) => trx.selectFrom('people').select(['id', 'updated_at', 'status']).orderBy('id').execute());
  await t.rejects(syncLdap(db, slow, 'full', { env }), /injoignable ou en erreur/);
  t.same(await db.withTenant(nord.id, (trx) => trx.selectFrom('people').select(['id', 'updated_at', 'status']).orderBy('id').execute()), before);
  const run = await db.withTenant(nord.id, (trx) => trx.selectFrom('directory_imports').select(['status', 'error']).orderBy('created_at', 'desc').limit(1).executeTakeFirstOrThrow());
  t.equal(run.status, 'failed');
  t.match(run.error, /Rien n'a été modifié ; nouvel essai plus tard/);
});

t.test('an LDAP that is down: same, and a missing bind secret is named', async (t) => {
  await t.rejects(syncLdap(db, nord, 'full', { env: {} }), /TEST_LDAP_SECRET/);
  await ldap.stop();
  await t.rejects(syncLdap(db, nord, 'incremental', { env }), /injoignable/);
  t.equal((await person('etu1.lambda@univ-nord.example'))?.status, 'active');
});
