// The quota bookkeeping under every upload (src/documents/repository.ts), against the real
// PostgreSQL: a reservation makes the usage rows it needs, a recording moves bytes from reserved
// to used and deletes a reservation it uses up (nothing left to release), a release gives back
// only what is left, and a recording that does not fit its reservation changes nothing.
import t from 'tap';
import * as repo from '../../src/documents/repository.js';
import { newId } from '../../src/platform/ids.js';
import { loginAs, send, startDocs } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const db = h.p.database.app;
const MB = 1_000_000;

const limitsOf = (who: { tenantId: string; personId: string }, spaceLimit: number, tenantLimit = 10_000 * MB) => ({ tenantId: who.tenantId, spaceId: who.personId, spaceLimit, tenantLimit });
const booksOf = (who: { tenantId: string; personId: string }) =>
  db.withTenant(who.tenantId, async (trx) => {
    const rows = await trx.selectFrom('document_usage').select(['space_id', 'used', 'reserved']).where('space_id', 'in', [who.tenantId, who.personId]).execute();
    const reservations = await trx.selectFrom('document_reservations').select(['id', 'bytes']).where('space_id', '=', who.personId).execute();
    const row = (id: string) => rows.find((r) => r.space_id === id);
    return {
      space: row(who.personId) && { used: Number(row(who.personId)!.used), reserved: Number(row(who.personId)!.reserved) },
      tenant: row(who.tenantId) && { used: Number(row(who.tenantId)!.used), reserved: Number(row(who.tenantId)!.reserved) },
      reservations: reservations.map((r) => ({ id: r.id, bytes: Number(r.bytes) })),
    };
  });

t.test('a first reservation makes the usage rows, and grants what the space has left', async (t) => {
  const who = await loginAs(h, 'nord', 'first-reservation@univ-nord.example');
  t.equal((await booksOf(who)).space, undefined, 'no usage row before the first upload');
  const id = newId();
  const got = await db.withTenant(who.tenantId, (trx) => repo.reserve(trx, limitsOf(who, 5 * MB), id, 8 * MB));
  t.same(got, { granted: 5 * MB, boundBy: 'space' });
  const books = await booksOf(who);
  t.same(books.space, { used: 0, reserved: 5 * MB });
  t.same(books.reservations, [{ id, bytes: 5 * MB }]);
  await db.withTenant(who.tenantId, (trx) => repo.release(trx, who.tenantId, id));
  t.same(await booksOf(who), { space: { used: 0, reserved: 0 }, tenant: { ...books.tenant!, reserved: books.tenant!.reserved - 5 * MB }, reservations: [] }, 'released: the space and the tenant have nothing reserved');
});

t.test('consume moves bytes to used; the last bytes delete the reservation and release has nothing to do', async (t) => {
  const who = await loginAs(h, 'nord', 'consume@univ-nord.example');
  const id = newId();
  await db.withTenant(who.tenantId, (trx) => repo.reserve(trx, limitsOf(who, 100 * MB), id, 3 * MB));
  const tenantBefore = (await booksOf(who)).tenant!;

  t.equal(await db.withTenant(who.tenantId, (trx) => repo.consume(trx, who.tenantId, who.personId, id, 1 * MB)), false, 'bytes left: kept');
  let books = await booksOf(who);
  t.same(books.space, { used: 1 * MB, reserved: 2 * MB });
  t.same(books.reservations, [{ id, bytes: 2 * MB }]);

  t.equal(await db.withTenant(who.tenantId, (trx) => repo.consume(trx, who.tenantId, who.personId, id, 2 * MB)), true, 'used up: spent');
  books = await booksOf(who);
  t.same(books.space, { used: 3 * MB, reserved: 0 });
  t.same(books.reservations, [], 'the reservation is gone');
  t.same(books.tenant, { used: tenantBefore.used + 3 * MB, reserved: tenantBefore.reserved - 3 * MB }, 'the tenant row moves with the space row');

  await db.withTenant(who.tenantId, (trx) => repo.release(trx, who.tenantId, id));
  t.same(await booksOf(who), books, 'a release afterwards changes nothing');
});

t.test('a recording larger than what its reservation has left, or under another space, changes nothing', async (t) => {
  const who = await loginAs(h, 'nord', 'too-much@univ-nord.example');
  const other = await loginAs(h, 'nord', 'other-space@univ-nord.example');
  const id = newId();
  await db.withTenant(who.tenantId, (trx) => repo.reserve(trx, limitsOf(who, 100 * MB), id, 2 * MB));
  await db.withTenant(other.tenantId, (trx) => repo.reserve(trx, limitsOf(other, 100 * MB), newId(), 0));
  const before = await booksOf(who);
  await t.rejects(db.withTenant(who.tenantId, (trx) => repo.consume(trx, who.tenantId, who.personId, id, 2 * MB + 1)), /reservation missing or too small/);
  await t.rejects(db.withTenant(who.tenantId, (trx) => repo.consume(trx, who.tenantId, other.personId, id, 1 * MB)), /reservation missing or too small/);
  await t.rejects(db.withTenant(who.tenantId, (trx) => repo.consume(trx, who.tenantId, who.personId, newId(), 1)), /reservation missing or too small/);
  t.same(await booksOf(who), before, 'usage and reservation as they were');
  t.same((await booksOf(other)).space, { used: 0, reserved: 0 }, "the other space's counters untouched");

  await db.withTenant(who.tenantId, (trx) => repo.consume(trx, who.tenantId, who.personId, id, 1 * MB));
  await db.withTenant(who.tenantId, (trx) => repo.release(trx, who.tenantId, id));
  const after = await booksOf(who);
  t.same(after.space, { used: 1 * MB, reserved: 0 }, 'release gives back only what was left');
  t.same(after.reservations, []);
});

t.test('an upload of a known size uses its reservation up: no reservation left, none reserved', async (t) => {
  const who = await loginAs(h, 'nord', 'sized@univ-nord.example');
  const res = await send(h, who, 'PUT', '/documents/fichiers?nom=exact.bin', { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(123_456, 7) });
  t.equal(res.status, 200, res.body.toString());
  const books = await booksOf(who);
  t.same(books.space, { used: 123_456, reserved: 0 });
  t.same(books.reservations, []);
});

t.test('a form whose first file takes the last bytes of the quota can still carry an empty file', async (t) => {
  const who = await loginAs(h, 'nord', 'last-bytes@univ-nord.example');
  const limit = 200 * 1024 * 1024;
  await db.withTenant(who.tenantId, (trx) =>
    trx.insertInto('document_usage').values({ tenant_id: who.tenantId, space_id: who.personId, used: limit - 100_000, reserved: 0 }).execute(),
  );
  const boundary = 'reservations-test';
  const part = (name: string, content: Buffer) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="fichiers"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), content, Buffer.from('\r\n')]);
  const body = Buffer.concat([part('plein.bin', Buffer.alloc(100_000, 1)), part('vide.txt', Buffer.alloc(0)), Buffer.from(`--${boundary}--\r\n`)]);
  const res = await send(h, who, 'POST', '/documents/envoi', { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length }, body });
  t.equal(res.status, 200, res.body.toString());
  t.same(
    JSON.parse(res.body.toString()).files.map((f: { name: string; size: number }) => [f.name, f.size]),
    [['plein.bin', 100_000], ['vide.txt', 0]],
  );
  const books = await booksOf(who);
  t.same(books.space, { used: limit, reserved: 0 }, 'the quota is full, nothing reserved');
  t.same(books.reservations, []);
});
