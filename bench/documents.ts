// `make bench BENCH=documents`: "Mes documents" throughput against the same S3 server, in the same
// run: a 1 GiB upload and download through Portique (PUT /documents/fichiers, the file as the body,
// as the page's script sends it: one S3 PutObject of known length; streamed download) compared
// with a direct PutObject / GetObject of the same size (target: at least 80 % of direct); the
// multipart form upload (the no-script path, S3 multipart) as an extra figure; the Portique
// server's RSS growth during a 2 GiB PUT upload (target: under 64 MB; the
// server runs in a child process, bench/lib/documents-server.ts, whose RSS is sampled from /proc
// every 20 ms); and 200 concurrent 1 MB uploads by 20 people: throughput and p99 latency.
// The server runs as `bin/portique serve` does, with infra/malloc.env's allocator settings and
// src/platform/heap.ts's V8 setting; this process (the client and the S3 server, s3rver) with the
// machine's allocator and the same V8 setting, in every arm of a comparison. A third arm, a bare
// Node proxy (bench/lib/bare-proxy.ts, run like the server), shows what proxying alone costs here.
// Every arm deletes its previous 1 GiB object before it uploads, untimed: on this kind of virtual
// machine, memory the guest has not used lately costs about 2.5 s of kernel time per GiB to fill
// again (dd to /dev/shm: 0.4 s per GiB into recycled pages, 2.7 to 3.4 s into fresh ones), so an
// arm whose objects pile up in the S3 server's page cache (Portique keeps versions) was measuring
// the VM's memory, not its own speed.
// Content is generated as it is sent (one 1 MiB block repeated), never held whole by either side.
// Environment: BENCH_BIG_MIB (1024), BENCH_HUGE_MIB (2048), BENCH_CONCURRENT (200),
// BENCH_ROUNDS (5: the 1 GiB figures are medians of alternated rounds).
import '../test/setup/global.js';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parseDocument } from 'yaml';
import { partSizeFor } from '../src/documents/service.js';
import { tuneHeapForStreaming } from '../src/platform/heap.js';
import { createStorage } from '../src/platform/storage.js';
import { applyTenants } from '../src/tenancy/apply.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { REDIS_URL } from '../test/helpers/env.js';
import { startS3, startSmtp } from '../test/helpers/services.js';
import { printFigures, writeResults, type Figures } from './lib/results.js';
import { median } from './lib/setup.js';

// The client and the S3 server get the server's V8 setting: a run of full collections in either
// (src/platform/heap.ts) would otherwise decide a round.
tuneHeapForStreaming();

const MiB = 1024 * 1024;
const BIG = Number(process.env.BENCH_BIG_MIB ?? 1024) * MiB;
const HUGE = Number(process.env.BENCH_HUGE_MIB ?? 2048) * MiB;
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PEOPLE = 20;

const block = randomBytes(MiB);
/** `size` bytes of the repeated block, produced as they are read. */
function content(size: number): Readable {
  return Readable.from(
    (function* () {
      for (let left = size; left > 0; left -= MiB) yield left >= MiB ? block : block.subarray(0, left);
    })(),
    { objectMode: false },
  );
}

async function drain(body: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  return n;
}

interface Session {
  host: string;
  cookie: string;
  csrf: string;
}
/** The bare proxy asks for no session. */
const bareClient: Session = { host: 'bare', cookie: '', csrf: '' };

/** Sends `body` to Portique as `who`; resolves with the JSON answer and the time to it, rejects on a non-200. */
function sendToPortique<T>(port: number, who: Session, method: string, path: string, headers: Record<string, string | number>, body: Readable): Promise<{ answer: T; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers: { host: who.host, cookie: who.cookie, 'x-csrf-token': who.csrf, accept: 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) return reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        resolve({ answer: JSON.parse(text) as T, ms: performance.now() - started });
      });
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

