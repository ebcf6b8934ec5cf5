// The word tables behind the white pages search (migrations/0014): they follow every change of
// a person (names, red list, status), and, being tenant tables, they are attacked like any other:
// no tenant reads, writes or searches another's words.
import t from 'tap';
import { sql } from 'kysely';
import { searchPeople } from '../../src/directory/repository.js';
import { addPerson, startDirectoryDatabase } from './helpers.js';

const { database, nord, sud } = await startDirectoryDatabase((fn) => t.teardown(fn));
const db = database.app;

const search = (tenantId: string, query: string, includeHidden = false, limit = 20, offset = 0) =>
  db.readTenant(tenantId, (trx) => searchPeople(trx, { tenantId, query, limit, offset, includeHidden })).then((rows) => rows.map((r) => r.display_name));

const anouk = await addPerson(db, nord, { givenName: 'Anouk', familyName: 'Vérany', mail: 'anouk.verany42@univ-nord.example', affectation: 'UFR Chimie' });
await addPerson(db, sud, { givenName: 'Anouk', familyName: 'Vérany', mail: 'anouk.verany@univ-sud.example', affectation: 'UFR Droit' });
await addPerson(db, sud, { givenName: 'Zéphyrin', familyName: 'Quintal' });

t.test('the words follow the person: rename, red list, deactivation, deletion', async (t) => {
  t.same(await search(nord, 'verany'), ['Anouk Vérany']);
  t.same(await search(nord, 'verany42'), ['Anouk Vérany'], 'letters and digits of a mail are words of their own');
  t.same(await search(nord, 'chimie anouk'), ['Anouk Vérany']);
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ family_name: 'Marcy', display_name: 'Anouk Marcy', mail: 'anouk.marcy@univ-nord.example' }).where('id', '=', anouk).execute());
  t.same(await search(nord, 'verany'), [], 'the old name is gone');
  t.same(await search(nord, 'marcy'), ['Anouk Marcy'], 'the new name is found');
  t.same(await search(nord, 'marcy anouk'), ['Anouk Marcy']);
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ red_list: true }).where('id', '=', anouk).execute());
  t.same(await search(nord, 'marcy'), [], 'red-listed: hidden');
  t.same(await search(nord, 'marcy', true), ['Anouk Marcy'], 'but admins find them');
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ red_list: false, status: 'deactivated' }).where('id', '=', anouk).execute());
  t.same(await search(nord, 'marcy anouk'), [], 'deactivated: hidden');
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ status: 'active' }).where('id', '=', anouk).execute());
  t.same(await search(nord, 'marcy'), ['Anouk Marcy'], 'reactivated: found again');
  await db.withTenant(nord, (trx) => trx.deleteFrom('people').where('id', '=', anouk).execute());
  const left = await db.withTenant(nord, (trx) => trx.selectFrom('people_search_terms').select('term').where('person_id', '=', anouk).execute());
  t.same(left, [], "a deleted person's words go with them");
});

t.test('ligatures are spelt out as the database stores them', async (t) => {
  await addPerson(db, nord, { givenName: 'Lætitia', familyName: 'Cœurdevey', mail: null });
  for (const q of ['cœurdevey', 'coeurdevey', 'laetitia cœur', 'LÆTITIA']) t.same(await search(nord, q), ['Lætitia Cœurdevey'], q);
});

t.test('misspelt and prefix words find their vocabulary words; pages do not overlap', async (t) => {
  for (let i = 0; i < 30; i++) await addPerson(db, nord, { givenName: `Prénom`, familyName: `Castellane`, mail: `c${i}@univ-nord.example` });
  t.equal((await search(nord, 'castelane')).length, 20, 'one letter missing');
  t.equal((await search(nord, 'kastellane')).length, 20, 'one letter wrong');
  t.equal((await search(nord, 'caste')).length, 20, 'a prefix');
  const ids = async (offset: number) => (await db.readTenant(nord, (trx) => searchPeople(trx, { tenantId: nord, query: 'castellane prenom', limit: 20, offset, includeHidden: false }))).map((r) => r.id);
  const [one, two] = [await ids(0), await ids(20)];
  t.equal(one.length + two.length, 30);
  t.equal(new Set([...one, ...two]).size, 30, 'every person once across the pages');
});

t.test("attack: another tenant's words can be neither read, written, nor searched", async (t) => {
  t.same(await search(nord, 'zephyrin'), [], "sud's unique name is not found from nord");
  t.same(await search(nord, 'quintal zephyrin'), []);
  t.same(await search(nord, 'droit anouk'), [], "sud's affectation does not make sud's Anouk match");
  const seen = await db.withTenant(nord, async (trx) => ({
    terms: await trx.selectFrom('people_search_terms').select('term').where('tenant_id', '=', sud).execute(),
    vocabulary: await trx.selectFrom('directory_terms').select('term').where('tenant_id', '=', sud).execute(),
    unfiltered: await trx.selectFrom('directory_terms').select('term').where('term', '=', 'zephyrin').execute(),
  }));
  t.same(seen, { terms: [], vocabulary: [], unfiltered: [] }, 'RLS: nothing of sud, even without a tenant condition');
  const sudPerson = (await db.withTenant(sud, (trx) => trx.selectFrom('people').select('id').executeTakeFirstOrThrow())).id;
  await t.rejects(
    db.withTenant(nord, (trx) => trx.insertInto('directory_terms').values({ tenant_id: sud, term: 'piege' }).execute()),
    /row-level security/,
    "writing into sud's vocabulary is refused",
  );
  await t.rejects(
    db.withTenant(nord, (trx) => trx.insertInto('people_search_terms').values({ tenant_id: sud, term: 'piege', person_id: sudPerson, name_key: 'x', visible: true }).execute()),
    /row-level security|foreign key/,
    "adding a word to sud's person is refused",
  );
  const noTenant = await database.app.sql`select count(*)::int as n from people_search_terms`;
  t.equal(noTenant[0]!.n, 0, 'without a tenant set, nothing at all');
  const sudWords = await db.readTenant(sud, (trx) => sql<{ n: number }>`select count(*)::int as n from directory_terms where term = 'piege'`.execute(trx));
  t.equal(sudWords.rows[0]!.n, 0);
});
