// `make bench BENCH=stats` (or `npx tsx bench/stats.ts`): what recording a usage event costs a
// request. Two instances of the real app (buildApp) serve the tenant home page from this process,
// one recording a page.view per request (the default), one with recording off (usage: null);
// autocannon loads each in turn, in an order reversed every round, and the figure is the median
// over rounds of the per-round ratio (its two loads ran seconds apart on the same machine).
//   home-recording-off      home page req/s, no recording
//   home-recording-on       home page req/s, a usage event per request (buffered, batch-inserted)
//   recording-slowdown      1 - on/off, in %                             target: <= 5 %
//   events-written          events the recorder wrote during the run (all of them reach PostgreSQL)
//
// Environment: BENCH_SECONDS (3 per load), BENCH_ROUNDS (5), BENCH_CONNECTIONS (16), BENCH_WARMUP (2).
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { connectDatabase } from '../src/platform/db.js';
import { createMailer } from '../src/platform/mail.js';
import { createQueueService } from '../src/platform/queue.js';
import { createStorage } from '../src/platform/storage.js';
import { createUsageRecorder } from '../src/statistics/recorder.js';
import { applyTenants } from '../src/tenancy/apply.js';
import { createTenantRegistry } from '../src/tenancy/registry.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { load } from './lib/load.js';
import { printFigures, writeResults, type Figures } from './lib/results.js';
import { benchConfig, median } from './lib/setup.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_SECONDS', 3);
const ROUNDS = env('BENCH_ROUNDS', 5);
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
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const got: Record<string, number> = {};
    for (const which of order) {
      const result = await load(targets[which], { host: HOST, connections: CONNECTIONS, seconds: SECONDS });
      if (result.failures > 0) throw new Error(`${which}: ${result.failures} failed requests`);
      got[which] = result.requestsPerSecond;
      rps[which].push(result.requestsPerSecond);
    }
    ratios.push(got.on! / got.off!);
    console.log(`round ${round + 1}: off ${got.off!.toFixed(0)} req/s, on ${got.on!.toFixed(0)} req/s`);
  }
  await usage.flush();
  const counters = usage.counters();
  const figures: Figures = {
    'home-recording-off': { value: Math.round(median(rps.off)), unit: 'req/s', better: 'higher' },
    'home-recording-on': { value: Math.round(median(rps.on)), unit: 'req/s', better: 'higher' },
    'recording-slowdown': { value: Number(((1 - median(ratios)) * 100).toFixed(1)), unit: '%', target: 5, better: 'lower' },
    'events-written': { value: counters.written, unit: 'events', better: 'higher' },
  };
  printFigures(figures);
  console.log(`recorder: ${JSON.stringify(counters)}`);
  console.log(`written to ${await writeResults('stats', figures, { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS })}`);
} finally {
  for (const close of closers) await close();
}
