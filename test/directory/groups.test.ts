// Groups: workgroups with owners, invitations and leaving; dynamic groups whose members follow
// the people's attributes; imported groups; visibility of members; admins only for the rest;
// never a group of another tenant.
import t from 'tap';
import { createGroups } from '../../src/directory/groups.js';
import { addPerson, get, loginAs, NORD, post, startDirectoryPortique, SUD } from './helpers.js';

const portique = await startDirectoryPortique();
t.teardown(() => portique.close());
const { app, nord, sud } = portique;
const db = portique.database.app;

const alice = await loginAs(app, nord, { eppn: 'alice@univ-nord.example', displayName: 'Alice Owner', affiliations: ['staff'] });
const bob = await loginAs(app, nord, { eppn: 'bob@univ-nord.example', displayName: 'Bob Member', affiliations: ['student'] });
const carol = await loginAs(app, nord, { eppn: 'carol@univ-nord.example', displayName: 'Carol Outsider', affiliations: ['student'] });
const admin = await loginAs(app, nord, { eppn: 'ada.admin@univ-nord.example', displayName: 'Ada Admin', affiliations: ['staff'], admin: true });
const idOf = async (eppn: string) => (await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', eppn).executeTakeFirstOrThrow())).id;
const groupIdOf = (location: string | undefined) => /\/groupes\/([0-9a-f-]{36})$/.exec(location ?? '')![1]!;

t.test('a workgroup: create, invite, accept, see members, leave; the last owner stays', async (t) => {
  const created = await post(app, '/groupes', alice, { name: 'Projet tutoré', description: 'Groupe du projet' });
  t.equal(created.statusCode, 303);
  const group = groupIdOf(created.headers.location as string);
  t.match((await get(app, '/groupes', alice)).body, 'Projet tutoré');
  t.equal((await get(app, `/groupes/${group}`, carol)).statusCode, 404, 'not a member: no page');
  t.equal((await post(app, `/groupes/${group}/inviter`, bob, { target: 'carol@univ-nord.example' })).statusCode, 403, 'only owners invite');
  t.equal((await post(app, `/groupes/${group}/inviter`, alice, { target: 'bob@univ-nord.example' })).statusCode, 303);
  t.equal((await post(app, `/groupes/${group}/inviter`, alice, { target: 'nobody@univ-nord.example' })).statusCode, 404);
  const invited = await get(app, '/groupes', bob);
  t.match(invited.body, 'Invitations reçues');
  t.equal((await post(app, `/groupes/${group}/invitation/accepter`, bob, {})).statusCode, 303);
  const page = await get(app, `/groupes/${group}`, bob);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'Alice Owner');
  t.match(page.body, 'Bob Member');
  t.match(page.body, 'Membres (2)');
  t.equal((await post(app, `/groupes/${group}/invitation/accepter`, bob, {})).statusCode, 404, 'an invitation is used once');
  t.equal((await post(app, `/groupes/${group}/quitter`, alice, {})).statusCode, 409, 'the last owner cannot leave');
  t.equal((await post(app, `/groupes/${group}/quitter`, bob, {})).statusCode, 303);
  t.notMatch((await get(app, '/groupes', bob)).body, 'Projet tutoré');
});

t.test('a dynamic group follows the attributes of people', async (t) => {
  const l3 = await addPerson(db, nord, { givenName: 'Inès', familyName: 'Lambda', affiliations: ['student'], attributes: { supannEtuEtape: ['L3INF'] } });
  await addPerson(db, nord, { givenName: 'Other', familyName: 'Master', affiliations: ['student'], attributes: { supannEtuEtape: ['M1INF'] } });
  await addPerson(db, nord, { givenName: 'Teacher', familyName: 'L3', affiliations: ['faculty'], attributes: { supannEtuEtape: ['L3INF'] } });
  t.equal((await post(app, '/admin/groupes', alice, { kind: 'dynamic', name: 'L3 Informatique', rule: 'affiliation=student; supannEtuEtape=L3INF' })).statusCode, 403, 'admins only');
  const bad = await post(app, '/admin/groupes', admin, { kind: 'dynamic', name: 'Cassé', rule: 'nonsense' });
  t.equal(bad.statusCode, 400);
  const created = await post(app, '/admin/groupes', admin, { kind: 'dynamic', name: 'L3 Informatique', rule: 'affiliation=student; supannEtuEtape=L3INF' });
  t.equal(created.statusCode, 303);
  const group = groupIdOf(created.headers.location as string);
  let page = await get(app, `/groupes/${group}`, admin);
  t.match(page.body, 'Inès Lambda');
  t.notMatch(page.body, 'Other Master');
  t.notMatch(page.body, 'Teacher L3', 'every condition must hold');
  const bobId = await idOf('bob@univ-nord.example');
  t.equal((await get(app, `/groupes/${group}`, bob)).statusCode, 404, 'bob is not in L3INF yet');
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ attributes: { supannEtuEtape: ['L3INF'] } }).where('id', '=', bobId).execute());
  t.match((await get(app, '/groupes', bob)).body, 'L3 Informatique', 'his attribute changed: he is in');
  page = await get(app, `/groupes/${group}`, bob);
  t.match(page.body, 'Bob Member');
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ status: 'deactivated' }).where('id', '=', l3).execute());
  page = await get(app, `/groupes/${group}`, bob);
  t.notMatch(page.body, 'Inès Lambda', 'deactivated people drop out');
  t.equal((await post(app, `/groupes/${group}/quitter`, bob, {})).statusCode, 400, 'a dynamic group is not left by hand');
});

