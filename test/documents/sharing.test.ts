// Sharing and public links against real PostgreSQL, S3 and Redis: who may reach a shared item
// (404, never 403, for anyone without a share), read-only against read-write, groups, another
// tenant's ids, notices; public links: no login, expiry, password, revocation, host, count.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { newId } from '../../src/platform/ids.js';
import { fileOf, json, loginAs, parse, postJson, send, sha256, startDocs, upload, type Person } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const dominique = await loginAs(h, 'nord', 'dominique@univ-nord.example');
const eden = await loginAs(h, 'nord', 'eden@univ-nord.example');
const sudPerson = await loginAs(h, 'sud', 'sacha@univ-sud.example');

const post = (who: Person, path: string, body: unknown = {}) => postJson(h, who, path, body);
const shareWith = (node: string, body: Record<string, string>) => post(camille, `/documents/elements/${node}/partages`, body);

t.test('a file shared read-only: seen, downloaded, not changed; revoked: 404 again', async (t) => {
  const content = randomBytes(5000);
  const file = fileOf(await upload(h, camille, 'rapport.pdf', content));
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'no share: 404');
  t.equal((await send(h, dominique, 'GET', `/documents/elements/${file.id}/partage`)).status, 404, "someone else's sharing page: 404");
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/renommer`, { nom: 'x.pdf' })).status, 404, 'no share: rename 404');

  const shared = await shareWith(file.id, { personne: 'Dominique@univ-nord.example', acces: 'read' });
  t.equal(shared.status, 200, 'shared by address');
  const share = parse<{ id: string; access: string }>(shared);
  t.equal(share.access, 'read');

  const back = await send(h, dominique, 'GET', `/documents/fichiers/${file.id}`);
  t.equal(back.status, 200, 'shared: downloadable');
  t.equal(sha256(back.body), sha256(content));
  const list = parse<{ items: { id: string; access: string }[] }>(await send(h, dominique, 'GET', '/documents/partages'));
  t.same(list.items.map((i) => [i.id, i.access]), [[file.id, 'read']], '"Partagés avec moi" lists it');
  const html = await send(h, dominique, 'GET', '/documents/partages', { headers: { accept: 'text/html' } });
  t.match(html.body.toString(), /Partagés avec moi/);
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/renommer`, { nom: 'x.pdf' })).status, 403, 'read-only cannot rename');
  t.equal((await post(dominique, `/documents/elements/${file.id}/supprimer`)).status, 404, "cannot trash someone else's file");
  t.equal((await send(h, eden, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'a third person: still 404');
  t.equal((await post(dominique, `/documents/partages/${share.id}/revoquer`)).status, 404, 'only the owner revokes');

  const notices = await h.p.database.app.withTenant(h.nord, (trx) =>
    trx.selectFrom('notifications').select(['category', 'title', 'link']).where('person_id', '=', dominique.personId).where('category', '=', 'share').execute(),
  );
  t.equal(notices.length, 1, 'the person shared with is notified');
  t.match(notices[0]!.title, /rapport\.pdf/);

  t.equal((await post(camille, `/documents/partages/${share.id}/revoquer`)).status, 200, 'revoked');
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'revoked: 404');
  t.same(parse<{ items: unknown[] }>(await send(h, dominique, 'GET', '/documents/partages')).items, []);
});

