// The sharing gaps, against real PostgreSQL, S3 and Redis: public links on folders (browse and
// download under the folder only; a token never reaches a sibling, a parent, the trash or another
// tenant; a password opens the folder for that link only), move/copy/trash of items shared with
// me (write needed to change, read enough to copy to my space; whose quota each one uses), and
// copies of large objects as multipart copies.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { copyObject } from '../../src/documents/copy-object.js';
import { createDocumentsService } from '../../src/documents/service.js';
import { newId } from '../../src/platform/ids.js';
import type { Storage } from '../../src/platform/storage.js';
import { bookkeeping, fileOf, generated, json, loginAs, objectsOf, parse, postJson, send, sha256, startDocs, upload, type Person } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const dominique = await loginAs(h, 'nord', 'dominique@univ-nord.example');
const eden = await loginAs(h, 'nord', 'eden@univ-nord.example');
const sudPerson = await loginAs(h, 'sud', 'sacha@univ-sud.example');

const post = (who: Person, path: string, body: unknown = {}) => postJson(h, who, path, body);
const folder = async (who: Person, name: string, parent?: string) => parse<{ id: string }>(await post(who, '/documents/dossiers', { nom: name, ...(parent ? { parent } : {}) })).id;
const anonymous = (who: Person, cookie = ''): Person => ({ ...who, cookie, csrf: '' });
const linkOn = async (who: Person, node: string, body: object = {}) => parse<{ token: string; link: { id: string } }>(await post(who, `/documents/elements/${node}/liens`, body));

