// "Mes documents" through HTTP against real PostgreSQL and S3: content round trips with
// checksums, Range, who may see what (404, never 403), trash, versions and hostile names.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { bookkeeping, generated, loginAs, objectsOf, send, sha256, startDocs, upload } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const dominique = await loginAs(h, 'nord', 'dominique@univ-nord.example');
const sudPerson = await loginAs(h, 'sud', 'sacha@univ-sud.example');

const fileOf = (res: { body: Buffer }) => (JSON.parse(res.body.toString()) as { files: { id: string; name: string; size: number }[] }).files[0]!;

t.test('empty, small and large streamed files come back byte for byte', async (t) => {
  const cases = [
    { name: 'vide.txt', content: Buffer.alloc(0) },
    { name: 'Hélène ✓.txt', content: Buffer.from('Bonjour, Hélène !\n') },
    { name: 'aléatoire.bin', content: randomBytes(300 * 1024) },
  ];
  for (const c of cases) {
    const res = await upload(h, camille, c.name, c.content);
    t.equal(res.status, 200, `${c.name}: uploaded`);
    const file = fileOf(res);
    t.equal(file.size, c.content.length);
    const back = await send(h, camille, 'GET', `/documents/fichiers/${file.id}`);
    t.equal(back.status, 200);
    t.equal(sha256(back.body), sha256(c.content), `${c.name}: same bytes`);
    t.match(back.headers['content-disposition'], /^attachment; filename=/);
    t.equal(back.headers['x-content-type-options'], 'nosniff');
  }
  // 40 MiB generated as it is sent: several S3 parts, never a buffer of the whole file.
  const big = generated(40 * 1024 * 1024, 'big');
  const res = await upload(h, camille, 'grand.bin', { size: 40 * 1024 * 1024, stream: big.stream });
  t.equal(res.status, 200, 'large file uploaded');
  const back = await send(h, camille, 'GET', `/documents/fichiers/${fileOf(res).id}`);
  t.equal(back.body.length, 40 * 1024 * 1024);
  t.equal(sha256(back.body), big.sha256, 'large file: same checksum');
  const books = await bookkeeping(h, camille);
  t.equal(books.reserved, 0, 'no reservation left');
  t.equal(books.used, 18 + 300 * 1024 + 40 * 1024 * 1024 + Buffer.byteLength('Bonjour, Hélène !\n') - 18, 'usage is the bytes stored');
});

t.test('Range requests', async (t) => {
  const content = randomBytes(10_000);
  const file = fileOf(await upload(h, camille, 'video.mp4', content));
  const part = await send(h, camille, 'GET', `/documents/fichiers/${file.id}`, { headers: { range: 'bytes=100-199' } });
  t.equal(part.status, 206);
  t.equal(part.headers['content-range'], 'bytes 100-199/10000');
  t.same(part.body, content.subarray(100, 200));
  const tail = await send(h, camille, 'GET', `/documents/fichiers/${file.id}`, { headers: { range: 'bytes=-10' } });
  t.same(tail.body, content.subarray(9990));
  const open = await send(h, camille, 'GET', `/documents/fichiers/${file.id}`, { headers: { range: 'bytes=9000-' } });
  t.same(open.body, content.subarray(9000));
  const bad = await send(h, camille, 'GET', `/documents/fichiers/${file.id}`, { headers: { range: 'bytes=20000-' } });
  t.equal(bad.status, 416);
  t.equal(bad.headers['content-range'], 'bytes */10000');
  t.equal(part.headers['content-type'], 'video/mp4');
});

t.test('active content is never served as such', async (t) => {
  const html = fileOf(await upload(h, camille, 'page.html', Buffer.from('<script>alert(1)</script>')));
  const res = await send(h, camille, 'GET', `/documents/fichiers/${html.id}?affichage=1`);
  t.match(res.headers['content-disposition'], /^attachment;/, 'HTML is an attachment even when asked inline');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.match(res.headers['content-security-policy'], /default-src 'none'.*sandbox/);
  const svg = fileOf(await upload(h, camille, 'logo.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>')));
  t.match((await send(h, camille, 'GET', `/documents/fichiers/${svg.id}?affichage=1`)).headers['content-disposition'], /^attachment;/);
  const pdf = fileOf(await upload(h, camille, 'cours.pdf', Buffer.from('%PDF-1.4')));
  const inline = await send(h, camille, 'GET', `/documents/fichiers/${pdf.id}?affichage=1`);
  t.match(inline.headers['content-disposition'], /^inline;/);
  t.equal(inline.headers['content-type'], 'application/pdf');
});

