// SHA-256 of a stream's bytes as they go by, for a file being uploaded (its scan result and ETag
// are keyed by it). Small files are hashed on the event loop. Large ones are hashed in a worker
// thread: hashing costs the forwarding loop 0.8 CPU second per GiB (1.5 GB/s with SHA-NI), time in
// which it neither reads the client nor writes to S3 (with no hash at all, a 1 GiB PUT through
// Portique reached 81 % of a direct PutObject instead of 63-67 %; bench/documents, 2 cores).
//
// Bytes reach the thread in 1 MiB blocks copied from the stream's chunks (a memcpy, a tenth of the
// hashing's cost) and transferred, not cloned; the thread hands each block back once hashed. A
// hash makes up to BLOCKS of them: when all are in the thread, update() returns a promise that settles
// when one comes back, which is the stream's backpressure. One thread serves every hash of the
// process, each under its own id.
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface StreamHash {
  /** Takes a copy of `chunk`'s bytes; a promise means "wait before the next chunk". */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /** The hex digest of every byte given, once (the hash is spent afterwards). */
  digest(): Promise<string>;
  /** Forgets an unfinished hash (an aborted upload). */
  dispose(): void;
}

/** From this size on, a hash is computed off the event loop. */
export const OFF_THREAD_FROM = 8 * 1024 * 1024;
const BLOCK = 1024 * 1024;
/** Blocks one hash may have at once (what an upload holds for its hash: 2 MiB): one filling while the thread hashes the other. */
const BLOCKS = 2;
/** Spare blocks kept for the next hashes (16 MiB); past that, returned blocks are left to the GC. */
const SPARES_KEPT = 16;
/**
 * Blocks are reused from one hash to the next: fresh ones for every upload made the allocator
 * fault pages in again and again (the server's CPU for a download after such uploads tripled).
 */
const spareBlocks: ArrayBuffer[] = [];

/** A SHA-256 for a stream of about `expectedBytes` (an upper bound will do). */
export function streamHash(expectedBytes: number): StreamHash {
  return expectedBytes >= OFF_THREAD_FROM ? new ThreadHash() : new LoopHash();
}

class LoopHash implements StreamHash {
  private readonly hash = createHash('sha256');
  update(chunk: Uint8Array): undefined {
    this.hash.update(chunk);
    return undefined;
  }
  async digest(): Promise<string> {
    return this.hash.digest('hex');
  }
  dispose(): void {}
}

// The thread's code, plain JavaScript (no loader needed): one hash per id; blocks go back to
// their sender once hashed.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', ({ id, block, length, end }) => {
  let hash = hashes.get(id);
  if (!hash && end !== 'drop') hashes.set(id, (hash = createHash('sha256')));
  if (block) {
    hash.update(new Uint8Array(block, 0, length));
    parentPort.postMessage({ id, block }, [block]);
  } else {
    hashes.delete(id);
    if (end === 'digest') parentPort.postMessage({ id, digest: hash.digest('hex') });
  }
});
`;

type Reply = { id: number; block?: ArrayBuffer; digest?: string };

interface Session {
  returned(block: ArrayBuffer): void;
  finished(digest: string): void;
  failed(error: Error): void;
}

let thread: Worker | undefined;
let nextId = 1;
const sessions = new Map<number, Session>();

function hashThread(): Worker {
  if (thread) return thread;
  const worker = new Worker(THREAD_SOURCE, { eval: true });
  worker.on('message', (reply: Reply) => {
    const session = sessions.get(reply.id);
    if (reply.block) session?.returned(reply.block);
    else if (reply.digest !== undefined) session?.finished(reply.digest);
  });
  const lost = (error: Error) => {
    if (thread === worker) thread = undefined;
    for (const session of sessions.values()) session.failed(error);
    sessions.clear();
  };
  worker.on('error', lost);
  worker.on('exit', (code) => lost(new Error(`the hashing thread stopped (exit code ${code})`)));
  // Idle, it must not keep the process alive (sessions ref it while they last: open and forget).
  worker.unref();
  thread = worker;
  return worker;
}

/** Ends the hashing thread: hashes in flight fail (their uploads answer 503); the next large hash starts another. */
export async function stopHashingThread(): Promise<void> {
  await thread?.terminate();
}

function open(id: number, session: Session): Worker {
  const worker = hashThread();
  if (sessions.size === 0) worker.ref();
  sessions.set(id, session);
  return worker;
}

function forget(id: number): boolean {
  const known = sessions.delete(id);
  if (known && sessions.size === 0) thread?.unref();
  return known;
}

class ThreadHash implements StreamHash {
  private readonly id = nextId++;
  private readonly worker: Worker;
  /** Blocks back from the thread, up to BLOCKS taken from spareBlocks (or made), as the bytes need them. */
  private readonly free: ArrayBuffer[] = [];
  private taken = 0;
  private current: Uint8Array | undefined;
  private filled = 0;
  private error: Error | undefined;
  private waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private result: { resolve: (digest: string) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    this.worker = open(this.id, {
      returned: (block) => {
        this.free.push(block);
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.resolve();
      },
      finished: (digest) => {
        forget(this.id);
        this.giveBack();
        this.result?.resolve(digest);
      },
      failed: (error) => {
        this.error = error;
        this.waiting?.reject(error);
        this.result?.reject(error);
      },
    });
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.current) {
        const block = this.free.pop() ?? (this.taken < BLOCKS ? (this.taken++, spareBlocks.pop() ?? new ArrayBuffer(BLOCK)) : undefined);
        if (!block) {
          const rest = chunk.subarray(offset);
          return new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject })).then(() => this.update(rest));
        }
        this.current = new Uint8Array(block);
        this.filled = 0;
      }
      const n = Math.min(chunk.length - offset, BLOCK - this.filled);
      this.current.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === BLOCK) this.send();
    }
    return undefined;
  }

  digest(): Promise<string> {
    if (this.error) return Promise.reject(this.error);
    if (this.filled > 0) this.send();
    const digest = new Promise<string>((resolve, reject) => (this.result = { resolve, reject }));
    this.worker.postMessage({ id: this.id, end: 'digest' });
    return digest;
  }

  dispose(): void {
    if (!forget(this.id)) return;
    this.worker.postMessage({ id: this.id, end: 'drop' });
    this.giveBack();
  }

  /** Blocks back to the spares once the thread has returned them all (a dispose may leave some there: they are made again). */
  private giveBack(): void {
    if (this.current) this.free.push(this.current.buffer as ArrayBuffer);
    this.current = undefined;
    spareBlocks.push(...this.free.splice(0, SPARES_KEPT - spareBlocks.length));
  }

  private send(): void {
    const block = this.current!.buffer as ArrayBuffer;
    this.worker.postMessage({ id: this.id, block, length: this.filled }, [block]);
    this.current = undefined;
    this.filled = 0;
  }
}
