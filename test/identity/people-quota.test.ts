// quotas.people: a first login beyond the tenant's number of accounts creates no one (a clear
// page), even when many first logins race; people who exist still log in.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPortique } from '../helpers/app.js';
import { newId } from '../../src/platform/ids.js';
import { SUD_IDP, identityTenantsDir, login, loginRoute, verifiedLogin } from './helpers.js';

const tenantsDir = await identityTenantsDir();
const nordFile = join(tenantsDir, 'nord.yaml');
await writeFile(nordFile, (await readFile(nordFile, 'utf8')).replace(/people: \d+/, 'people: 3'));
const portique = await startPortique({ tenantsDir, beforeReady: (app) => loginRoute(app) });
t.teardown(() => portique.close());
const { app, registry, database } = portique;
const nord = registry.bySlug('nord')!;
const sud = registry.bySlug('sud')!;

const person = (i: number) =>
  verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: [`p${i}@univ-nord.example`], displayName: [`Personne ${i}`], eduPersonAffiliation: ['student'] } });
const count = () => database.app.withTenant(nord.id, (trx) => trx.selectFrom('people').select('id').execute()).then((r) => r.length);

t.test('ten first logins race for three accounts: exactly three are created', async (t) => {
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => login(app, 'nord.localhost', person(i))));
  const admitted = results.filter((r) => r.statusCode === 303);
  const refused = results.filter((r) => r.statusCode === 403);
  t.equal(admitted.length, 3, 'three logged in');
  t.equal(refused.length, 7, 'the others refused');
  t.match(refused[0]!.body, 'a atteint le nombre de comptes prévu');
  t.notOk(refused[0]!.cookies.find((c) => c.name === 'portique_session')?.value, 'no session for a refused login');
  t.equal(await count(), 3);
});

t.test('someone who has an account still logs in at the limit; a newcomer does not', async (t) => {
  const existing = await database.app.withTenant(nord.id, (trx) => trx.selectFrom('people').select('external_id').executeTakeFirstOrThrow());
  const again = await login(app, 'nord.localhost', verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: [existing.external_id], displayName: ['De retour'], eduPersonAffiliation: ['student'] } }));
  t.equal(again.statusCode, 303);
  t.equal((await login(app, 'nord.localhost', person(99))).statusCode, 403);
  t.equal(await count(), 3);
});

t.test("another tenant's quota is its own", async (t) => {
  const res = await login(app, 'sud.localhost', verifiedLogin(sud.id, { idpEntityId: SUD_IDP, nameId: { value: 'sud-1', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }, attributes: { displayName: ['Sud Un'], mail: ['un@univ-sud.example'] } }));
  t.equal(res.statusCode, 303, res.body.slice(0, 200));
});

t.test('the count follows every change of people, whoever makes it', async (t) => {
  const counted = () => database.app.withTenant(nord.id, (trx) => trx.selectFrom('people_counts').select('active').executeTakeFirstOrThrow()).then((r) => r.active);
  const actual = () =>
    database.app.withTenant(nord.id, (trx) => trx.selectFrom('people').select('id').where('status', '=', 'active').execute()).then((r) => r.length);
  t.equal(await counted(), await actual(), 'after logins');
  const [first] = await database.app.withTenant(nord.id, (trx) => trx.selectFrom('people').select('id').execute());
  await database.app.withTenant(nord.id, (trx) => trx.updateTable('people').set({ status: 'deactivated' }).where('id', '=', first!.id).execute());
  t.equal(await counted(), 2, 'a deactivation frees a place');
  t.equal(await counted(), await actual());
  t.equal((await login(app, 'nord.localhost', person(100))).statusCode, 303, 'so a newcomer gets in');
  t.equal(await counted(), 3);
  await database.app.withTenant(nord.id, (trx) => trx.deleteFrom('people').where('id', '=', first!.id).execute());
  t.equal(await counted(), 3, 'deleting a deactivated person changes nothing');
  const sudCount = await database.app.withTenant(sud.id, (trx) => trx.selectFrom('people_counts').select(['tenant_id', 'active']).execute());
  t.same(sudCount.map((r) => r.tenant_id), [sud.id], 'each tenant sees only its own count');
});

t.test('statements that change many people at once (imports) are counted per statement', async (t) => {
  const counted = () => database.app.withTenant(sud.id, (trx) => trx.selectFrom('people_counts').select('active').executeTakeFirst()).then((r) => r?.active ?? 0);
  const actual = () =>
    database.app.withTenant(sud.id, (trx) => trx.selectFrom('people').select('id').where('status', '=', 'active').execute()).then((r) => r.length);
  const before = await counted();
  const row = (i: number, status: 'active' | 'deactivated') => ({
    tenant_id: sud.id, id: newId(), external_id: `lot-${i}@univ-sud.example`, display_name: `Lot ${i}`, given_name: 'Lot', family_name: `${i}`, mail: null, affiliations: ['student'], status,
  });
  await database.app.withTenant(sud.id, (trx) =>
    trx.insertInto('people').values([row(1, 'active'), row(2, 'active'), row(3, 'active'), row(4, 'deactivated')]).execute(),
  );
  t.equal(await counted(), before + 3, 'one insert of four people, three active');
  // An upsert, as imports write: two existing people deactivated, one newcomer, in one statement.
  await database.app.withTenant(sud.id, (trx) =>
    trx
      .insertInto('people')
      .values([row(1, 'deactivated'), row(2, 'deactivated'), row(5, 'active')])
      .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doUpdateSet((eb) => ({ status: eb.ref('excluded.status') })))
      .execute(),
  );
  t.equal(await counted(), before + 2, 'the upsert: two fewer, one more');
  t.equal(await counted(), await actual());
  await database.app.withTenant(sud.id, (trx) => trx.updateTable('people').set({ display_name: 'Renommé' }).where('external_id', 'like', 'lot-%').execute());
  t.equal(await counted(), before + 2, 'an update that changes no status changes nothing');
  await database.app.withTenant(sud.id, (trx) => trx.updateTable('people').set({ status: 'active' }).where('external_id', 'like', 'lot-%').execute());
  t.equal(await counted(), before + 5, 'reactivating four of five at once');
  await database.app.withTenant(sud.id, (trx) => trx.deleteFrom('people').where('external_id', 'like', 'lot-%').execute());
  t.equal(await counted(), before, 'deleting them all at once');
  t.equal(await counted(), await actual());
  const nordCount = await database.app.withTenant(nord.id, (trx) => trx.selectFrom('people_counts').select('active').executeTakeFirstOrThrow());
  t.equal(nordCount.active, 3, "the other tenant's count did not move");
});