t.test('a public link on a folder: what is under it, nothing else', async (t) => {
  const shared = await folder(camille, 'Public');
  const sub = await folder(camille, 'Sous-dossier', shared);
  const sibling = await folder(camille, 'Privé');
  const a = randomBytes(1500);
  const b = randomBytes(700);
  const fileA = fileOf(await upload(h, camille, 'a.bin', a, shared));
  const fileB = fileOf(await upload(h, camille, 'b.bin', b, sub));
  const secret = fileOf(await upload(h, camille, 'secret.txt', Buffer.from('secret'), sibling));
  const atRoot = fileOf(await upload(h, camille, 'racine.txt', Buffer.from('racine')));
  const trashed = fileOf(await upload(h, camille, 'jeté.txt', Buffer.from('jeté'), shared));
  t.equal((await post(camille, `/documents/elements/${trashed.id}/supprimer`)).status, 200);
  const sudFile = fileOf(await upload(h, sudPerson, 'sud.txt', Buffer.from('sud')));

  const { token, link } = await linkOn(camille, shared);
  const anon = anonymous(camille);
  const root = await send(h, anon, 'GET', `/p/${token}`);
  t.equal(root.status, 200, 'the folder, without login');
  t.same(parse<{ items: { name: string }[] }>(root).items.map((i) => i.name), ['Sous-dossier', 'a.bin'], 'its content (the trashed file not listed)');
  const html = await send(h, anon, 'GET', `/p/${token}`, { headers: { accept: 'text/html' } });
  t.match(html.body.toString(), new RegExp(`/p/${token}/fichiers/${fileA.id}`), 'the page links files under the token');
  t.same(parse<{ items: { name: string }[] }>(await send(h, anon, 'GET', `/p/${token}?dossier=${sub}`)).items.map((i) => i.name), ['b.bin'], 'a sub-folder');
  t.equal(sha256((await send(h, anon, 'GET', `/p/${token}/fichiers/${fileA.id}`)).body), sha256(a), 'a file in it');
  const deep = await send(h, anon, 'GET', `/p/${token}/fichiers/${fileB.id}`);
  t.equal(deep.status, 200);
  t.equal(sha256(deep.body), sha256(b), 'a file in a sub-folder');
  t.equal(deep.headers['x-content-type-options'], 'nosniff');
  t.equal((await send(h, anon, 'GET', `/p/${token}/fichiers/${fileA.id}`, { headers: { range: 'bytes=0-9' } })).status, 206, 'Range works');

  for (const [what, id] of [
    ['a sibling folder', sibling],
    ['a file in a sibling folder', secret.id],
    ['a file at the root', atRoot.id],
    ['a trashed file under the folder', trashed.id],
    ["another tenant's file", sudFile.id],
    ['an unknown id', newId()],
    ['not an id', '..%2F..%2Fx'],
  ] as const) {
    t.equal((await send(h, anon, 'GET', `/p/${token}/fichiers/${id}`)).status, 404, `${what}: 404 as a file`);
    t.equal((await send(h, anon, 'GET', `/p/${token}?dossier=${id}`)).status, 404, `${what}: 404 as a folder`);
  }
  t.equal((await send(h, anon, 'GET', `/p/${token}/fichiers/${sub}`)).status, 404, 'a folder is not downloaded');
  t.equal((await send(h, anon, 'GET', `/p/${token}/telecharger`)).status, 404, 'a folder link has no single download');
  t.equal((await send(h, anonymous(sudPerson), 'GET', `/p/${token}`)).status, 404, "another tenant's host: 404");
  t.equal((await send(h, anonymous(sudPerson), 'GET', `/p/${token}/fichiers/${fileA.id}`)).status, 404);

  const fileLink = await linkOn(camille, atRoot.id);
  t.equal((await send(h, anon, 'GET', `/p/${fileLink.token}/fichiers/${atRoot.id}`)).status, 404, "a file's link does not browse");

  // Moving a sub-folder out, or trashing it, takes it out of the link's reach at once.
  t.equal((await post(camille, `/documents/elements/${sub}/deplacer`, { cible: sibling })).status, 200);
  t.equal((await send(h, anon, 'GET', `/p/${token}/fichiers/${fileB.id}`)).status, 404, 'moved out: 404');
  const links = parse<{ links: { id: string; downloads: number }[] }>(await send(h, camille, 'GET', `/documents/elements/${shared}/partage`));
  t.equal(links.links.find((l) => l.id === link.id)!.downloads, 3, 'downloads counted (full reads, not Range chunks after the first byte)');
  t.equal((await post(camille, `/documents/liens/${link.id}/revoquer`)).status, 200);
  t.equal((await send(h, anon, 'GET', `/p/${token}/fichiers/${fileA.id}`)).status, 404, 'revoked: 404');
});

t.test('a folder link with a password: opened by the right one, for that link only', async (t) => {
  const shared = await folder(camille, 'Protégé');
  const content = Buffer.from('confidentiel');
  const file = fileOf(await upload(h, camille, 'c.txt', content, shared));
  const other = await folder(camille, 'Autre protégé');
  const otherFile = fileOf(await upload(h, camille, 'd.txt', Buffer.from('autre'), other));
  const { token } = await linkOn(camille, shared, { motdepasse: 'correct horse' });
  const second = await linkOn(camille, other, { motdepasse: 'correct horse' });
  const anon = anonymous(camille);

  const locked = await send(h, anon, 'GET', `/p/${token}`, { headers: { accept: 'text/html' } });
  t.equal(locked.status, 200);
  t.match(locked.body.toString(), /type="password"/, 'asks for the password');
  t.notMatch(locked.body.toString(), /c\.txt/, 'shows nothing of the content');
  t.equal((await send(h, anon, 'GET', `/p/${token}/fichiers/${file.id}`)).status, 303, 'no file without the password');
  t.equal((await send(h, anon, 'POST', `/p/${token}`, json({ motdepasse: 'wrong' }))).status, 403, 'wrong password');
  t.equal((await send(h, anonymous(camille, 'portique_link=' + 'A'.repeat(43)), 'GET', `/p/${token}/fichiers/${file.id}`)).status, 303, 'a forged grant opens nothing');

  const opened = await send(h, anon, 'POST', `/p/${token}`, json({ motdepasse: 'correct horse' }));
  t.equal(opened.status, 303, 'right password: back to the folder');
  const cookie = String(opened.headers['set-cookie']).split(';')[0]!;
  t.match(String(opened.headers['set-cookie']), new RegExp(`Path=/p/${token}`), 'the grant is scoped to this link');
  t.match(String(opened.headers['set-cookie']), /HttpOnly/);
  const unlocked = anonymous(camille, cookie);
  t.same(parse<{ items: { name: string }[] }>(await send(h, unlocked, 'GET', `/p/${token}`)).items.map((i) => i.name), ['c.txt'], 'listed with the grant');
  t.equal((await send(h, unlocked, 'GET', `/p/${token}/fichiers/${file.id}`)).body.toString(), 'confidentiel', 'downloaded with the grant');
  t.equal((await send(h, unlocked, 'GET', `/p/${second.token}/fichiers/${otherFile.id}`)).status, 303, "the grant does not open another link's folder, same password or not");
});