t.test('ids leak nothing: another person or another tenant gets 404', async (t) => {
  const mine = fileOf(await upload(h, camille, 'secret.txt', Buffer.from('secret')));
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${mine.id}`)).status, 404, 'another person, no share: 404');
  t.equal((await send(h, dominique, 'POST', `/documents/elements/${mine.id}/supprimer`, { headers: { 'content-type': 'application/json' }, body: '{}' })).status, 404);
  t.equal((await send(h, dominique, 'POST', `/documents/elements/${mine.id}/renommer`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nom: 'x' }) })).status, 404);
  t.equal((await send(h, sudPerson, 'GET', `/documents/fichiers/${mine.id}`)).status, 404, "another tenant's id on my host: 404");
  t.equal((await send(h, sudPerson, 'GET', `/documents?dossier=${mine.id}`)).status, 404);
  t.equal((await send(h, camille, 'GET', '/documents/fichiers/not-a-uuid')).status, 404);
  const anonymous = await h.p.app.inject({ method: 'GET', url: `/documents/fichiers/${mine.id}`, headers: { host: 'nord.localhost', accept: 'text/html' } });
  t.equal(anonymous.statusCode, 303, 'logged out: to the login page');
});

t.test('folders, rename, move, copy, search', async (t) => {
  const json = { 'content-type': 'application/json' };
  const mk = async (nom: string, parent?: string) => JSON.parse((await send(h, dominique, 'POST', '/documents/dossiers', { headers: json, body: JSON.stringify({ nom, ...(parent ? { parent } : {}) }) })).body.toString());
  const cours = await mk('Cours');
  const td = await mk('TD', cours.id);
  t.equal((await send(h, dominique, 'POST', '/documents/dossiers', { headers: json, body: JSON.stringify({ nom: 'cours' }) })).status, 409, 'names are unique per folder, whatever the case');
  const file = fileOf(await upload(h, dominique, 'notes.txt', Buffer.from('notes'), td.id));
  t.equal((await send(h, dominique, 'POST', `/documents/elements/${cours.id}/deplacer`, { headers: json, body: JSON.stringify({ cible: td.id }) })).status, 400, 'no folder inside itself');
  const renamed = JSON.parse((await send(h, dominique, 'POST', `/documents/elements/${file.id}/renommer`, { headers: json, body: JSON.stringify({ nom: 'résumé.txt' }) })).body.toString());
  t.equal(renamed.name, 'résumé.txt');
  const moved = JSON.parse((await send(h, dominique, 'POST', `/documents/elements/${file.id}/deplacer`, { headers: json, body: JSON.stringify({ cible: cours.id }) })).body.toString());
  t.equal(moved.parentId, cours.id);
  const copy = await send(h, dominique, 'POST', `/documents/elements/${cours.id}/copier`, { headers: json, body: '{}' });
  t.equal(copy.status, 200);
  t.equal(JSON.parse(copy.body.toString()).name, 'Cours (2)', 'the copy gets a free name');
  const found = JSON.parse((await send(h, dominique, 'GET', `/documents/recherche?q=${encodeURIComponent('RÉSUMÉ')}`)).body.toString());
  t.equal(found.results.length, 2, 'search by name finds the original and the copy');
  const copied = found.results.find((r: { id: string }) => r.id !== file.id);
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${copied.id}`)).body.toString(), 'notes');
  t.equal((await bookkeeping(h, dominique)).used, 10, 'the copy counts in the quota');
});