async function uploadThroughPortique(port: number, who: Session, name: string, size: number): Promise<{ id: string; ms: number }> {
  const boundary = `----bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="fichiers"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const body = Readable.from(
    (async function* () {
      yield head;
      yield* content(size);
      yield tail;
    })(),
  );
  const headers = { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + size + tail.length };
  const { answer, ms } = await sendToPortique<{ files: { id: string }[] }>(port, who, 'POST', '/documents/envoi', headers, body);
  return { id: answer.files[0]!.id, ms };
}

/** The page script's way: PUT /documents/fichiers?nom=…, the file as the body, Content-Length known. */
async function putThroughPortique(port: number, who: Session, name: string, size: number): Promise<{ id: string; ms: number }> {
  const headers = { 'content-type': 'application/octet-stream', 'content-length': size };
  const { answer, ms } = await sendToPortique<{ file: { id: string } }>(port, who, 'PUT', `/documents/fichiers?nom=${encodeURIComponent(name)}`, headers, content(size));
  return { id: answer.file.id, ms };
}

/** GET `path` from the server on `port`; resolves with the number of bytes read. */
function download(port: number, path: string, headers: Record<string, string> = {}): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`download: ${res.statusCode}`));
      drain(res).then((bytes) => resolve({ bytes, ms: performance.now() - started }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const downloadThroughPortique = (port: number, who: Session, id: string) => download(port, `/documents/fichiers/${id}`, { host: who.host, cookie: who.cookie });

/** Trash, then purge: the file's objects leave the S3 server. */
async function deleteThroughPortique(port: number, who: Session, id: string): Promise<void> {
  for (const path of [`/documents/elements/${id}/supprimer`, `/documents/corbeille/${id}/supprimer`]) {
    await sendToPortique(port, who, 'POST', path, { 'content-length': 0 }, Readable.from([]));
  }
}

/** What `bin/portique serve` adds to the environment: infra/malloc.env, unless GLIBC_TUNABLES is set. */
function launcherEnv(): Record<string, string> {
  if (process.env.GLIBC_TUNABLES) return {};
  return Object.fromEntries(
    readFileSync('infra/malloc.env', 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** The child's resident set, from /proc (Linux), in bytes. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** CPU seconds used so far by the child `pid` (from /proc, user + system; the server, or the bare proxy) and by this process (the client and s3rver). */
function cpuSeconds(pid: number): { server: number; bench: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const { user, system } = process.cpuUsage();
  return { server: (Number(fields[11]) + Number(fields[12])) / 100, bench: (user + system) / 1e6 };
}
interface Timed<T> {
  result: T;
  ms: number;
  /** CPU seconds spent meanwhile by the server and by this process. */
  cpu: { server: number; bench: number };
}

async function timed<T>(pid: number, run: () => Promise<T>): Promise<Timed<T>> {
  const before = cpuSeconds(pid);
  const started = performance.now();
  const result = await run();
  const ms = performance.now() - started;
  const after = cpuSeconds(pid);
  return { result, ms, cpu: { server: round2(after.server - before.server), bench: round2(after.bench - before.bench) } };
}

type Rounds<S extends string> = Record<S, Timed<unknown>[]>;

const roundsOf = <S extends string>(runs: Rounds<S>) =>
  Object.fromEntries(Object.entries<Timed<unknown>[]>(runs).map(([side, list]) => [side, list.map(({ ms, cpu }) => ({ ms: Math.round(ms), cpu }))]));

/**
 * `rounds` runs of each side, in the given order, then the reverse (ABC CBA ABC...): no side always
 * runs first or after the same other. `before`: untimed preparation of a side's run.
 */
async function alternated<S extends string>(rounds: number, sides: Record<S, () => Promise<unknown>>, how: { serverOf: (side: S) => number; before?: (side: S) => Promise<void> }): Promise<Rounds<S>> {
  const names = Object.keys(sides) as S[];
  const runs = Object.fromEntries(names.map((n) => [n, []])) as unknown as Rounds<S>;
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 ? [...names].reverse() : names) {
      console.log(`  ${side}, round ${round + 1}...`);
      await how.before?.(side);
      runs[side].push(await timed(how.serverOf(side), sides[side]));
    }
  }
  return runs;
}

function sampler(pid: number) {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssOf(pid));
    },
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const mbps = (bytes: number, ms: number) => Math.round((bytes / MiB / (ms / 1000)) * 10) / 10;
const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

// Tenants with room for the bench: nord holds 40 GiB, 10 GiB per person, files up to 4 GiB.
const dir = await mkdtemp(join(tmpdir(), 'portique-bench-documents-'));
await cp('tenants', dir, { recursive: true });
const nordFile = join(dir, 'nord.yaml');
const nordYaml = parseDocument(await readFile(nordFile, 'utf8'));
for (const [k, v] of Object.entries({ storageTotal: '40 GiB', storagePerPerson: '10 GiB', largestUpload: '4 GiB' })) nordYaml.setIn(['quotas', k], v);
await writeFile(nordFile, nordYaml.toString());

const database = await createTestDatabase();
const [s3, smtp] = await Promise.all([startS3('portique-bench'), startSmtp()]);
let child: ReturnType<typeof fork> | undefined;
let bare: ReturnType<typeof fork> | undefined;
try {
  await applyTenants(database.owner.db, dir);
  const serverEnv = {
    DATABASE_URL: database.appUrl,
    REDIS_URL,
    S3_ENDPOINT: s3.config.endpoint!,
    S3_BUCKET: s3.config.bucket,
    S3_ACCESS_KEY_ID: s3.config.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.config.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    SMTP_URL: smtp.url,
    TENANTS_DIR: dir,
  };
  child = fork('bench/lib/documents-server.ts', [], {
    // BENCH_PROFILE=<dir>: the server writes a V8 CPU profile there when it stops.
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])],
    env: { ...process.env, ...launcherEnv(), BENCH_SERVER_ENV: JSON.stringify(serverEnv), BENCH_PEOPLE_COUNT: String(PEOPLE) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  bare = fork('bench/lib/bare-proxy.ts', [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...launcherEnv(), BENCH_S3: JSON.stringify(s3.config) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [[ready], [{ port: barePort }]] = (await Promise.all([once(child, 'message'), once(bare, 'message')])) as [[{ port: number; sessions: Session[] }], [{ port: number }]];
  const { port, sessions } = ready;
  const pid = child.pid!;
  const alix = sessions[0]!;
  // The same S3 client settings as Portique's (createStorage), for the direct figures.
  const direct = createStorage(s3.config);

  // Warm-up: connections, JIT, the first PUT and the first multipart upload.
  await putThroughPortique(port, alix, 'warmup.bin', 16 * MiB);
  await uploadThroughPortique(port, alix, 'warmup-form.bin', 16 * MiB);
  await direct.client.send(new PutObjectCommand({ Bucket: direct.bucket, Key: 'direct/warmup', Body: content(16 * MiB), ContentLength: 16 * MiB }));
  await sendToPortique(barePort, bareClient, 'PUT', '/warmup', { 'content-length': 16 * MiB }, content(16 * MiB));

  // 1. 1 GiB up and down: direct, through Portique, through the bare proxy; ROUNDS of each,
  // alternated, medians. Before each upload, the side's previous object is deleted (untimed).
  const putDirect = (Key: string) => direct.client.send(new PutObjectCommand({ Bucket: direct.bucket, Key, Body: content(BIG), ContentLength: BIG }));
  let portiqueFile: string | undefined;
  const ups = await alternated(
    ROUNDS,
    {
      direct: () => putDirect('direct/big'),
      portique: async () => (portiqueFile = (await putThroughPortique(port, alix, 'gros.bin', BIG)).id),
      bare: () => sendToPortique(barePort, bareClient, 'PUT', '/big', { 'content-length': BIG }, content(BIG)),
    },
    {
      serverOf: (side) => (side === 'bare' ? bare!.pid! : pid),
      async before(side) {
        if (side === 'portique') {
          if (portiqueFile) await deleteThroughPortique(port, alix, portiqueFile);
        } else await direct.client.send(new DeleteObjectCommand({ Bucket: direct.bucket, Key: side === 'direct' ? 'direct/big' : 'bare/big' }));
      },
    },
  );
  const downs = await alternated(
    ROUNDS,
    {
      direct: async () => drain((await direct.client.send(new GetObjectCommand({ Bucket: direct.bucket, Key: 'direct/big' }))).Body as Readable),
      portique: async () => (await downloadThroughPortique(port, alix, portiqueFile!)).bytes,
      bare: async () => (await download(barePort, '/big')).bytes,
    },
    { serverOf: (side) => (side === 'bare' ? bare!.pid! : pid) },
  );
  for (const { result } of [...downs.direct, ...downs.portique, ...downs.bare]) if (result !== BIG) throw new Error(`short read: ${result} of ${BIG} bytes`);
  console.log(`1 GiB: through Portique (multipart form, the no-script path)...`);
  const bigForm = await uploadThroughPortique(port, alix, 'gros-formulaire.bin', BIG);
  // Diagnostic: the same multipart upload the form path does (lib-storage, its part size and
  // queue), straight from here: what S3 multipart itself costs on this server (s3rver re-reads
  // and rewrites every part when the upload completes).
  console.log(`1 GiB: direct multipart (Portique's part size)...`);
  let t0 = performance.now();
  await new Upload({ client: direct.client, params: { Bucket: direct.bucket, Key: 'direct/big-multipart', Body: content(BIG) }, partSize: partSizeFor(4 * 1024 * MiB), queueSize: 2 }).done();
  const directMultipartMs = performance.now() - t0;
  const directPutMs = median(ups.direct.map((r) => r.ms));
  const portiquePutMs = median(ups.portique.map((r) => r.ms));
  const directGetMs = median(downs.direct.map((r) => r.ms));
  const portiqueGetMs = median(downs.portique.map((r) => r.ms));
  const barePutMs = median(ups.bare.map((r) => r.ms));
  const bareGetMs = median(downs.bare.map((r) => r.ms));

  // 2. RSS during a 2 GiB upload.
  console.log(`2 GiB upload, sampling the server's RSS...`);
  const rssBefore = rssOf(pid);
  const sampling = sampler(pid);
  const huge = await putThroughPortique(port, alix, 'tres-gros.bin', HUGE);
  const rssPeak = sampling.stop();

  // 3. 200 concurrent 1 MB uploads, 20 people.
  console.log(`${CONCURRENT} concurrent 1 MB uploads (PUT)...`);
  const size = 1_000_000;
  t0 = performance.now();
  const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => putThroughPortique(port, sessions[i % PEOPLE]!, `petit-${i}.bin`, size)));
  const wallMs = performance.now() - t0;
  const latencies = results.map((r) => r.ms);
  // The same concurrency straight to S3: how much of the time is the S3 server's.
  t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => direct.client.send(new PutObjectCommand({ Bucket: direct.bucket, Key: `direct/small-${i}`, Body: content(size), ContentLength: size }))));
  const directWallMs = performance.now() - t0;

  const figures: Figures = {
    'upload 1 GiB, Portique / direct': { value: round1((directPutMs / portiquePutMs) * 100), unit: '%', target: 80, better: 'higher' },
    'download 1 GiB, Portique / direct': { value: round1((directGetMs / portiqueGetMs) * 100), unit: '%', target: 80, better: 'higher' },
    // The least any Node proxy does (bench/lib/bare-proxy.ts): what proxying costs on this machine.
    'upload 1 GiB, bare Node proxy / direct': { value: round1((directPutMs / barePutMs) * 100), unit: '%', better: 'higher' },
    'download 1 GiB, bare Node proxy / direct': { value: round1((directGetMs / bareGetMs) * 100), unit: '%', better: 'higher' },
    // The multipart form (no script): a file part's size is unknown before its end, so it goes to
    // S3 as multipart; compared with direct PutObject and with the same multipart made directly.
    'upload 1 GiB, multipart form / direct': { value: round1((directPutMs / bigForm.ms) * 100), unit: '%', better: 'higher' },
    'upload 1 GiB, multipart form / direct multipart': { value: round1((directMultipartMs / bigForm.ms) * 100), unit: '%', better: 'higher' },
    'upload 1 GiB through Portique': { value: mbps(BIG, portiquePutMs), unit: 'MiB/s', better: 'higher' },
    'upload 1 GiB through Portique, multipart form': { value: mbps(BIG, bigForm.ms), unit: 'MiB/s', better: 'higher' },
    'upload 1 GiB direct': { value: mbps(BIG, directPutMs), unit: 'MiB/s', better: 'higher' },
    'upload 1 GiB direct, multipart as Portique does': { value: mbps(BIG, directMultipartMs), unit: 'MiB/s', better: 'higher' },
    'download 1 GiB through Portique': { value: mbps(BIG, portiqueGetMs), unit: 'MiB/s', better: 'higher' },
    'download 1 GiB direct': { value: mbps(BIG, directGetMs), unit: 'MiB/s', better: 'higher' },
    // CPU, user + system, that the server spends per 1 GiB (medians): what the ratios above cost it,
    // and steadier than they are on a shared machine.
    'server CPU, 1 GiB upload (PUT)': { value: median(ups.portique.map((r) => r.cpu.server)), unit: 's', better: 'lower' },
    'server CPU, 1 GiB download': { value: median(downs.portique.map((r) => r.cpu.server)), unit: 's', better: 'lower' },
    'server RSS growth, 2 GiB upload (PUT)': { value: round1((rssPeak - rssBefore) / 1e6), unit: 'MB', target: 64, better: 'lower' },
    'upload 2 GiB through Portique (PUT)': { value: mbps(HUGE, huge.ms), unit: 'MiB/s', better: 'higher' },
    [`${CONCURRENT} concurrent 1 MB uploads (PUT): throughput`]: { value: round1(CONCURRENT / (wallMs / 1000)), unit: 'uploads/s', better: 'higher' },
    [`${CONCURRENT} concurrent 1 MB uploads (PUT): p99`]: { value: Math.round(percentile(latencies, 99)), unit: 'ms', better: 'lower' },
    [`${CONCURRENT} concurrent 1 MB uploads (PUT): p50`]: { value: Math.round(percentile(latencies, 50)), unit: 'ms', better: 'lower' },
    [`${CONCURRENT} concurrent 1 MB PutObject direct: throughput`]: { value: round1(CONCURRENT / (directWallMs / 1000)), unit: 'uploads/s', better: 'higher' },
  };
  printFigures(figures);
  const file = await writeResults('documents', figures, { rounds: { upload: roundsOf(ups), download: roundsOf(downs) }, bigMiB: BIG / MiB, hugeMiB: HUGE / MiB, concurrent: CONCURRENT, people: PEOPLE, s3: 's3rver (same machine)', rssBeforeMB: round1(rssBefore / 1e6), rssPeakMB: round1(rssPeak / 1e6) });
  console.log(`written to ${file}`);
  direct.close();
} finally {
  bare?.kill('SIGTERM');
  if (child && child.exitCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]))) child.kill('SIGKILL');
    await exited;
  }
  await Promise.allSettled([s3.close(), smtp.close()]);
  // The killed server's connections take a moment to be noticed by PostgreSQL.
  for (let attempt = 0; ; attempt++) {
    try {
      await database.drop();
      break;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
