// Quotas under concurrency and uploads that go wrong: a client gone mid-file, S3 gone mid-file.
// Whatever happens, nothing is left behind: no object, no row, no reservation.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createDocumentsService } from '../../src/documents/service.js';
import { createStorage } from '../../src/platform/storage.js';
import { UnavailableError } from '../../src/platform/errors.js';
import { stopHashingThread } from '../../src/platform/hashing.js';
import { assertNothingLeftBehind, bookkeeping, generated, hangUpMidBody, loginAs, multipartBody, objectsOf, startDocs, upload } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const LIMIT = 200 * 1024 * 1024;

t.test('50 concurrent uploads racing for the last 3 MB never end above the quota', async (t) => {
  const who = await loginAs(h, 'nord', 'race@univ-nord.example');
  const base = LIMIT - 3_000_000;
  await h.p.database.app.withTenant(who.tenantId, (trx) =>
    trx.insertInto('document_usage').values({ tenant_id: who.tenantId, space_id: who.personId, used: base, reserved: 0 }).onConflict((oc) => oc.columns(['tenant_id', 'space_id']).doUpdateSet({ used: base })).execute(),
  );
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => upload(h, who, `course-${i}.bin`, randomBytes(100_000))));
  const ok = results.filter((r) => r.status === 200).length;
  const refused = results.filter((r) => r.status === 413).length;
  t.equal(ok + refused, 50, 'each upload either landed or was refused as over quota');
  t.ok(ok > 0 && refused > 0, `${ok} landed, ${refused} refused`);
  const books = await bookkeeping(h, who);
  t.ok(books.used <= LIMIT, 'usage never above the quota');
  t.equal(books.used, base + ok * 100_000, 'usage is exactly what landed');
  t.equal(books.nodes.length, ok, 'one row per landed file');
  t.equal(books.reserved, 0, 'every reservation given back');
  t.equal(books.reservations, 0);
});

t.test('a client that disconnects mid-file leaves no object, no row, no reservation', async (t) => {
  const who = await loginAs(h, 'nord', 'abort@univ-nord.example');
  const before = await objectsOf(h, who.tenantId);
  const size = 30 * 1024 * 1024;
  const { headers } = multipartBody('coupé.bin', size, generated(size).stream);
  const head = Buffer.from(`--${/boundary=(.*)$/.exec(String(headers['content-type']))![1]}\r\nContent-Disposition: form-data; name="fichiers"; filename="coupe.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  // 12 MiB: past the first S3 part, so a multipart upload is under way when the client goes.
  await hangUpMidBody(h, who, { method: 'POST', path: '/documents/envoi', headers, head });
  await assertNothingLeftBehind(t, h, who, before);
});

t.test('S3 gone mid-upload: a clear error and nothing left behind', async (t) => {
  const who = await loginAs(h, 'nord', 's3down@univ-nord.example');
  const target = new URL(h.p.s3.config.endpoint!);
  // A TCP proxy to S3 that cuts every connection once 6 MiB went through, and then refuses all.
  let forwarded = 0;
  let cut = false;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      forwarded += d.length;
      if (forwarded > 6 * 1024 * 1024) {
        cut = true;
        for (const s of sockets) s.destroy();
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => proxy.close());
  const storage = createStorage({ ...h.p.s3.config, endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
  t.teardown(() => storage.close());
  const documents = createDocumentsService({ database: h.p.database.app, storage });
  const actor = { tenant: h.p.registry.bySlug('nord')!, personId: who.personId };
  const before = await objectsOf(h, who.tenantId);
  const size = 20 * 1024 * 1024;
  const error = await documents.upload(actor, null, size, [{ filename: 'gros.bin', stream: generated(size).stream() }]).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, UnavailableError, 'a clear, typed error (503)');
  t.match((error as Error).message, /stockage/);
  const books = await bookkeeping(h, who);
  t.same(books.nodes, [], 'no row');
  t.equal(books.reserved, 0, 'reservation given back');
  t.equal(books.reservations, 0);
  t.same(await objectsOf(h, who.tenantId), before, 'no object');
});

t.test('the hashing thread gone mid-upload: a clear error, nothing left behind, and the next upload works', async (t) => {
  const who = await loginAs(h, 'nord', 'hashdown@univ-nord.example');
  const documents = createDocumentsService({ database: h.p.database.app, storage: h.p.storage });
  const actor = { tenant: h.p.registry.bySlug('nord')!, personId: who.personId };
  const before = await objectsOf(h, who.tenantId);
  const size = 20 * 1024 * 1024;
  const block = randomBytes(1024 * 1024);
  // 20 MiB (hashed in the thread); the thread is stopped once 6 MiB have gone.
  const stream = Readable.from(
    (async function* () {
      for (let i = 0; i < 20; i++) {
        if (i === 6) await stopHashingThread();
        yield block;
      }
    })(),
  );
  const error = await documents.uploadSized(actor, null, 'haché.bin', size, stream).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, UnavailableError, 'a 503, not blamed on the client');
  const books = await bookkeeping(h, who);
  t.same(books.nodes, [], 'no row');
  t.equal(books.reserved, 0, 'reservation given back');
  t.same(await objectsOf(h, who.tenantId), before, 'no object');
  const again = await documents.uploadSized(actor, null, 'haché.bin', size, Readable.from((function* () { for (let i = 0; i < 20; i++) yield block; })()));
  t.equal(again.size, size, 'a new thread hashes the next upload');
});
