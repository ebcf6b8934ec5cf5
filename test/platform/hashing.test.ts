// Stream hashes: on the event loop for small streams, in the hashing thread for large ones; either
// way the digest is the SHA-256 of exactly the bytes given, in order, whatever the chunking, with
// several hashes in flight at once, and a full thread makes the stream wait.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { OFF_THREAD_FROM, streamHash, type StreamHash } from '../../src/platform/hashing.js';

const MiB = 1024 * 1024;
const expected = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Feeds `bytes` in chunks of the given sizes (cycled), waiting whenever the hash says so. */
async function feed(hash: StreamHash, bytes: Buffer, sizes: number[]): Promise<number> {
  let waits = 0;
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const end = Math.min(bytes.length, offset + sizes[i % sizes.length]!);
    const wait = hash.update(bytes.subarray(offset, end));
    if (wait) {
      waits++;
      await wait;
    }
    offset = end;
  }
  return waits;
}

t.test('the digest is the SHA-256 of the bytes, on either side of the threshold and at block edges', async (t) => {
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 17]) {
    for (const expectedBytes of [size, OFF_THREAD_FROM]) {
      const bytes = randomBytes(size);
      const hash = streamHash(expectedBytes);
      await feed(hash, bytes, [65536, 1, 4093, 2 * MiB]);
      t.equal(await hash.digest(), expected(bytes), `${size} bytes, hashed ${expectedBytes >= OFF_THREAD_FROM ? 'in the thread' : 'on the loop'}`);
    }
  }
});

t.test('a large stream makes its writer wait once its blocks are all in the thread', async (t) => {
  const bytes = randomBytes(24 * MiB);
  const hash = streamHash(bytes.length);
  const waits = await feed(hash, bytes, [4 * MiB]);
  t.ok(waits > 0, `the hash asked the stream to wait (${waits} times)`);
  t.equal(await hash.digest(), expected(bytes));
});

t.test('hashes in flight at once keep their bytes apart', async (t) => {
  const inputs = Array.from({ length: 6 }, (_, i) => randomBytes(9 * MiB + i * 1000));
  const hashes = inputs.map(() => streamHash(OFF_THREAD_FROM));
  await Promise.all(inputs.map((bytes, i) => feed(hashes[i]!, bytes, [65536 + i * 7])));
  const digests = await Promise.all(hashes.map((h) => h.digest()));
  t.same(digests, inputs.map(expected));
});

t.test('a disposed hash is forgotten and the others go on', async (t) => {
  const dropped = streamHash(OFF_THREAD_FROM);
  await feed(dropped, randomBytes(3 * MiB), [MiB]);
  dropped.dispose();
  const bytes = randomBytes(10 * MiB);
  const kept = streamHash(bytes.length);
  await feed(kept, bytes, [65536]);
  t.equal(await kept.digest(), expected(bytes));
});
