// White pages searches of several words (migrations/0026, src/directory/repository.ts
// byRarestWords): the rarest word drives and the others are probed per person. The answers must
// be exactly those of the plan that hashes every holder of each word: ranking, accents, typos,
// pages, hidden people. And the per-word people counts are tenant rows, attacked like any other.
import t from 'tap';
import { sql } from 'kysely';
import { searchPeople } from '../../src/directory/repository.js';
import { addPerson, startDirectoryDatabase } from './helpers.js';

const { database, nord, sud } = await startDirectoryDatabase((fn) => t.teardown(fn));
const db = database.app;

const rows = (tenantId: string, query: string, o: { includeHidden?: boolean; limit?: number; offset?: number; plan?: 'hashed' } = {}) =>
  db.readTenant(tenantId, (trx) => searchPeople(trx, { tenantId, query, limit: o.limit ?? 20, offset: o.offset ?? 0, includeHidden: o.includeHidden ?? false, ...(o.plan ? { plan: o.plan } : {}) }));
const names = async (tenantId: string, query: string, limit = 20) => (await rows(tenantId, query, { limit })).map((r) => r.display_name);

// A population where words are shared a lot, as in a real directory: 12 given x 16 family names,
// some accented, some near each other (Dupont/Dupond/Dupontel), three affectations.
const GIVEN = ['Hélène', 'Helena', 'François', 'Françoise', 'Zoé', 'Anaïs', 'Jérôme', 'Noël', 'Gaëlle', 'Loïc', 'Benoît', 'Léa'];
const FAMILY = ['Dupont', 'Dupond', 'Dupontel', 'Lefèvre', 'Lefebvre', 'Lefèvreau', 'Martin', 'Martinez', 'Durand', 'Durant', 'Moreau', 'Morel', 'Girard', 'Müller', 'Fontaine', 'Fontana'];
const UFR = ['UFR Sciences', 'UFR Lettres', 'UFR Droit'];
let n = 0;
for (let g = 0; g < GIVEN.length; g++) {
  for (let f = 0; f < FAMILY.length; f++) {
    // Two of some pairs, none of a few; a few red-listed or deactivated.
    const copies = (g + f) % 7 === 3 ? 0 : (g * f) % 5 === 0 ? 2 : 1;
    for (let c = 0; c < copies; c++, n++) {
      await addPerson(db, nord, {
        givenName: GIVEN[g]!,
        familyName: FAMILY[f]!,
        affectation: UFR[n % UFR.length]!,
        mail: `p${n}@univ-nord.example`,
        redList: n % 23 === 0,
        status: n % 29 === 0 ? 'deactivated' : 'active',
      });
    }
  }
}
// Sud: the same names, to be sure none of its people or counts leak into nord's answers.
for (const [g, f] of [['Hélène', 'Dupont'], ['François', 'Lefèvre'], ['Sudiste', 'Dupont']] as const) await addPerson(db, sud, { givenName: g, familyName: f });

t.test('several words: exact words first, then prefixes and look-alikes, each by name', async (t) => {
  const found = await names(nord, 'helene dupont', 50);
  t.ok(found.length > 2, 'several people');
  const exact = found.filter((x) => x === 'Hélène Dupont').length;
  t.ok(exact >= 1);
  t.same(found.slice(0, exact), Array(exact).fill('Hélène Dupont'), 'the exact name first');
  t.ok(found.includes('Hélène Dupontel'), 'a longer family name by prefix');
  t.ok(found.indexOf('Hélène Dupontel') > found.lastIndexOf('Hélène Dupont'), 'after the exact ones');
  t.notOk(found.some((x) => !/^Hel[eè]n/.test(x.normalize('NFD').replace(/\p{M}/gu, ''))), 'nobody without a word like helene');
});

t.test('accents: written with or without, in any case', async (t) => {
  const expected = await names(nord, 'François Lefèvre');
  t.ok(expected.length > 0);
  t.equal(expected[0], 'François Lefèvre');
  for (const q of ['francois lefevre', 'FRANCOIS LEFÈVRE', 'lefevre françois']) t.same((await names(nord, q))[0], 'François Lefèvre', q);
});

t.test('a typo in the second word still finds the name, first', async (t) => {
  t.equal((await names(nord, 'gaelle morreau'))[0], 'Gaëlle Moreau');
  t.equal((await names(nord, 'jerome girrard'))[0], 'Jérôme Girard');
  t.equal((await names(nord, 'loic fontaien'))[0] ?? '', (await names(nord, 'loic fontaine', 1))[0] ?? 'none', 'as if spelt right');
});

