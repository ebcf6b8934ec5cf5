// PUT /documents/fichiers (and /documents/groupes/:id/fichiers): one file as the raw request body,
// its size from Content-Length, against real PostgreSQL and S3. Round trips by checksum, the
// refusals that come before a byte is read (411, 413, 404, 403, CSRF) and a body cut short:
// nothing recorded, nothing stored, nothing reserved.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { newId } from '../../src/platform/ids.js';
import { assertNothingLeftBehind, bookkeeping, generated, hangUpMidBody, loginAs, objectsOf, send, sha256, startDocs, type Person } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const dominique = await loginAs(h, 'nord', 'dominique@univ-nord.example');
const sudPerson = await loginAs(h, 'sud', 'sacha@univ-sud.example');

type FileJson = { file: { id: string; name: string; size: number; contentType: string; parentId: string | null } };
const parse = <T>(res: { body: Buffer }) => JSON.parse(res.body.toString()) as T;
const query = (name: string, folder?: string) => `nom=${encodeURIComponent(name)}${folder ? `&dossier=${folder}` : ''}`;
const put = (who: Person, name: string, content: Buffer, folder?: string, headers: Record<string, string | number> = {}) =>
  send(h, who, 'PUT', `/documents/fichiers?${query(name, folder)}`, { headers: { 'content-type': 'application/octet-stream', 'content-length': content.length, ...headers }, body: content });

t.test('a file sent as the body comes back byte for byte; same name: a new version', async (t) => {
  const size = 12 * 1024 * 1024 + 17;
  const big = generated(size, 'put');
  const res = await send(h, camille, 'PUT', `/documents/fichiers?${query('Résumé ✓.pdf')}`, { headers: { 'content-type': 'text/plain', 'content-length': size }, body: big.stream() });
  t.equal(res.status, 200, res.body.toString());
  const { file } = parse<FileJson>(res);
  t.equal(file.size, size);
  t.equal(file.name, 'Résumé ✓.pdf');
  t.equal(file.contentType, 'application/pdf', "the type comes from the name, not the request's Content-Type");
  const back = await send(h, camille, 'GET', `/documents/fichiers/${file.id}`);
  t.equal(back.body.length, size);
  t.equal(sha256(back.body), big.sha256, 'same checksum');
  t.equal(back.headers.etag, `"${big.sha256}"`, 'the recorded SHA-256 is the content');

  const second = randomBytes(1000);
  const again = parse<FileJson>(await put(camille, 'Résumé ✓.pdf', second));
  t.equal(again.file.id, file.id, 'same name in the same folder: the same file');
  const versions = parse<{ versions: unknown[] }>(await send(h, camille, 'GET', `/documents/fichiers/${file.id}/versions`));
  t.equal(versions.versions.length, 2, 'with a second version');
  t.equal(sha256((await send(h, camille, 'GET', `/documents/fichiers/${file.id}`)).body), sha256(second), 'the new content is current');
  const books = await bookkeeping(h, camille);
  t.equal(books.used, size + 1000, 'usage counts both versions');
  t.equal(books.reserved, 0, 'no reservation left');
  t.equal(books.reservations, 0);
});

t.test('an empty file, with or without a Content-Type', async (t) => {
  for (const headers of [{}, { 'content-type': 'application/json' }] as Record<string, string>[]) {
    const name = `vide-${Object.keys(headers).length}.txt`;
    const res = await send(h, camille, 'PUT', `/documents/fichiers?${query(name)}`, { headers: { 'content-length': 0, ...headers }, body: '' });
    t.equal(res.status, 200, res.body.toString());
    const { file } = parse<FileJson>(res);
    t.equal(file.size, 0);
    const back = await send(h, camille, 'GET', `/documents/fichiers/${file.id}`);
    t.equal(back.status, 200);
    t.equal(back.body.length, 0);
  }
});

t.test('into a folder; folders of others and of other tenants are not found', async (t) => {
  const folder = parse<{ id: string }>(await send(h, camille, 'POST', '/documents/dossiers', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nom: 'Cours' }) }));
  const res = await put(camille, 'notes.txt', Buffer.from('notes'), folder.id);
  t.equal(res.status, 200);
  t.equal(parse<FileJson>(res).file.parentId, folder.id);
  const objects = await objectsOf(h, h.nord);
  const books = await bookkeeping(h, dominique);
  t.equal((await put(dominique, 'intrus.txt', Buffer.from('x'), folder.id)).status, 404, "another person's folder: 404");
  t.equal((await put(sudPerson, 'intrus.txt', Buffer.from('x'), folder.id)).status, 404, "another tenant's folder: 404");
  t.equal((await put(dominique, 'intrus.txt', Buffer.from('x'), 'pas-un-id')).status, 404, 'a malformed id: 404');
  t.same(await objectsOf(h, h.nord), objects, 'nothing stored');
  t.same(await objectsOf(h, h.sud), [], 'nothing stored for the other tenant');
  t.same(await bookkeeping(h, dominique), books, 'nothing recorded, nothing reserved');
  t.equal((await put(camille, '..', Buffer.from('x'))).status, 400, 'an unusable name: 400');
  t.equal((await send(h, camille, 'PUT', '/documents/fichiers', { headers: { 'content-length': 1 }, body: 'x' })).status, 400, 'no name: 400');
});