t.test('items shared with me in write mode: move, copy, trash; whose quota each uses', async (t) => {
  const shared = await folder(camille, 'Projet commun');
  const inner = await folder(camille, 'Livrables', shared);
  const notShared = await folder(camille, 'Perso');
  const content = randomBytes(4000);
  const file = fileOf(await upload(h, camille, 'plan.bin', content, shared));
  t.equal((await post(camille, `/documents/elements/${shared}/partages`, { personne: dominique.personId, acces: 'write' })).status, 200);
  const edenFolder = await folder(eden, 'Chez Eden');
  t.equal((await post(eden, `/documents/elements/${edenFolder}/partages`, { personne: dominique.personId, acces: 'write' })).status, 200);

  const camilleBefore = await bookkeeping(h, camille);
  const dominiqueBefore = await bookkeeping(h, dominique);

  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/deplacer`, { cible: notShared })).status, 404, 'into a folder not shared with me: 404');
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/deplacer`, { cible: edenFolder })).status, 404, "into another owner's folder: 404 (it would leave its owner's space)");
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/deplacer`, { cible: '' })).status, 404, "to the owner's root: 404");
  t.equal((await post(dominique, `/documents/partages/elements/${shared}/deplacer`, { cible: inner })).status, 400, 'a folder into itself: 400');
  const moved = await post(dominique, `/documents/partages/elements/${file.id}/deplacer`, { cible: inner });
  t.equal(moved.status, 200, 'moved within the shared folder');
  t.equal(parse<{ parentId: string }>(moved).parentId, inner);
  t.equal((await bookkeeping(h, camille)).used, camilleBefore.used, "a move changes no one's usage");

  const intoShared = await post(dominique, `/documents/partages/elements/${file.id}/copier`, { cible: shared });
  t.equal(intoShared.status, 200, 'copied into the shared folder');
  const copyRow = await h.p.database.app.withTenant(h.nord, (trx) =>
    trx.selectFrom('document_nodes').innerJoin('document_versions', 'document_versions.id', 'document_nodes.current_version_id').select(['space_id', 'created_by']).where('document_nodes.id', '=', parse<{ id: string }>(intoShared).id).executeTakeFirstOrThrow(),
  );
  t.same(copyRow, { space_id: camille.personId, created_by: dominique.personId }, "in the owner's space, sent by me");
  t.equal((await bookkeeping(h, camille)).used, camilleBefore.used + content.length, "a copy into the owner's folder counts against the owner");
  t.equal((await bookkeeping(h, dominique)).used, dominiqueBefore.used, 'not against me');

  const mine = await post(dominique, `/documents/partages/elements/${file.id}/copier`, { cible: '' });
  t.equal(mine.status, 200, 'copied into my own space');
  const myCopy = parse<{ id: string }>(mine);
  t.equal(sha256((await send(h, dominique, 'GET', `/documents/fichiers/${myCopy.id}`)).body), sha256(content), 'same bytes, mine now');
  t.equal((await bookkeeping(h, dominique)).used, dominiqueBefore.used + content.length, 'a copy into my space counts against me');
  t.equal((await bookkeeping(h, camille)).used, camilleBefore.used + content.length, 'not against the owner');

  const trashed = await post(dominique, `/documents/partages/elements/${file.id}/supprimer`);
  t.equal(trashed.status, 200, 'trashed');
  const ownerTrash = parse<{ items: { id: string }[] }>(await send(h, camille, 'GET', '/documents/corbeille'));
  t.ok(ownerTrash.items.some((i) => i.id === file.id), "in the owner's trash, who can restore it");
  t.notOk(parse<{ items: { id: string }[] }>(await send(h, dominique, 'GET', '/documents/corbeille')).items.some((i) => i.id === file.id), 'not in mine');
  t.equal((await bookkeeping(h, camille)).used, camilleBefore.used + content.length, "still counted against the owner until the owner's trash is emptied");
  t.equal((await send(h, dominique, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'no longer reachable by the person it was shared with');
  t.equal((await post(camille, `/documents/corbeille/${file.id}/supprimer`)).status, 200, 'the owner purges it');
  t.equal((await bookkeeping(h, camille)).used, camilleBefore.used, 'and gets the space back');
});

t.test('read-only shares, strangers and other tenants cannot change anything', async (t) => {
  const ro = await folder(eden, 'Lecture seule');
  const target = await folder(eden, 'Cible', ro);
  const file = fileOf(await upload(h, eden, 'lu.bin', randomBytes(1200), ro));
  t.equal((await post(eden, `/documents/elements/${ro}/partages`, { personne: dominique.personId, acces: 'read' })).status, 200);
  const before = await objectsOf(h, h.nord);
  const edenBefore = await bookkeeping(h, eden);

  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/deplacer`, { cible: target })).status, 403, 'read-only: move 403');
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/supprimer`)).status, 403, 'read-only: trash 403');
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/copier`, { cible: target })).status, 403, 'read-only: copy into the shared folder 403');
  for (const who of [camille, sudPerson]) {
    t.equal((await post(who, `/documents/partages/elements/${file.id}/deplacer`, { cible: target })).status, 404, 'no share: 404');
    t.equal((await post(who, `/documents/partages/elements/${file.id}/copier`, { cible: '' })).status, 404);
    t.equal((await post(who, `/documents/partages/elements/${file.id}/supprimer`)).status, 404);
  }
  t.same(await objectsOf(h, h.nord), before, 'no object written');
  const after = await bookkeeping(h, eden);
  t.same([after.used, after.nodes.length], [edenBefore.used, edenBefore.nodes.length], "the owner's space unchanged");
  const live = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_nodes').select(['parent_id', 'deleted_at']).where('id', '=', file.id).executeTakeFirstOrThrow());
  t.same(live, { parent_id: ro, deleted_at: null }, 'the file has not moved');

  // Read access is enough to copy into my own space, within my quota.
  await h.p.database.app.withTenant(h.nord, (trx) => trx.insertInto('document_person_quotas').values({ tenant_id: h.nord, person_id: dominique.personId, quota: 1 }).execute());
  const objects = await objectsOf(h, h.nord);
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/copier`, { cible: '' })).status, 413, 'over my quota: 413');
  t.same(await objectsOf(h, h.nord), objects, 'no copied object left behind');
  t.equal((await bookkeeping(h, dominique)).reserved, 0, 'no reservation left behind');
  await h.p.database.app.withTenant(h.nord, (trx) => trx.deleteFrom('document_person_quotas').where('person_id', '=', dominique.personId).execute());
  t.equal((await post(dominique, `/documents/partages/elements/${file.id}/copier`, { cible: '' })).status, 200, 'within it: copied');
});

t.test('copies above the single-copy limit are multipart copies, byte for byte', async (t) => {
  const size = 12 * 1024 * 1024 + 123;
  const content = generated(size, 'multipart');
  const file = fileOf(await upload(h, camille, 'gros.bin', { size, stream: content.stream }));
  // The same service, told that the single-copy limit is 5 MiB (S3's is 5 GiB) so that the test stays small.
  // Its S3 calls are recorded on their way to the real server.
  const sent: string[] = [];
  const real = h.p.storage.client;
  const storage = { ...h.p.storage, client: { send: (command: { constructor: { name: string } }) => (sent.push(command.constructor.name), real.send(command as never)) } } as unknown as Storage;
  const documents = createDocumentsService({ database: h.p.database.app, storage, copy: { multipartAbove: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 } });
  const actor = { tenant: h.p.registry.bySlug('nord')!, personId: camille.personId };
  const before = await bookkeeping(h, camille);
  const copy = await documents.copy(actor, file.id, null);
  t.not(copy.id, file.id);
  const { version } = await documents.open(actor, copy.id);
  const head = await h.p.storage.client.send(new HeadObjectCommand({ Bucket: h.p.storage.bucket, Key: version.objectKey }));
  t.ok(sent.includes('CreateMultipartUploadCommand') && sent.includes('CompleteMultipartUploadCommand'), 'a multipart upload');
  t.ok(sent.includes('UploadPartCopyCommand'), 'UploadPartCopy asked first');
  // s3rver answers NotImplemented to UploadPartCopy: the parts are then streamed through, part by part.
  t.equal(sent.filter((n) => n === 'UploadPartCommand').length, 3, 'three parts of at most 5 MiB');
  t.notOk(sent.includes('CopyObjectCommand'), 'no single CopyObject');
  t.equal(head.ContentLength, size);
  const back = await send(h, camille, 'GET', `/documents/fichiers/${copy.id}`);
  t.equal(sha256(back.body), content.sha256, 'same bytes');
  t.equal((await bookkeeping(h, camille)).used, before.used + size, 'counted once against the quota');
});

t.test('multipart copy: UploadPartCopy ranges cover the object; a failure aborts the upload', async (t) => {
  // A recording S3 client: the part arithmetic and the order of calls, as a real S3 sees them.
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const fake = (failOnPart?: number) =>
    ({
      bucket: 'b',
      client: {
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          calls.push({ name: command.constructor.name, input: command.input });
          if (command.constructor.name === 'CreateMultipartUploadCommand') return { UploadId: 'u1' };
          if (command.constructor.name === 'UploadPartCopyCommand') {
            if (command.input.PartNumber === failOnPart) throw Object.assign(new Error('boom'), { name: 'InternalError' });
            return { CopyPartResult: { ETag: `"e${command.input.PartNumber}"` } };
          }
          return {};
        },
      },
    }) as unknown as Storage;
  const GiB = 1024 ** 3;
  const size = 11 * GiB + 17;
  t.equal(await copyObject(fake(), 'b', { key: 't/documents/src', size, contentType: 'video/mp4' }, 't/documents/dst'), 'multipart', 'above 5 GiB: multipart');
  const parts = calls.filter((c) => c.name === 'UploadPartCopyCommand').map((c) => c.input);
  const ranges = parts.map((p) => /^bytes=(\d+)-(\d+)$/.exec(String(p.CopySourceRange))!.slice(1).map(Number) as [number, number]).sort((a, b) => a[0] - b[0]);
  t.equal(ranges[0]![0], 0, 'from the first byte');
  t.equal(ranges[ranges.length - 1]![1], size - 1, 'to the last');
  t.ok(ranges.every((r, i) => i === 0 || r[0] === ranges[i - 1]![1] + 1), 'contiguous, no overlap');
  t.ok(ranges.slice(0, -1).every(([a, b]) => b - a + 1 >= 5 * 1024 * 1024 && b - a + 1 <= 5 * GiB), 'parts between 5 MiB and 5 GiB');
  t.equal(parts[0]!.CopySource, 'b/t/documents/src');
  const complete = calls.find((c) => c.name === 'CompleteMultipartUploadCommand')!.input as { MultipartUpload: { Parts: { PartNumber: number }[] } };
  t.same(complete.MultipartUpload.Parts.map((p) => p.PartNumber), parts.map((_, i) => i + 1), 'completed with every part, in order');
  t.notOk(calls.some((c) => c.name === 'CopyObjectCommand'), 'no CopyObject');

  calls.length = 0;
  t.equal(await copyObject(fake(), 'b', { key: 's', size: 5 * GiB, contentType: 'x' }, 'd'), 'single', 'exactly 5 GiB: one CopyObject');
  calls.length = 0;
  await t.rejects(copyObject(fake(3), 'b', { key: 's', size, contentType: 'x' }, 'd'), /boom/, 'a failed part fails the copy');
  t.ok(calls.some((c) => c.name === 'AbortMultipartUploadCommand' && c.input.UploadId === 'u1'), 'and aborts the multipart upload');
  t.notOk(calls.some((c) => c.name === 'CompleteMultipartUploadCommand'), 'never completed');
});

t.test('a share with a dynamic group reaches the people its rule matches, now', async (t) => {
  const students = newId();
  await h.p.database.app.withTenant(h.nord, (trx) =>
    trx.insertInto('groups').values({ tenant_id: h.nord, id: students, kind: 'dynamic', name: 'Étudiants du Nord', rule: { all: [{ attribute: 'affiliation', values: ['student'] }] } as never }).execute(),
  );
  const staff = await loginAs(h, 'nord', 'frankie@univ-nord.example');
  await h.p.database.app.withTenant(h.nord, (trx) => trx.updateTable('people').set({ affiliations: ['staff'] }).where('id', '=', staff.personId).execute());
  const page = await send(h, camille, 'GET', `/documents/elements/${await folder(camille, 'Pour voir')}/partage`, { headers: { accept: 'text/html' } });
  t.match(page.body.toString(), new RegExp(`<option value="${students}">`), 'the owner may pick the dynamic group they belong to');

  const shared = await folder(camille, 'Annonces');
  const file = fileOf(await upload(h, camille, 'rentrée.txt', Buffer.from('rentrée'), shared));
  t.equal((await send(h, eden, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'before the share: 404');
  t.equal((await post(camille, `/documents/elements/${shared}/partages`, { groupe: students, acces: 'read' })).status, 200);
  t.equal((await send(h, eden, 'GET', `/documents/fichiers/${file.id}`)).body.toString(), 'rentrée', 'a student (by rule, in no member table) reads it');
  t.ok(parse<{ items: { id: string }[] }>(await send(h, eden, 'GET', '/documents/partages')).items.some((i) => i.id === shared), "listed in the student's shares");
  t.equal((await send(h, staff, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'staff, whom the rule does not match: 404');
  t.equal((await post(eden, `/documents/partages/elements/${file.id}/supprimer`)).status, 403, 'read only');
  const notices = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('notifications').select('person_id').where('category', '=', 'share').where('title', 'like', '%Annonces%').execute());
  const told = notices.map((n) => n.person_id);
  t.ok(told.includes(eden.personId) && told.includes(dominique.personId), 'the members by rule are told');
  t.notOk(told.includes(staff.personId) || told.includes(camille.personId), 'not the others, nor the sharer');

  await h.p.database.app.withTenant(h.nord, (trx) => trx.updateTable('people').set({ affiliations: ['alum'] }).where('id', '=', eden.personId).execute());
  t.equal((await send(h, eden, 'GET', `/documents/fichiers/${file.id}`)).status, 404, 'no longer matching the rule: 404 at once');
  await h.p.database.app.withTenant(h.nord, (trx) => trx.updateTable('people').set({ affiliations: ['student'] }).where('id', '=', eden.personId).execute());
});
