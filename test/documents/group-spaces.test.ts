// Group spaces against real PostgreSQL and S3: members read, write only if the owners said so,
// non-members and other tenants get 404, the group space's quota (not the person's) is charged,
// and a group space's ids are not reachable through the personal routes (nor the reverse).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { newId } from '../../src/platform/ids.js';
import { bookkeeping, fileOf, groupWith, loginAs, multipartBody, objectsOf, parse, postJson, send, sha256, startDocs, type Person } from './helpers.js';
import { Readable } from 'node:stream';

const h = await startDocs();
t.teardown(() => h.close());
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const dominique = await loginAs(h, 'nord', 'dominique@univ-nord.example');
const eden = await loginAs(h, 'nord', 'eden@univ-nord.example');
const admin = await loginAs(h, 'nord', 'admin@univ-nord.example');
const sudPerson = await loginAs(h, 'sud', 'sacha@univ-sud.example');
await h.p.database.app.withTenant(h.nord, (trx) => trx.updateTable('people').set({ granted_roles: ['admin'] }).where('id', '=', admin.personId).execute());

const post = (who: Person, path: string, body: unknown = {}) => postJson(h, who, path, body);
const uploadTo = (who: Person, groupId: string, name: string, content: Buffer, folder?: string) => {
  const { headers, body } = multipartBody(name, content.length, () => Readable.from([content]));
  return send(h, who, 'POST', `/documents/groupes/${groupId}/envoi${folder ? `?dossier=${folder}` : ''}`, { headers, body });
};
const groupUsage = (groupId: string) =>
  h.p.database.app.withTenant(h.nord, async (trx) => {
    const row = await trx.selectFrom('document_usage').select(['used', 'reserved']).where('space_id', '=', groupId).executeTakeFirst();
    return { used: Number(row?.used ?? 0), reserved: Number(row?.reserved ?? 0) };
  });

const team = await groupWith(h, h.nord, 'Équipe projet', [[camille, 'owner'], [dominique, 'member']]);

t.test('members read; they write only once the owners allow it; owners always write', async (t) => {
  const spaces = parse<{ spaces: { id: string; role: string; access: string }[] }>(await send(h, dominique, 'GET', '/documents/groupes'));
  t.same(spaces.spaces.filter((s) => s.id === team).map((s) => [s.role, s.access]), [['member', 'read']], 'listed in my group spaces, read only by default');
  const html = await send(h, dominique, 'GET', '/documents/groupes', { headers: { accept: 'text/html' } });
  t.equal(html.status, 200);
  t.match(html.body.toString(), /Espaces de groupe/);
  t.match(html.body.toString(), /Équipe projet/);

  const content = randomBytes(3000);
  const sent = await uploadTo(camille, team, 'compte-rendu.pdf', content);
  t.equal(sent.status, 200, 'the owner uploads');
  const file = fileOf(sent);
  const back = await send(h, dominique, 'GET', `/documents/groupes/${team}/fichiers/${file.id}`);
  t.equal(back.status, 200, 'a member downloads');
  t.equal(sha256(back.body), sha256(content), 'same bytes');
  const listing = parse<{ items: { id: string }[]; space: { access: string } }>(await send(h, dominique, 'GET', `/documents/groupes/${team}`));
  t.same(listing.items.map((i) => i.id), [file.id]);
  const page = await send(h, dominique, 'GET', `/documents/groupes/${team}`, { headers: { accept: 'text/html' } });
  t.notMatch(page.body.toString(), /envoi\?_csrf/, 'a read-only member sees no upload form');

  t.equal((await uploadTo(dominique, team, 'ajout.txt', Buffer.from('non'))).status, 403, 'read-only member cannot upload');
  t.equal((await post(dominique, `/documents/groupes/${team}/dossiers`, { nom: 'X' })).status, 403, 'nor create a folder');
  t.equal((await post(dominique, `/documents/groupes/${team}/elements/${file.id}/renommer`, { nom: 'x.pdf' })).status, 403, 'nor rename');
  t.equal((await post(dominique, `/documents/groupes/${team}/elements/${file.id}/supprimer`)).status, 403, 'nor trash');
  t.equal((await post(dominique, `/documents/groupes/${team}/acces`, { acces: 'write' })).status, 403, 'a member cannot change the access');

  t.equal((await post(camille, `/documents/groupes/${team}/acces`, { acces: 'everything' })).status, 400, 'a bad access value: 400');
  t.equal((await post(camille, `/documents/groupes/${team}/acces`, { acces: 'write' })).status, 200, 'the owner lets members write');
  const added = await uploadTo(dominique, team, 'ajout.txt', Buffer.from('oui'));
  t.equal(added.status, 200, 'now the member uploads');
  const row = await h.p.database.app.withTenant(h.nord, (trx) =>
    trx.selectFrom('document_nodes').select(['space_id', 'group_id', 'owner_id']).where('id', '=', fileOf(added).id).executeTakeFirstOrThrow(),
  );
  t.same(row, { space_id: team, group_id: team, owner_id: dominique.personId }, "in the group's space, sent by the member");
  t.equal((await post(dominique, `/documents/groupes/${team}/elements/${fileOf(added).id}/renommer`, { nom: 'ajout v2.txt' })).status, 200, 'and renames');

  t.equal((await post(camille, `/documents/groupes/${team}/acces`, { acces: 'read' })).status, 200);
  t.equal((await uploadTo(dominique, team, 'encore.txt', Buffer.from('non'))).status, 403, 'read only again');
});