t.test('the size must be announced, and fit, before a byte is read', async (t) => {
  const who = await loginAs(h, 'sud', 'quota@univ-sud.example'); // sud: 1 MiB per file, 5 MiB per person
  const chunked = await send(h, who, 'PUT', `/documents/fichiers?${query('flux.bin')}`, { headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: generated(1000).stream() });
  t.equal(chunked.status, 411, 'no Content-Length: 411');
  t.match(parse<{ error: { message: string } }>(chunked).error.message, /Content-Length/);
  // Announce more than allowed and send only the start: the answer must come without the body.
  const refused = async (size: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: h.port, agent: false, method: 'PUT', path: `/documents/fichiers?${query('gros.bin')}`, headers: { host: who.host, cookie: who.cookie, 'x-csrf-token': who.csrf, accept: 'application/json', 'content-length': size } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
  t.equal((await refused(2 * 1024 * 1024)).status, 413, 'above the largest file: 413');
  // Fill the space to 4.5 MiB, then announce 800 KiB (under the 1 MiB per file, over the 5 MiB space).
  for (let i = 0; i < 4; i++) t.equal((await put(who, `rempli-${i}.bin`, Buffer.alloc(1024 * 1024))).status, 200);
  t.equal((await put(who, 'rempli-4.bin', Buffer.alloc(512 * 1024))).status, 200);
  const over = await refused(800 * 1024);
  t.equal(over.status, 413, 'above what is left of the quota: 413');
  t.match(over.body, /plein/);
  const books = await bookkeeping(h, who);
  t.equal(books.used, 4.5 * 1024 * 1024);
  t.equal(books.reserved, 0, 'nothing reserved');
  t.equal(books.reservations, 0);
  t.equal(books.nodes.length, 5);
  // Exactly what is left fits: the reservation is the Content-Length, not the largest file.
  t.equal((await put(who, 'dernier.bin', Buffer.alloc(512 * 1024))).status, 200, 'the exact remainder fits');
});

t.test('a body cut short leaves no row, no object, no reservation', async (t) => {
  const who = await loginAs(h, 'nord', 'coupe@univ-nord.example');
  const before = await objectsOf(h, who.tenantId);
  await hangUpMidBody(h, who, { method: 'PUT', path: `/documents/fichiers?${query('coupé.bin')}`, headers: { 'content-length': 30 * 1024 * 1024 } });
  await assertNothingLeftBehind(t, h, who, before);
  // And the server still works for this person.
  t.equal((await put(who, 'ensuite.txt', Buffer.from('ok'))).status, 200);
});

t.test('CSRF: refused without the token', async (t) => {
  const objects = await objectsOf(h, h.nord);
  const books = await bookkeeping(h, camille);
  const res = await put(camille, 'sans-jeton.txt', Buffer.from('x'), undefined, { 'x-csrf-token': '' });
  t.equal(res.status, 403);
  const wrong = await put(camille, 'sans-jeton.txt', Buffer.from('x'), undefined, { 'x-csrf-token': 'faux' });
  t.equal(wrong.status, 403);
  const anonymous = await send(h, { ...camille, cookie: '' }, 'PUT', `/documents/fichiers?${query('anonyme.txt')}`, { headers: { 'content-length': 1 }, body: 'x' });
  t.equal(anonymous.status, 401, 'no session: 401');
  t.same(await objectsOf(h, h.nord), objects, 'nothing stored');
  t.same(await bookkeeping(h, camille), books, 'nothing recorded');
});

t.test('group spaces: writers PUT into them, read-only members 403, non-members and other tenants 404', async (t) => {
  const team = newId();
  await h.p.database.app.withTenant(h.nord, async (trx) => {
    await trx.insertInto('groups').values({ tenant_id: h.nord, id: team, kind: 'workgroup', name: 'Équipe PUT' }).execute();
    await trx.insertInto('group_members').values([
      { tenant_id: h.nord, group_id: team, person_id: camille.personId, role: 'owner' },
      { tenant_id: h.nord, group_id: team, person_id: dominique.personId, role: 'member' },
    ]).execute();
  });
  const putGroup = (who: Person, name: string, content: Buffer) =>
    send(h, who, 'PUT', `/documents/groupes/${team}/fichiers?${query(name)}`, { headers: { 'content-length': content.length }, body: content });
  const content = randomBytes(5000);
  const ok = await putGroup(camille, 'commun.bin', content);
  t.equal(ok.status, 200, ok.body.toString());
  const { file } = parse<FileJson>(ok);
  t.equal(sha256((await send(h, dominique, 'GET', `/documents/groupes/${team}/fichiers/${file.id}`)).body), sha256(content), 'a member reads it back');
  const usage = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_usage').select('used').where('space_id', '=', team).executeTakeFirstOrThrow());
  t.equal(Number(usage.used), 5000, "counted against the group's space");
  const objects = await objectsOf(h, h.nord);
  t.equal((await putGroup(dominique, 'ajout.bin', Buffer.from('non'))).status, 403, 'read-only member: 403');
  const eden = await loginAs(h, 'nord', 'eden@univ-nord.example');
  t.equal((await putGroup(eden, 'ajout.bin', Buffer.from('non'))).status, 404, 'non-member: 404');
  t.equal((await putGroup(sudPerson, 'ajout.bin', Buffer.from('non'))).status, 404, 'another tenant: 404');
  t.same(await objectsOf(h, h.nord), objects, 'nothing stored');
});