t.test('answers are exactly those of the hashed plan: order, pages, hidden people, short words', async (t) => {
  const queries = [
    'helene dupont', 'francois lefevre', 'françoise lef', 'dupont helene', 'helene dupond', 'zoe martin', 'martin zoe sciences',
    'ufr sciences', 'sciences ufr', 'ufr lettres durand', 'lefevre lefebvre', 'noel moreau', 'benoit mueller', 'benoit muller',
    'gaelle morreau', 'fontaine lea d', 'dupont p1', 'helena dupontel lettres', 'jerome durant', 'durand durant', 'nobody here',
    'helene nobody', 'anais fontana droit',
  ];
  for (const query of queries) {
    for (const includeHidden of [false, true]) {
      for (const [limit, offset] of [[21, 0], [5, 0], [5, 5], [7, 14]] as const) {
        const fast = (await rows(nord, query, { includeHidden, limit, offset })).map((r) => r.id);
        const hashed = (await rows(nord, query, { includeHidden, limit, offset, plan: 'hashed' })).map((r) => r.id);
        t.same(fast, hashed, `${query} (hidden ${includeHidden}, ${limit} from ${offset})`);
      }
    }
  }
});

t.test('a query every person matches stays one page', async (t) => {
  const page = await rows(nord, 'ufr sciences', { limit: 21 });
  t.equal(page.length, 21, 'a full page and one more');
  t.ok(page.every((r) => r.affectation === 'UFR Sciences'));
});

t.test('the people counts follow the words: added, renamed, deleted', async (t) => {
  const count = async (tenantId: string, term: string) =>
    (await db.readTenant(tenantId, (trx) => trx.selectFrom('directory_terms').select('people').where('tenant_id', '=', tenantId).where('term', '=', term).executeTakeFirst()))?.people ?? 0;
  const held = async (tenantId: string, term: string) =>
    (await db.readTenant(tenantId, (trx) => sql<{ n: number }>`select count(*)::int as n from people_search_terms where tenant_id = ${tenantId} and term = ${term}`.execute(trx))).rows[0]!.n;
  for (const term of ['dupont', 'helene', 'sciences', 'ufr', 'lefevre']) t.equal(await count(nord, term), await held(nord, term), `${term} counted`);
  t.equal(await count(sud, 'dupont'), 2, "sud's count is sud's people only");
  const id = await addPerson(db, nord, { givenName: 'Ombeline', familyName: 'Quesnoy' });
  t.equal(await count(nord, 'quesnoy'), 1);
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ family_name: 'Quesnel', display_name: 'Ombeline Quesnel' }).where('id', '=', id).execute());
  t.same([await count(nord, 'quesnoy'), await count(nord, 'quesnel'), await count(nord, 'ombeline')], [0, 1, 1], 'a rename moves the count');
  await db.withTenant(nord, (trx) => trx.deleteFrom('people').where('id', '=', id).execute());
  t.same([await count(nord, 'quesnel'), await count(nord, 'ombeline')], [0, 0], 'a deletion takes it back');
  t.equal(await count(sud, 'ombeline'), 0, 'nothing counted in sud');
});

t.test("attack: another tenant's counts can be neither read, changed, nor made to weigh", async (t) => {
  const sudDupont = () => database.owner.withTenant(sud, (trx) => trx.selectFrom('directory_terms').select('people').where('term', '=', 'dupont').executeTakeFirstOrThrow());
  const before = (await sudDupont()).people;
  const seen = await db.withTenant(nord, (trx) => trx.selectFrom('directory_terms').select(['tenant_id', 'people']).where('tenant_id', '=', sud).execute());
  t.same(seen, [], "nord reads none of sud's counts");
  const changed = await db.withTenant(nord, (trx) => trx.updateTable('directory_terms').set({ people: 0 }).where('tenant_id', '=', sud).executeTakeFirst());
  t.equal(Number(changed.numUpdatedRows), 0, "an update of sud's counts from nord changes no row");
  await t.rejects(
    db.withTenant(nord, (trx) => trx.insertInto('directory_terms').values({ tenant_id: sud, term: 'dupont', people: 1_000_000 }).execute()),
    /row-level security/,
    'nor can nord write a count for sud',
  );
  const nordPerson = (await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').executeTakeFirstOrThrow())).id;
  await t.rejects(
    db.withTenant(nord, (trx) => trx.insertInto('people_search_terms').values({ tenant_id: sud, term: 'dupont', person_id: nordPerson, name_key: 'x', visible: true }).execute()),
    /row-level security/,
    "nor count a word into sud's vocabulary through the words table",
  );
  t.equal((await sudDupont()).people, before, "sud's count unchanged");
  // Nord's own counts, even made wrong on purpose, change how fast nord searches, never what it finds.
  const honest = (await rows(nord, 'helene dupont', { limit: 21 })).map((r) => r.id);
  await db.withTenant(nord, (trx) => trx.updateTable('directory_terms').set({ people: 0 }).where('term', '=', 'helene').execute());
  await db.withTenant(nord, (trx) => trx.updateTable('directory_terms').set({ people: 1_000_000 }).where('term', '=', 'dupont').execute());
  t.same((await rows(nord, 'helene dupont', { limit: 21 })).map((r) => r.id), honest, 'wrong counts: same answer');
  t.same(await names(sud, 'helene dupont'), ['Hélène Dupont'], "sud's search sees sud's people only");
});