t.test('non-members, other tenants and crossed ids: 404, nothing written', async (t) => {
  const file = fileOf(await uploadTo(camille, team, 'secret.txt', Buffer.from('secret')));
  const mine = fileOf(await send(h, camille, 'POST', '/documents/envoi', multipartBody('perso.txt', 5, () => Readable.from([Buffer.from('perso')]))));
  const before = await objectsOf(h, h.nord);
  t.equal((await send(h, eden, 'GET', `/documents/groupes/${team}`)).status, 404, 'non-member: 404 on the space');
  t.equal((await send(h, eden, 'GET', `/documents/groupes/${team}/fichiers/${file.id}`)).status, 404, 'non-member: 404 on a file');
  t.equal((await uploadTo(eden, team, 'intrus.txt', Buffer.from('x'))).status, 404, 'non-member: 404 on upload');
  t.equal((await post(eden, `/documents/groupes/${team}/acces`, { acces: 'write' })).status, 404, 'non-member: 404 on the setting');
  t.equal((await post(eden, `/documents/groupes/${team}/elements/${file.id}/supprimer`)).status, 404);
  t.equal((await send(h, eden, 'GET', `/documents/fichiers/${file.id}`)).status, 404, "a group file through the personal route: 404");
  t.equal((await send(h, camille, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'even for its sender: group files live in the group space');
  t.equal((await send(h, sudPerson, 'GET', `/documents/groupes/${team}`)).status, 404, "another tenant's host: 404");
  t.equal((await send(h, sudPerson, 'GET', `/documents/groupes/${team}/fichiers/${file.id}`)).status, 404);
  t.equal((await send(h, camille, 'GET', `/documents/groupes/not-a-uuid`)).status, 404, 'a malformed id: 404');
  t.equal((await send(h, camille, 'GET', `/documents/groupes/${newId()}`)).status, 404, 'an unknown group: 404');

  t.equal((await send(h, camille, 'GET', `/documents/groupes/${team}/fichiers/${mine.id}`)).status, 404, 'a personal file through the group route: 404');
  t.equal((await post(camille, `/documents/groupes/${team}/elements/${mine.id}/supprimer`)).status, 404, 'cannot trash a personal file from the group space');

  const sudGroup = newId();
  await h.p.database.app.withTenant(h.sud, async (trx) => {
    await trx.insertInto('groups').values({ tenant_id: h.sud, id: sudGroup, kind: 'workgroup', name: 'Sud' }).execute();
    await trx.insertInto('group_members').values({ tenant_id: h.sud, group_id: sudGroup, person_id: sudPerson.personId, role: 'owner' }).execute();
  });
  t.equal((await send(h, camille, 'GET', `/documents/groupes/${sudGroup}`)).status, 404, "another tenant's group id on my host: 404");
  t.equal((await post(admin, `/documents/groupes/${sudGroup}/acces`, { acces: 'write' })).status, 404, "even an admin: another tenant's group is not found");
  t.equal((await uploadTo(sudPerson, sudGroup, 'sud.txt', Buffer.from('sud'))).status, 200, 'the sud owner uses their own group space');
  t.same(await objectsOf(h, h.nord), before, 'no object written by the refused requests');
});

t.test("uploads count against the group space's quota, not the person's", async (t) => {
  const groupBefore = await groupUsage(team);
  const personBefore = await bookkeeping(h, camille);
  const content = randomBytes(10_000);
  t.equal((await uploadTo(camille, team, 'gros.bin', content)).status, 200);
  t.equal((await groupUsage(team)).used, groupBefore.used + content.length, 'the group space grows');
  t.equal((await bookkeeping(h, camille)).used, personBefore.used, "the person's own usage does not");

  t.equal((await post(admin, `/admin/documents/groupes/${team}`, { quota: '20 Ko' })).status, 200, 'the admin gives the space 20 KiB');
  const usage = parse<{ usage: { used: number; limit: number } }>(await send(h, camille, 'GET', `/documents/groupes/${team}`)).usage;
  t.equal(usage.limit, 20 * 1024, "the space's bar shows its own quota");
  const objects = await objectsOf(h, h.nord);
  const refused = await uploadTo(camille, team, 'trop.bin', randomBytes(20 * 1024));
  t.equal(refused.status, 413, 'over the group quota: 413');
  t.match(parse<{ error: { message: string } }>(refused).error.message, /plein/);
  t.same(await objectsOf(h, h.nord), objects, 'no object left behind');
  t.equal((await groupUsage(team)).reserved, 0, 'no reservation left behind');
  t.equal((await post(admin, `/admin/documents/groupes/${team}`, { quota: '' })).status, 200, 'back to the default');
  t.equal((await uploadTo(camille, team, 'trop.bin', randomBytes(20 * 1024))).status, 200);
});

t.test('a dynamic group: its members by rule read its space; trash and restore in the group', async (t) => {
  const students = newId();
  await h.p.database.app.withTenant(h.nord, (trx) =>
    trx.insertInto('groups').values({ tenant_id: h.nord, id: students, kind: 'dynamic', name: 'Étudiants', rule: { all: [{ attribute: 'affiliation', values: ['student'] }] } as never }).execute(),
  );
  const affiliations = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('people').select('affiliations').where('id', '=', eden.personId).executeTakeFirstOrThrow());
  t.ok(affiliations.affiliations.includes('student'), 'eden is a student');
  const spaces = parse<{ spaces: { id: string; access: string; canManage: boolean }[] }>(await send(h, eden, 'GET', '/documents/groupes'));
  t.same(spaces.spaces.filter((s) => s.id === students).map((s) => [s.access, s.canManage]), [['read', false]], 'a member by rule reads');
  t.equal((await uploadTo(eden, students, 'x.txt', Buffer.from('x'))).status, 403, 'nobody owns a dynamic group: members cannot write');
  t.equal((await post(eden, `/documents/groupes/${students}/acces`, { acces: 'write' })).status, 403);
  t.equal((await post(admin, `/documents/groupes/${students}/acces`, { acces: 'write', retour: 'admin' }, )).status, 200, "the tenant's admin decides for it");
  const sent = await uploadTo(eden, students, 'cours.txt', Buffer.from('cours'));
  t.equal(sent.status, 200, 'now members write');
  const file = fileOf(sent);
  t.equal((await post(eden, `/documents/groupes/${students}/elements/${file.id}/supprimer`)).status, 200, 'trashed');
  const trash = parse<{ items: { id: string }[] }>(await send(h, dominique, 'GET', `/documents/groupes/${students}/corbeille`));
  t.same(trash.items.map((i) => i.id), [file.id], "in the group's trash, seen by another member");
  t.same(parse<{ items: unknown[] }>(await send(h, eden, 'GET', '/documents/corbeille')).items, [], "not in the person's own trash");
  t.equal((await post(dominique, `/documents/groupes/${students}/corbeille/${file.id}/restaurer`)).status, 200, 'restored by a member who writes');
  t.equal((await send(h, dominique, 'GET', `/documents/groupes/${students}/fichiers/${file.id}`)).body.toString(), 'cours');
});

t.test("members racing for the last of a group space's quota never end above it", async (t) => {
  const lab = newId();
  await h.p.database.app.withTenant(h.nord, async (trx) => {
    await trx.insertInto('groups').values({ tenant_id: h.nord, id: lab, kind: 'workgroup', name: 'Labo' }).execute();
    await trx.insertInto('group_members').values([
      { tenant_id: h.nord, group_id: lab, person_id: camille.personId, role: 'owner' },
      { tenant_id: h.nord, group_id: lab, person_id: dominique.personId, role: 'member' },
    ]).execute();
  });
  t.equal((await post(camille, `/documents/groupes/${lab}/acces`, { acces: 'write' })).status, 200);
  t.equal((await post(admin, `/admin/documents/groupes/${lab}`, { quota: '1 Mo' })).status, 200);
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => uploadTo(i % 2 ? camille : dominique, lab, `part-${i}.bin`, randomBytes(100_000))));
  const ok = results.filter((r) => r.status === 200).length;
  const refused = results.filter((r) => r.status === 413).length;
  t.equal(ok + refused, 30, 'each upload landed or was refused as over quota');
  t.ok(ok > 0 && refused > 0, `${ok} landed, ${refused} refused`);
  const usage = await groupUsage(lab);
  t.ok(usage.used <= 1024 * 1024, 'never above the group quota');
  t.equal(usage.used, ok * 100_000, 'exactly what landed');
  t.equal(usage.reserved, 0, 'every reservation given back');
  const nodes = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_nodes').select('id').where('space_id', '=', lab).execute());
  t.equal(nodes.length, ok, 'one row per landed file');
});