t.test('trash: restore and purge', async (t) => {
  const json = { 'content-type': 'application/json' };
  const folder = JSON.parse((await send(h, dominique, 'POST', '/documents/dossiers', { headers: json, body: JSON.stringify({ nom: 'Archives' }) })).body.toString());
  const file = fileOf(await upload(h, dominique, 'vieux.txt', Buffer.from('vieux contenu'), folder.id));
  const before = await bookkeeping(h, dominique);
  await send(h, dominique, 'POST', `/documents/elements/${folder.id}/supprimer`, { headers: json, body: '{}' });
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'a file in a trashed folder is gone from view');
  const trash = JSON.parse((await send(h, dominique, 'GET', '/documents/corbeille')).body.toString());
  t.same(trash.items.map((i: { id: string }) => i.id), [folder.id], 'the trash lists what was deleted');
  await send(h, dominique, 'POST', `/documents/corbeille/${folder.id}/restaurer`, { headers: json, body: '{}' });
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${file.id}`)).body.toString(), 'vieux contenu', 'restored with its content');
  await send(h, dominique, 'POST', `/documents/elements/${folder.id}/supprimer`, { headers: json, body: '{}' });
  const keysBefore = await objectsOf(h, dominique.tenantId);
  const purged = await send(h, dominique, 'POST', '/documents/corbeille/vider', { headers: json, body: '{}' });
  t.equal(JSON.parse(purged.body.toString()).purged, 1);
  const after = await bookkeeping(h, dominique);
  t.equal(after.used, before.used - 13, 'purging frees the quota');
  t.notOk(after.nodes.some((n) => n.id === file.id), 'rows gone');
  t.equal((await objectsOf(h, dominique.tenantId)).length, keysBefore.length - 1, 'object gone');
});

t.test('re-uploading a name keeps versions, restorable', async (t) => {
  let id = '';
  for (const text of ['v1', 'v2', 'v3']) id = fileOf(await upload(h, sudPerson, 'rapport.odt', Buffer.from(text))).id;
  const { versions } = JSON.parse((await send(h, sudPerson, 'GET', `/documents/fichiers/${id}/versions`)).body.toString());
  t.equal(versions.length, 3);
  t.equal((await send(h, sudPerson, 'GET', `/documents/fichiers/${id}`)).body.toString(), 'v3');
  t.equal((await send(h, sudPerson, 'GET', `/documents/fichiers/${id}?version=${versions[2].id}`)).body.toString(), 'v1');
  await send(h, sudPerson, 'POST', `/documents/fichiers/${id}/versions/${versions[2].id}/restaurer`, { headers: { 'content-type': 'application/json' }, body: '{}' });
  t.equal((await send(h, sudPerson, 'GET', `/documents/fichiers/${id}`)).body.toString(), 'v1', 'an old version made current');
  for (let i = 0; i < 12; i++) await upload(h, sudPerson, 'rapport.odt', Buffer.from(`w${i}`));
  const after = JSON.parse((await send(h, sudPerson, 'GET', `/documents/fichiers/${id}/versions`)).body.toString());
  t.equal(after.versions.length, 10, 'only the last 10 are kept');
  t.equal((await bookkeeping(h, sudPerson)).used, 8 * 2 + 2 * 3, 'pruned versions leave the quota (w2..w11 kept)');
});

t.test('hostile names are neutralised, kept readable', async (t) => {
  const cases: [string, string][] = [
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['facture\u202Efdp.exe', 'facturefdp.exe'],
    ['a\u0000b\u0007c.txt', 'abc.txt'],
    ['CON.txt', '_CON.txt'],
    ['rapport.pdf. . ', 'rapport.pdf'],
    ['日本語のファイル.txt', '日本語のファイル.txt'],
  ];
  for (const [raw, expected] of cases) {
    const res = await upload(h, dominique, raw, Buffer.from('x'));
    t.equal(res.status, 200, `${JSON.stringify(raw)} accepted`);
    t.equal(fileOf(res).name, expected);
  }
  t.equal((await upload(h, dominique, '..', Buffer.from('x'))).status, 400, '".." refused');
  const file = fileOf(await upload(h, dominique, 'à renommer.txt', Buffer.from('x')));
  const renamed = await send(h, dominique, 'POST', `/documents/elements/${file.id}/renommer`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nom: '../../x\u2215y\\z.txt' }) });
  t.equal(JSON.parse(renamed.body.toString()).name, '.._.._x_y_z.txt', 'a rename cannot name a path either');
  const books = await bookkeeping(h, dominique);
  t.equal(books.reserved, 0);
  t.equal(books.reservations, 0);
});

t.test('a file above the largest upload is refused and leaves nothing', async (t) => {
  const before = await objectsOf(h, sudPerson.tenantId);
  const res = await upload(h, sudPerson, 'trop-gros.bin', generated(2 * 1024 * 1024, 'x') && { size: 2 * 1024 * 1024, stream: generated(2 * 1024 * 1024).stream });
  t.equal(res.status, 413);
  const books = await bookkeeping(h, sudPerson);
  t.equal(books.reserved, 0);
  t.notOk(books.nodes.some((n) => n.name === 'trop-gros.bin'));
  t.same(await objectsOf(h, sudPerson.tenantId), before);
});

t.test('pages work without JavaScript', async (t) => {
  const page = await send(h, camille, 'GET', '/documents', { headers: { accept: 'text/html' } });
  t.equal(page.status, 200);
  const html = page.body.toString();
  t.match(html, /enctype="multipart\/form-data"/);
  t.match(html, /<meter/);
  t.match(html, /grand\.bin/);
  const trash = await send(h, camille, 'GET', '/documents/corbeille', { headers: { accept: 'text/html' } });
  t.equal(trash.status, 200);
  const missing = await send(h, camille, 'GET', '/documents?dossier=0190aaaa-0000-7000-8000-000000000000', { headers: { accept: 'text/html' } });
  t.equal(missing.status, 404);
  t.match(missing.body.toString(), /Ce dossier n&#39;existe pas|Ce dossier n'existe pas/);
});

t.test('the enhancement script is served', async (t) => {
  const res = await h.p.app.inject({ method: 'GET', url: '/static/documents.js', headers: { host: 'nord.localhost' } });
  t.equal(res.statusCode, 200);
  t.match(res.body, /data-documents-upload/);
});