t.test('members within visibility rules: the red list is hidden from members', async (t) => {
  const created = await post(app, '/admin/groupes', admin, { kind: 'institutional', name: 'Conseil de département' });
  const group = groupIdOf(created.headers.location as string);
  const hidden = await addPerson(db, nord, { givenName: 'Rouge', familyName: 'Liste', redList: true, affiliations: ['staff'] });
  const bobId = await idOf('bob@univ-nord.example');
  await db.withTenant(nord, (trx) => trx.insertInto('group_members').values([{ tenant_id: nord, group_id: group, person_id: hidden }, { tenant_id: nord, group_id: group, person_id: bobId }]).execute());
  const seenByBob = await get(app, `/groupes/${group}`, bob);
  t.notMatch(seenByBob.body, 'Rouge Liste');
  t.match(seenByBob.body, '1 autre(s) membre(s) non affiché(s)');
  t.match((await get(app, `/groupes/${group}`, admin)).body, 'Rouge Liste');
});

t.test('imported groups cannot be left by hand; admin pages are for admins', async (t) => {
  const bobId = await idOf('bob@univ-nord.example');
  const imported = await db.withTenant(nord, async (trx) => {
    const [g] = await trx.insertInto('groups').values({ tenant_id: nord, id: (await import('../../src/platform/ids.js')).newId(), kind: 'imported', name: 'CM-ALGO', description: null, source_key: 'csv:CM-ALGO' }).returning('id').execute();
    await trx.insertInto('group_members').values({ tenant_id: nord, group_id: g!.id, person_id: bobId }).execute();
    return g!.id;
  });
  t.match((await get(app, '/groupes', bob)).body, 'CM-ALGO');
  t.equal((await post(app, `/groupes/${imported}/quitter`, bob, {})).statusCode, 400);
  t.equal((await get(app, '/admin/groupes', bob)).statusCode, 403);
  t.equal((await get(app, '/admin/groupes', admin)).statusCode, 200);
});

t.test("never another tenant's group", async (t) => {
  const sudPerson = await loginAs(app, sud, { eppn: 'sacha@univ-sud.example', host: SUD, affiliations: ['staff'], admin: false });
  const created = await post(app, '/groupes', alice, { name: 'Secret du Nord' });
  const group = groupIdOf(created.headers.location as string);
  t.equal((await get(app, `/groupes/${group}`, sudPerson, SUD)).statusCode, 404, "nord's group id on sud's host");
  t.notMatch((await get(app, '/groupes', sudPerson, SUD)).body, 'Secret du Nord');
  t.equal((await get(app, `/groupes/${group}`, alice, SUD)).statusCode, 303, "nord's session is nothing on sud");
  await addPerson(db, sud, { externalId: 'twin@univ-sud.example', familyName: 'Twin' });
  t.equal((await post(app, `/groupes/${group}/inviter`, alice, { target: 'twin@univ-sud.example' })).statusCode, 404, "sud's people cannot be invited");
  const adminNord = await get(app, `/groupes/${group}`, admin, NORD);
  t.equal(adminNord.statusCode, 200);
});

