// `make bench BENCH=stats` (or `npx tsx bench/stats.ts`): what recording a usage event costs a
// request. Two instances of the real app (buildApp) serve the tenant home page from this process,
// one recording a page.view per request (the default), one with recording off (usage: null).
// autocannon (a child process) loads them in ABBA order (off on on off, then on off off on): the
// second load of a pair runs slower on this machine whatever it serves, and an odd number of
// "off then on" rounds (the former design) charged that to recording. Each round's ratio is its
// two "on" loads over its two "off" loads; the figure is the median over rounds.
//   home-recording-off      home page req/s, no recording
//   home-recording-on       home page req/s, a usage event per request
//   recording-slowdown      1 - on/off, in % (wall clock)                    target: <= 5 %
//   cpu-per-request-off/on  this process's CPU (user + system) per request, in µs: the server's
//                           work only (autocannon is another process), less moved by neighbours
//   recording-cpu-overhead  cpu-per-request on/off - 1, in %
//   events-written          events the recorder wrote during the run (all of them reach PostgreSQL)
//   flush-10k-people        one flush of 10,000 events of 10,000 different people (logged-in
//                           traffic: nothing to merge), ms of wall clock, PostgreSQL included
//
// Environment: BENCH_SECONDS (3 per load), BENCH_ROUNDS (4), BENCH_CONNECTIONS (16), BENCH_WARMUP (2).
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { connectDatabase } from '../src/platform/db.js';
import { createMailer } from '../src/platform/mail.js';
import { createQueueService } from '../src/platform/queue.js';
import { createStorage } from '../src/platform/storage.js';
import { createUsageRecorder } from '../src/statistics/recorder.js';
import { applyTenants } from '../src/tenancy/apply.js';
import { createTenantRegistry } from '../src/tenancy/registry.js';
import { newId } from '../src/platform/ids.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { load } from './lib/load.js';
import { printFigures, writeResults, type Figures } from './lib/results.js';
import { benchConfig, median } from './lib/setup.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_SECONDS', 3);
const ROUNDS = env('BENCH_ROUNDS', 4);
const CONNECTIONS = env('BENCH_CONNECTIONS', 16);
const WARMUP = env('BENCH_WARMUP', 2);
const HOST = 'nord.localhost';

const database = await createTestDatabase();
const closers: (() => Promise<unknown> | void)[] = [() => database.drop()];
try {
  await applyTenants(database.owner.db, 'tenants');
  const config = benchConfig(database.appUrl);
  const appDb = connectDatabase(config.databaseUrl, { max: 10, name: 'portique-bench' });
  closers.unshift(() => appDb.close());
  const registry = await createTenantRegistry(appDb);
  closers.unshift(() => registry.close());
  const queue = createQueueService(config.redisUrl);
  const storage = createStorage(config.s3);
  const mailer = createMailer(config.smtp.url);
  closers.unshift(() => queue.close(), () => storage.close(), () => mailer.close());

  const usage = createUsageRecorder(appDb);
  const on = await buildApp({ config, database: appDb, registry, storage, queue, mailer, usage });
  const off = await buildApp({ config, database: appDb, registry, storage, queue, mailer, usage: null });
  closers.unshift(() => on.close(), () => off.close());
  await on.listen({ host: '127.0.0.1', port: 0 });
  await off.listen({ host: '127.0.0.1', port: 0 });
  const url = (app: typeof on) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
  const targets = { on: url(on), off: url(off) };

  for (const which of ['off', 'on'] as const) await load(targets[which], { host: HOST, connections: CONNECTIONS, seconds: WARMUP });
  const rps = { on: [] as number[], off: [] as number[] };
  const cpu = { on: [] as number[], off: [] as number[] };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? (['on', 'off', 'off', 'on'] as const) : (['off', 'on', 'on', 'off'] as const);
    const got = { on: 0, off: 0 };
    for (const which of order) {
      const before = process.cpuUsage();
      const result = await load(targets[which], { host: HOST, connections: CONNECTIONS, seconds: SECONDS });
      const used = process.cpuUsage(before);
      if (result.failures > 0) throw new Error(`${which}: ${result.failures} failed requests`);
      got[which] += result.requestsPerSecond;
      rps[which].push(result.requestsPerSecond);
      cpu[which].push((used.user + used.system) / result.requests);
    }
    ratios.push(got.on / got.off);
    console.log(`round ${round + 1} (${order.join(' ')}): off ${(got.off / 2).toFixed(0)} req/s, on ${(got.on / 2).toFixed(0)} req/s`);
  }
  await usage.flush();
  const counters = usage.counters();

  // Logged-in traffic merges little: one pending row per person. A flush of 10,000 of them, timed.
  const tenantId = registry.bySlug('nord')!.id;
  for (let i = 0; i < 10_000; i++) usage.record({ tenantId, personId: newId(), event: 'page.view', service: 'portal' });
  const flushStart = performance.now();
  await usage.flush();
  const flushMs = performance.now() - flushStart;

  const cpuOn = median(cpu.on);
  const cpuOff = median(cpu.off);
  const figures: Figures = {
    'home-recording-off': { value: Math.round(median(rps.off)), unit: 'req/s', better: 'higher' },
    'home-recording-on': { value: Math.round(median(rps.on)), unit: 'req/s', better: 'higher' },
    'recording-slowdown': { value: Number(((1 - median(ratios)) * 100).toFixed(1)), unit: '%', target: 5, better: 'lower' },
    'cpu-per-request-off': { value: Number(cpuOff.toFixed(1)), unit: 'µs', better: 'lower' },
    'cpu-per-request-on': { value: Number(cpuOn.toFixed(1)), unit: 'µs', better: 'lower' },
    'recording-cpu-overhead': { value: Number(((cpuOn / cpuOff - 1) * 100).toFixed(1)), unit: '%', target: 5, better: 'lower' },
    'events-written': { value: counters.written, unit: 'events', better: 'higher' },
    'flush-10k-people': { value: Number(flushMs.toFixed(1)), unit: 'ms', better: 'lower' },
  };
  printFigures(figures);
  console.log(`recorder: ${JSON.stringify(usage.counters())}; ratios ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`written to ${await writeResults('stats', figures, { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS })}`);
} finally {
  for (const close of closers) await close();
}