t.test("a group file's versions: members read them, writers restore one", async (t) => {
  const docs = newId();
  await h.p.database.app.withTenant(h.nord, async (trx) => {
    await trx.insertInto('groups').values({ tenant_id: h.nord, id: docs, kind: 'workgroup', name: 'Rédaction' }).execute();
    await trx.insertInto('group_members').values([
      { tenant_id: h.nord, group_id: docs, person_id: camille.personId, role: 'owner' },
      { tenant_id: h.nord, group_id: docs, person_id: dominique.personId, role: 'member' },
    ]).execute();
  });
  const first = fileOf(await uploadTo(camille, docs, 'texte.txt', Buffer.from('première')));
  const second = fileOf(await uploadTo(camille, docs, 'texte.txt', Buffer.from('seconde')));
  t.equal(second.id, first.id, 'the same name makes a new version');
  const { versions } = parse<{ versions: { id: string }[] }>(await send(h, dominique, 'GET', `/documents/groupes/${docs}/fichiers/${first.id}/versions`));
  t.equal(versions.length, 2, 'a member sees both');
  const old = versions[1]!.id;
  t.equal((await send(h, dominique, 'GET', `/documents/groupes/${docs}/fichiers/${first.id}?version=${old}`)).body.toString(), 'première', 'and reads the old one');
  const page = await send(h, dominique, 'GET', `/documents/groupes/${docs}/fichiers/${first.id}/versions`, { headers: { accept: 'text/html' } });
  t.notMatch(page.body.toString(), /restaurer/, 'a read-only member is offered no restore');
  t.equal((await post(dominique, `/documents/groupes/${docs}/fichiers/${first.id}/versions/${old}/restaurer`)).status, 403, 'nor can restore');
  t.equal((await send(h, eden, 'GET', `/documents/groupes/${docs}/fichiers/${first.id}/versions`)).status, 404, 'a non-member: 404');
  t.equal((await send(h, camille, 'GET', `/documents/fichiers/${first.id}/versions`)).status, 404, 'not through the personal route');
  t.equal((await post(camille, `/documents/groupes/${docs}/fichiers/${first.id}/versions/${old}/restaurer`)).status, 200, 'the owner restores');
  t.equal((await send(h, dominique, 'GET', `/documents/groupes/${docs}/fichiers/${first.id}`)).body.toString(), 'première');
});
