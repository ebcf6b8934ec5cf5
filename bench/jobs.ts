// `make bench BENCH=jobs` (or `npx tsx bench/jobs.ts`): the job system against the real Redis,
// PostgreSQL and an SMTP sink on this machine, with the worker as `portique worker` runs it.
//   noop-throughput   jobs.ping jobs completed per second, two tenants' queues at once
//   mail-throughput   mail.send jobs per second (render, delivery record, one SMTP connection per
//                     message to a local sink that discards the data), two tenants at once
//   fairness-*        while tenant A has BENCH_BACKLOG (100,000) jobs queued, how long tenant
//                     B's next mail takes to reach the SMTP server, and B's next job to run
//                     (median and worst of BENCH_SAMPLES); target: a few seconds
// The mail rate limit of the declarations (600/min) is raised for the bench's own copy of
// tenants/, so the machinery, not the limiter, is measured. Queues live under a prefix of their
// own in Redis, removed at the end.
//
// Environment: BENCH_NOOP (20000), BENCH_MAILS (2000), BENCH_BACKLOG (100000), BENCH_SAMPLES (5).
import { Type } from '@sinclair/typebox';
import { Redis } from 'ioredis';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config.js';
import { createJobs } from '../src/jobs/client.js';
import { defineJob } from '../src/jobs/deps.js';
import { queueName } from '../src/jobs/queues.js';
import { JOBS } from '../src/jobs/registry.js';
import { startJobWorker } from '../src/jobs/worker.js';
import { createMailer } from '../src/platform/mail.js';
import { createQueueService } from '../src/platform/queue.js';
import { applyTenants } from '../src/tenancy/apply.js';
import { createTenantRegistry } from '../src/tenancy/registry.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { REDIS_URL } from '../test/helpers/env.js';
import { printFigures, writeResults, type Figures } from './lib/results.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const NOOP = env('BENCH_NOOP', 20_000);
const MAILS = env('BENCH_MAILS', 2000);
const BACKLOG = env('BENCH_BACKLOG', 100_000);
const SAMPLES = env('BENCH_SAMPLES', 5);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// The SMTP sink: accepts and discards, and tells who waits for which subject.
let delivered = 0;
const subjectWaiters = new Map<string, () => void>();
const sink = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  disableReverseLookup: true, // the sink's own DNS lookups are not ours to measure
  logger: false,
  onData(stream, _session, callback) {
    let head = '';
    stream.on('data', (chunk: Buffer) => {
      if (head.length < 4096) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      delivered++;
      const subject = /^Subject: (.*)$/m.exec(head)?.[1]?.trim();
      if (subject) subjectWaiters.get(subject)?.();
      callback();
    });
  },
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const smtpUrl = `smtp://127.0.0.1:${(sink.server.address() as AddressInfo).port}`;

const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-bench-tenants-'));
await cp('tenants', tenantsDir, { recursive: true });
for (const slug of ['nord', 'sud']) {
  const file = join(tenantsDir, `${slug}.yaml`);
  await writeFile(file, (await readFile(file, 'utf8')).replace(/ratePerMinute: \d+/, 'ratePerMinute: 100000'));
}

const database = await createTestDatabase();
await applyTenants(database.owner.db, tenantsDir);
const registry = await createTenantRegistry(database.app, { listen: false });
const nord = registry.bySlug('nord')!.id;
const sud = registry.bySlug('sud')!.id;
const prefix = `pbench-${randomBytes(4).toString('hex')}`;
const queues = createQueueService(REDIS_URL, { prefix });
await new Promise<void>((resolve) => (queues.redis.status === 'ready' ? resolve() : queues.redis.once('ready', () => resolve())));
const mailer = createMailer(smtpUrl);
const config = loadConfig({
  NODE_ENV: 'test', DATABASE_URL: database.appUrl, REDIS_URL, S3_BUCKET: 'unused', S3_ACCESS_KEY_ID: 'unused',
  S3_SECRET_ACCESS_KEY: 'unused', SMTP_URL: smtpUrl, PORT: '3000',
});
const jobs = createJobs(queues);

// The backlog's jobs: a little work each, like an import's rows.
const ran = new Map<string, number>();
const benchWork = defineJob({
  name: 'bench.work',
  lane: 'default',
  payload: { ms: Type.Integer(), mark: Type.Optional(Type.String()) },
  attempts: 1,
  async handle(p) {
    if (p.ms) await sleep(p.ms);
    if (p.mark) ran.set(p.mark, Date.now());
  },
});
const log = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
const worker = await startJobWorker(
  { config, database: database.app, registry, mailer },
  { redisUrl: REDIS_URL, queues, log, definitions: [...JOBS, benchWork], schedules: [] },
);