t.test('owners choose other owners; the last owner can be neither demoted nor leave', async (t) => {
  const dave = await loginAs(app, nord, { eppn: 'dave@univ-nord.example', displayName: 'Dave Second', affiliations: ['staff'] });
  const created = await post(app, '/groupes', alice, { name: 'Comité des fêtes' });
  const group = groupIdOf(created.headers.location as string);
  for (const [who, eppn] of [[bob, 'bob@univ-nord.example'], [dave, 'dave@univ-nord.example']] as const) {
    await post(app, `/groupes/${group}/inviter`, alice, { target: eppn });
    await post(app, `/groupes/${group}/invitation/accepter`, who, {});
  }
  const [aliceId, bobId, daveId, carolId] = (await Promise.all(['alice', 'bob', 'dave', 'carol'].map((n) => idOf(`${n}@univ-nord.example`)))) as [string, string, string, string];
  const role = (cookie: string, personId: string, r: string) => post(app, `/groupes/${group}/membres/${personId}/role`, cookie, { role: r });
  const owners = async () =>
    (await db.withTenant(nord, (trx) => trx.selectFrom('group_members').select('person_id').where('group_id', '=', group).where('role', '=', 'owner').execute())).map((r) => r.person_id).sort();

  const page = await get(app, `/groupes/${group}`, alice);
  t.match(page.body, `/groupes/${group}/membres/${daveId}/role`, 'the owner sees a button per member');
  t.match(page.body, 'Nommer propriétaire');
  t.notMatch((await get(app, `/groupes/${group}`, bob)).body, '/role"', 'a member sees none');

  t.equal((await role(bob, bobId, 'owner')).statusCode, 403, 'a member cannot make themselves owner');
  t.equal((await role(alice, daveId, 'owner')).statusCode, 303, 'the owner names Dave');
  t.same(await owners(), [aliceId, daveId].sort());
  t.match((await get(app, `/groupes/${group}`, dave)).body, 'Retirer des propriétaires', 'Dave can now choose owners too');
  t.equal((await role(dave, aliceId, 'member')).statusCode, 303, 'an owner withdraws another');
  t.same(await owners(), [daveId]);
  t.equal((await role(dave, daveId, 'member')).statusCode, 409, 'the last owner cannot step down');
  t.match((await role(dave, daveId, 'member')).body, 'au moins un propriétaire');
  t.equal((await post(app, `/groupes/${group}/quitter`, dave, {})).statusCode, 409, 'nor leave');
  t.equal((await role(alice, daveId, 'member')).statusCode, 403, 'Alice is no longer an owner');
  t.same(await owners(), [daveId], 'nothing changed');

  t.equal((await role(dave, carolId, 'owner')).statusCode, 404, 'not a member: cannot be named owner');
  t.equal((await role(dave, 'not-a-uuid', 'owner')).statusCode, 404);
  t.equal((await role(dave, bobId, 'king')).statusCode, 400, 'an unknown role is refused');
  const sudTwin = await addPerson(db, sud, { externalId: 'twin2@univ-sud.example', familyName: 'Twin' });
  t.equal((await role(dave, sudTwin, 'owner')).statusCode, 404, "another tenant's person cannot be named");
  const sudPerson = await loginAs(app, sud, { eppn: 'sam@univ-sud.example', host: SUD, affiliations: ['staff'] });
  t.equal((await post(app, `/groupes/${group}/membres/${bobId}/role`, sudPerson, { role: 'owner' }, SUD)).statusCode, 404, "nord's group from sud's host");
  t.same(await owners(), [daveId], 'still nothing changed');
  t.equal((await role(dave, bobId, 'owner')).statusCode, 303);
  t.equal((await role(dave, daveId, 'member')).statusCode, 303, 'with another owner, Dave may step down');
  t.same(await owners(), [bobId]);
});

t.test('membership of one group says what mine() says, for each way of being in a group or not', async (t) => {
  const groups = createGroups(db);
  const tenantNord = portique.registry.bySlug('nord')!;
  const tenantSud = portique.registry.bySlug('sud')!;
  const group = groupIdOf((await post(app, '/groupes', alice, { name: 'Un seul groupe' })).headers.location as string);
  await post(app, `/groupes/${group}/inviter`, alice, { target: 'bob@univ-nord.example' });
  await post(app, `/groupes/${group}/invitation/accepter`, bob, {});
  const rule = 'affiliation=student; supannEtuEtape=L2BIO';
  const dynamic = groupIdOf((await post(app, '/admin/groupes', admin, { kind: 'dynamic', name: 'L2 Biologie', rule })).headers.location as string);
  const matching = await addPerson(db, nord, { familyName: 'Bio', affiliations: ['student'], attributes: { supannEtuEtape: ['L2BIO'] } });
  const gone = await addPerson(db, nord, { familyName: 'Partie', affiliations: ['student'], attributes: { supannEtuEtape: ['L2BIO'] } });
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ status: 'deactivated' }).where('id', '=', gone).execute());
  const people = { alice: await idOf('alice@univ-nord.example'), bob: await idOf('bob@univ-nord.example'), carol: await idOf('carol@univ-nord.example'), matching, gone };
  const expected: Record<string, [string | null, string | null]> = { alice: ['owner', null], bob: ['member', null], carol: [null, null], matching: [null, 'member'], gone: [null, null] };
  for (const [name, personId] of Object.entries(people)) {
    const listed = (await groups.mine(tenantNord, { personId, roles: [] })).groups;
    for (const [i, id] of [group, dynamic].entries()) {
      const one = await groups.membership(tenantNord, personId, id);
      t.equal(one?.role ?? null, expected[name]![i], `${name} in ${i ? 'the dynamic group' : 'the workgroup'}`);
      t.equal(one?.role ?? null, listed.find((g) => g.id === id)?.role ?? null, `${name}: the same as mine()`);
    }
  }
  t.equal(await groups.membership(tenantSud, people.alice, group), null, "nord's group asked on sud: nothing");
  t.equal(await groups.membership(tenantNord, people.alice, 'not-an-id'), null);
});