t.test('a folder shared read-write through a group: browse, rename, upload into it', async (t) => {
  const folder = parse<{ id: string }>(await post(camille, '/documents/dossiers', { nom: 'Projet' }));
  const inside = fileOf(await upload(h, camille, 'plan.txt', Buffer.from('plan'), folder.id));
  const groupId = newId();
  await h.p.database.app.withTenant(h.nord, async (trx) => {
    await trx.insertInto('groups').values({ tenant_id: h.nord, id: groupId, kind: 'workgroup', name: 'Équipe projet' }).execute();
    await trx.insertInto('group_members').values([
      { tenant_id: h.nord, group_id: groupId, person_id: camille.personId, role: 'owner' },
      { tenant_id: h.nord, group_id: groupId, person_id: eden.personId, role: 'member' },
    ]).execute();
  });
  t.equal((await send(h, eden, 'GET', `/documents/partages/dossiers/${folder.id}`)).status, 404, 'before the share: 404');
  t.equal((await shareWith(folder.id, { groupe: groupId, acces: 'write' })).status, 200, 'shared with the group');
  const listing = parse<{ items: { id: string }[]; access: string }>(await send(h, eden, 'GET', `/documents/partages/dossiers/${folder.id}`));
  t.equal(listing.access, 'write');
  t.same(listing.items.map((i) => i.id), [inside.id]);
  t.equal((await send(h, eden, 'GET', `/documents/fichiers/${inside.id}`)).status, 200, 'a file under a shared folder is reachable');
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${inside.id}`)).status, 404, 'not a member: 404');
  const renamed = await post(eden, `/documents/partages/elements/${inside.id}/renommer`, { nom: 'plan v2.txt' });
  t.equal(renamed.status, 200, 'read-write renames');
  const { headers, body } = await import('./helpers.js').then((m) => m.multipartBody('ajout.txt', 5, () => m.generated(5).stream()));
  const sent = await send(h, eden, 'POST', `/documents/partages/envoi?dossier=${folder.id}`, { headers, body });
  t.equal(sent.status, 200, 'read-write uploads into the folder');
  const added = fileOf(sent);
  const row = await h.p.database.app.withTenant(h.nord, (trx) =>
    trx.selectFrom('document_nodes').innerJoin('document_versions', 'document_versions.id', 'document_nodes.current_version_id').select(['space_id', 'created_by']).where('document_nodes.id', '=', added.id).executeTakeFirstOrThrow(),
  );
  t.equal(row.space_id, camille.personId, "the file is in the owner's space");
  t.equal(row.created_by, eden.personId, 'its version records who sent it');
  const notices = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('notifications').select('id').where('person_id', '=', eden.personId).where('category', '=', 'share').execute());
  t.equal(notices.length, 1, 'group members are notified');
});

t.test("another tenant's person or group is refused; another tenant sees nothing", async (t) => {
  const file = fileOf(await upload(h, camille, 'interne.txt', Buffer.from('interne')));
  t.equal((await shareWith(file.id, { personne: sudPerson.personId })).status, 404, "another tenant's person id");
  t.equal((await shareWith(file.id, { personne: 'sacha@univ-sud.example' })).status, 404, "another tenant's address");
  const sudGroup = newId();
  await h.p.database.app.withTenant(h.sud, (trx) => trx.insertInto('groups').values({ tenant_id: h.sud, id: sudGroup, kind: 'workgroup', name: 'Sud' }).execute());
  t.equal((await shareWith(file.id, { groupe: sudGroup })).status, 404, "another tenant's group id");
  t.equal((await shareWith(file.id, { personne: dominique.personId, groupe: sudGroup })).status, 400, 'one target only');
  const count = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_shares').select('id').where('node_id', '=', file.id).execute());
  t.equal(count.length, 0, 'no share written');
  t.equal((await send(h, sudPerson, 'GET', `/documents/fichiers/${file.id}`)).status, 404);
  t.equal((await post(sudPerson, `/documents/elements/${file.id}/partages`, { personne: sudPerson.personId })).status, 404, "sharing another tenant's node: 404");
});

const anonymous = (who: Person): Person => ({ ...who, cookie: '', csrf: '' });

t.test('public links: no login, counted, revocable, expiring, tenant host only', async (t) => {
  const content = randomBytes(2000);
  const file = fileOf(await upload(h, camille, 'public.bin', content));
  const created = await post(camille, `/documents/elements/${file.id}/liens`, {});
  t.equal(created.status, 200);
  const { token, link } = parse<{ token: string; link: { id: string } }>(created);
  t.ok(Buffer.from(token, 'base64url').length >= 16, 'token of at least 128 bits');
  const stored = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_links').select('token_sha256').where('id', '=', link.id).executeTakeFirstOrThrow());
  t.not(stored.token_sha256, token, 'the token itself is not stored');

  const anon = anonymous(camille);
  const page = await send(h, anon, 'GET', `/p/${token}`, { headers: { accept: 'text/html' } });
  t.equal(page.status, 200, 'public page without login');
  t.match(page.body.toString(), /public\.bin/);
  const dl = await send(h, anon, 'GET', `/p/${token}/telecharger`);
  t.equal(dl.status, 200);
  t.equal(sha256(dl.body), sha256(content), 'same bytes');
  t.equal(dl.headers['x-content-type-options'], 'nosniff');
  const part = await send(h, anon, 'GET', `/p/${token}/telecharger`, { headers: { range: 'bytes=10-19' } });
  t.equal(part.status, 206);
  const links = parse<{ links: { id: string; downloads: number }[] }>(await send(h, camille, 'GET', `/documents/elements/${file.id}/partage`));
  t.equal(links.links[0]!.downloads, 1, 'one full download counted, not the Range chunk');

  t.equal((await send(h, anonymous(sudPerson), 'GET', `/p/${token}`)).status, 404, "another tenant's host: 404");
  t.equal((await send(h, anonymous(sudPerson), 'GET', `/p/${token}/telecharger`)).status, 404);
  t.equal((await send(h, anon, 'GET', `/p/${token.slice(0, -2)}AA`)).status, 404, 'an unknown token: 404');

  t.equal((await post(dominique, `/documents/liens/${link.id}/revoquer`)).status, 404, 'only the owner revokes');
  t.equal((await post(camille, `/documents/liens/${link.id}/revoquer`)).status, 200);
  t.equal((await send(h, anon, 'GET', `/p/${token}`)).status, 404, 'revoked: 404');
  t.equal((await send(h, anon, 'GET', `/p/${token}/telecharger`)).status, 404);

  const soon = parse<{ token: string; link: { id: string } }>(await post(camille, `/documents/elements/${file.id}/liens`, { expiration: new Date(Date.now() + 3600_000).toISOString() }));
  t.equal((await send(h, anon, 'GET', `/p/${soon.token}/telecharger`)).status, 200, 'before expiry');
  await h.p.database.app.withTenant(h.nord, (trx) => trx.updateTable('document_links').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', soon.link.id).execute());
  t.equal((await send(h, anon, 'GET', `/p/${soon.token}/telecharger`)).status, 404, 'expired: 404');
  t.equal((await post(camille, `/documents/elements/${file.id}/liens`, { expiration: '2001-01-01' })).status, 400, 'an expiry in the past is refused');
  t.equal((await post(dominique, `/documents/elements/${file.id}/liens`, {})).status, 404, "a link on someone else's file: 404");
});

t.test('public links with a password: wrong refused, right downloads, attempts limited', async (t) => {
  const content = Buffer.from('confidentiel');
  const file = fileOf(await upload(h, camille, 'protégé.txt', content));
  const { token, link } = parse<{ token: string; link: { id: string } }>(await post(camille, `/documents/elements/${file.id}/liens`, { motdepasse: 'correct horse' }));
  const hash = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_links').select('password_hash').where('id', '=', link.id).executeTakeFirstOrThrow());
  t.match(hash.password_hash, /^scrypt\$/, 'stored as an scrypt hash');
  const anon = anonymous(camille);
  t.equal((await send(h, anon, 'GET', `/p/${token}/telecharger`)).status, 303, 'no download without the password');
  t.equal((await send(h, anon, 'POST', `/p/${token}`, json({ motdepasse: 'wrong' }))).status, 403, 'wrong password');
  t.equal((await send(h, anon, 'POST', `/p/${token}`, json({}))).status, 403, 'no password');
  const ok = await send(h, anon, 'POST', `/p/${token}`, json({ motdepasse: 'correct horse' }));
  t.equal(ok.status, 200, 'right password');
  t.equal(ok.body.toString(), 'confidentiel');
  let last = 0;
  for (let i = 0; i < 10; i++) last = (await send(h, anon, 'POST', `/p/${token}`, json({ motdepasse: `guess${i}` }))).status;
  t.equal(last, 429, 'too many attempts: 429');
  t.equal((await send(h, anon, 'POST', `/p/${token}`, json({ motdepasse: 'correct horse' }))).status, 429, 'even the right one waits');
});