async function addMany(tenantId: string, count: number, job: (i: number) => { name: string; data: object }) {
  const queue = queues.queue(queueName(tenantId, 'default'));
  for (let i = 0; i < count; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ ...job(i + k), opts: { removeOnComplete: true } })));
  }
}

async function drained(tenants: string[]) {
  for (;;) {
    const counts = await Promise.all(tenants.map((t) => jobs.counts(t)));
    if (counts.every((c) => c.waiting + c.active + c.delayed === 0)) return;
    await sleep(20);
  }
}

const figures: Figures = {};
try {
  // 1. No-op jobs: the queue's own cost. Enqueued while the worker is paused, then timed.
  await worker.runner.close(5000);
  await addMany(nord, NOOP / 2, () => ({ name: 'jobs.ping', data: { tenantId: nord } }));
  await addMany(sud, NOOP / 2, () => ({ name: 'jobs.ping', data: { tenantId: sud } }));
  const w2 = await startJobWorker(
    { config, database: database.app, registry, mailer },
    { redisUrl: REDIS_URL, queues, log, definitions: [...JOBS, benchWork], schedules: [] },
  );
  let started = Date.now();
  await drained([nord, sud]);
  figures['noop-throughput'] = { value: Math.round(NOOP / ((Date.now() - started) / 1000)), unit: 'jobs/s', target: 1000, better: 'higher' };
  console.log(`noop: ${NOOP} jobs`);

  // 2. Mail jobs to the SMTP sink.
  const before = delivered;
  started = Date.now();
  await Promise.all(
    Array.from({ length: MAILS }, (_, i) =>
      jobs.enqueue('mail.send', {
        tenantId: i % 2 ? nord : sud,
        key: `bench:${i}`,
        to: { address: `person${i}@example.test`, name: `Person ${i}` },
        message: { template: 'notice', props: { subject: `Bench ${i}`, heading: 'Import terminé', paragraphs: ['1 204 personnes importées.'], action: { label: 'Voir le rapport', path: '/admin/imports/1' } } },
      }),
    ),
  );
  while (delivered - before < MAILS) await sleep(20);
  figures['mail-throughput'] = { value: Math.round(MAILS / ((Date.now() - started) / 1000)), unit: 'mails/s', target: 50, better: 'higher' };
  console.log(`mail: ${MAILS} mails delivered`);

  // 3. Fairness: nord has BACKLOG jobs queued (5 ms each: hours of work at its concurrency).
  started = Date.now();
  await addMany(nord, BACKLOG, () => ({ name: 'bench.work', data: { tenantId: nord, ms: 5 } }));
  console.log(`fairness: ${BACKLOG} jobs queued for nord in ${Date.now() - started} ms`);
  const mailLatencies: number[] = [];
  const jobLatencies: number[] = [];
  let minWaiting = Infinity;
  for (let s = 0; s < SAMPLES; s++) {
    const subject = `Fair ${s}`;
    const arrived = new Promise<number>((resolve) => subjectWaiters.set(subject, () => resolve(Date.now())));
    const t0 = Date.now();
    await jobs.enqueue('mail.send', { tenantId: sud, key: `fair:${s}`, to: { address: 'b@example.test' }, message: { template: 'notice', props: { subject, heading: subject, paragraphs: [] } } });
    await queues.queue(queueName(sud, 'default')).add('bench.work', { tenantId: sud, ms: 0, mark: subject });
    mailLatencies.push((await arrived) - t0);
    while (!ran.has(subject)) await sleep(2);
    jobLatencies.push(ran.get(subject)! - t0);
    minWaiting = Math.min(minWaiting, await queues.queue(queueName(nord, 'default')).getWaitingCount());
    await sleep(300);
  }
  console.log(`fairness: nord still had at least ${minWaiting} jobs waiting during the samples`);
  figures['fairness-mail-latency-median'] = { value: median(mailLatencies), unit: 'ms', target: 3000, better: 'lower' };
  figures['fairness-mail-latency-max'] = { value: Math.max(...mailLatencies), unit: 'ms', target: 3000, better: 'lower' };
  figures['fairness-job-latency-max'] = { value: Math.max(...jobLatencies), unit: 'ms', target: 3000, better: 'lower' };

  printFigures(figures);
  const file = await writeResults('jobs', figures, { noopJobs: NOOP, mails: MAILS, backlog: BACKLOG, samples: SAMPLES, backlogWaitingAtLeast: minWaiting, concurrencyPerTenantQueue: 4 });
  console.log(`written to ${file}`);
  await w2.close(2000);
} finally {
  await worker.close(1000);
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  await queues.close();
  mailer.close();
  await registry.close();
  await database.drop();
  await rm(tenantsDir, { recursive: true, force: true });
  await new Promise<void>((resolve) => sink.close(() => resolve()));
}
