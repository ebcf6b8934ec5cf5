// `make bench BENCH=portal`: what the portal and withTenant cost, against baselines measured in
// the same run. The real app (buildApp) serves from this process on 127.0.0.1; autocannon loads
// it from a child process, one route at a time:
//   bare         a JSON route doing nothing, through the app's hooks (tenant from Host, helmet...)
//   home         the tenant home page                              target: >= 40% of bare
//   plain-read   one primary-key read with plain postgres.js: no Kysely, no transaction
//   tenant-read  the same read as the application does it: Kysely, withTenant, RLS
//                                                                  target: >= 50% of plain-read
//   tenant-read-only  the same read through readTenant (read-only, one round trip per statement)
//                                                                  target: >= 50% of plain-read
// The bench routes are registered on this bench's app instance only, never in src/.
//
// The plain read needs the tenant set for RLS to show a row, and it may not use a transaction:
// its own pool sets app.tenant_id as a connection parameter (session-wide). That is acceptable
// for a bench-only pool bound to one tenant, and never done by the application (DESIGN.md).
//
// The machine is small and shared (other test runs come and go), so each route is measured in
// many short rounds, in an order reversed every round, and each figure is the median over the
// rounds; a ratio is taken within each round (its two routes ran seconds apart), then its
// median. The server's own CPU time per request is reported too: under competing load it moves
// far less than req/s, and the CPU ratio is what req/s tends to when this process is the
// bottleneck.
//
// Environment: BENCH_SECONDS (2 per route and round), BENCH_WARMUP (1, once per route),
// BENCH_ROUNDS (8), BENCH_CONNECTIONS (16), BENCH_POOL (10, serve's default), BENCH_PEOPLE
// (5000), BENCH_LOG_LEVEL (warn: no per-request log line, which would add the same cost to
// every route and so flatter the ratios).
import postgres from 'postgres';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { connectDatabase, type DbHandle } from '../src/platform/db.js';
import { newId } from '../src/platform/ids.js';
import { createMailer } from '../src/platform/mail.js';
import { createQueueService } from '../src/platform/queue.js';
import { createStorage } from '../src/platform/storage.js';
import { applyTenants } from '../src/tenancy/apply.js';
import { createTenantRegistry } from '../src/tenancy/registry.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { load, type LoadResult } from './lib/load.js';
import { printFigures, writeResults, type Figures } from './lib/results.js';
import { benchConfig, median } from './lib/setup.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_SECONDS', 2);
const WARMUP = env('BENCH_WARMUP', 1);
const CONNECTIONS = env('BENCH_CONNECTIONS', 16);
const ROUNDS = env('BENCH_ROUNDS', 8);
const POOL = env('BENCH_POOL', 10);
const PEOPLE = env('BENCH_PEOPLE', 5000);
const HOST = 'nord.localhost';

const ROUTES = {
  bare: '/bench/bare',
  home: '/',
  'plain-read': '/bench/plain-read',
  'tenant-read': '/bench/tenant-read',
  'tenant-read-only': '/bench/tenant-read-only',
} as const;
type Route = keyof typeof ROUTES;

const PERSON_COLUMNS = ['tenant_id', 'id', 'external_id', 'display_name', 'given_name', 'family_name', 'mail', 'affiliations', 'status', 'created_at', 'updated_at'] as const;

async function seedPeople(database: DbHandle, tenantId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; done += 1000) {
    const rows = Array.from({ length: Math.min(1000, count - done) }, (_, i) => {
      const id = newId();
      ids.push(id);
      const n = done + i;
      return {
        tenant_id: tenantId,
        id,
        external_id: `p${n}@bench.test`,
        display_name: `Personne ${n}`,
        given_name: 'Camille',
        family_name: `Bench${n}`,
        mail: `p${n}@bench.test`,
        affiliations: n % 10 ? ['student', 'member'] : ['staff', 'member'],
      };
    });
    await database.withTenant(tenantId, (trx) => trx.insertInto('people').values(rows).execute());
  }
  return ids;
}


const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

const database = await createTestDatabase();
const closers: (() => Promise<unknown> | void)[] = [() => database.drop()];
try {
  await applyTenants(database.owner.db, 'tenants');
  const config = benchConfig(database.appUrl);

  const appDb = connectDatabase(config.databaseUrl, { max: POOL, name: 'portique-bench' });
  closers.unshift(() => appDb.close());
  const registry = await createTenantRegistry(appDb);
  closers.unshift(() => registry.close());
  const tenant = registry.byHost(HOST);
  if (!tenant) throw new Error(`no tenant for ${HOST}: is tenants/ applied?`);
  const ids = await seedPeople(database.app, tenant.id, PEOPLE);
  await seedPeople(database.app, registry.byHost('sud.localhost')!.id, Math.ceil(PEOPLE / 5));
  await database.owner.sql`analyze people`;

  const plain = postgres(config.databaseUrl, {
    max: POOL,
    connection: { application_name: 'portique-bench-plain', 'app.tenant_id': tenant.id },
    onnotice: () => {},
    types: { bigint: postgres.BigInt },
  });
  closers.unshift(() => plain.end({ timeout: 5 }));

  const queue = createQueueService(config.redisUrl);
  const storage = createStorage(config.s3);
  const mailer = createMailer(config.smtp.url);
  closers.unshift(() => queue.close(), () => storage.close(), () => mailer.close());
  const app = await buildApp({ config, database: appDb, registry, storage, queue, mailer });
  closers.unshift(() => app.close());

  // Bench-only routes, on this instance only. `?id=` picks the person, else a random one.
  const pick = (query: unknown) => (query as { id?: string }).id ?? ids[Math.floor(Math.random() * ids.length)]!;
  app.get(ROUTES.bare, async () => ({ ok: true }));
  app.get(ROUTES['plain-read'], async (request) => {
    const id = pick(request.query);
    const [person] = await plain`select ${plain(PERSON_COLUMNS)} from people where tenant_id = ${request.tenant.id} and id = ${id}`;
    return { person };
  });
  app.get(ROUTES['tenant-read'], async (request) => {
    const id = pick(request.query);
    const person = await appDb.withTenant(request.tenant.id, (trx) =>
      trx.selectFrom('people').select(PERSON_COLUMNS).where('tenant_id', '=', request.tenant.id).where('id', '=', id).executeTakeFirst(),
    );
    return { person };
  });
  app.get(ROUTES['tenant-read-only'], async (request) => {
    const id = pick(request.query);
    const person = await appDb.readTenant(request.tenant.id, (db) =>
      db.selectFrom('people').select(PERSON_COLUMNS).where('tenant_id', '=', request.tenant.id).where('id', '=', id).executeTakeFirst(),
    );
    return { person };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  // Both reads must answer the same row, or the comparison means nothing.
  const probe = async (path: string) => {
    const res = await app.inject({ url: path, headers: { host: HOST } });
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    return res.body;
  };
  const plainBody = await probe(`${ROUTES['plain-read']}?id=${ids[0]}`);
  for (const route of ['tenant-read', 'tenant-read-only'] as const) {
    const body = await probe(`${ROUTES[route]}?id=${ids[0]}`);
    if (body !== plainBody || !body.includes(ids[0]!)) throw new Error(`${route} and plain-read disagree: ${body} / ${plainBody}`);
  }
  await probe(ROUTES.home);

  console.log(
    `portal: ${PEOPLE} people, pool ${POOL}, autocannon -c ${CONNECTIONS}, ${WARMUP}s warm-up then ${ROUNDS} x ${SECONDS}s per route, log level ${config.logLevel}`,
  );
  type Run = LoadResult & { cpuUsPerRequest: number };
  const order = Object.keys(ROUTES) as Route[];
  const runs = Object.fromEntries(order.map((route) => [route, [] as Run[]])) as Record<Route, Run[]>;
  if (WARMUP > 0) for (const route of order) await load(base + ROUTES[route], { host: HOST, connections: CONNECTIONS, seconds: WARMUP });
  for (let r = 0; r < ROUNDS; r++) {
    for (const route of r % 2 ? [...order].reverse() : order) {
      // This process's CPU time per request: what the server spends, whatever else runs on the machine.
      const cpuBefore = process.cpuUsage();
      const result = await load(base + ROUTES[route], { host: HOST, connections: CONNECTIONS, seconds: SECONDS });
      const cpu = process.cpuUsage(cpuBefore);
      if (result.failures > 0) throw new Error(`${route}: ${result.failures} failed requests`);
      const cpuUsPerRequest = (cpu.user + cpu.system) / result.requests;
      runs[route].push({ ...result, cpuUsPerRequest });
      console.log(
        `  round ${r + 1}  ${route.padEnd(16)} ${round(result.requestsPerSecond, 0).toString().padStart(6)} req/s  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  server CPU ${round(cpuUsPerRequest, 0)} µs/req`,
      );
    }
  }

  const figures: Figures = {};
  const med = (route: Route, of: (run: Run) => number) => median(runs[route].map(of));
  const ratios = (top: Route, bottom: Route, of: (run: Run) => number) => runs[top].map((run, i) => (100 * of(run)) / of(runs[bottom][i]!));
  for (const route of order) {
    figures[`${route} throughput`] = { value: round(med(route, (x) => x.requestsPerSecond), 0), unit: 'req/s', better: 'higher' };
    figures[`${route} p99 latency`] = { value: med(route, (x) => x.p99Ms), unit: 'ms', better: 'lower' };
    figures[`${route} server CPU`] = { value: round(med(route, (x) => x.cpuUsPerRequest), 0), unit: 'µs/req', better: 'lower' };
  }
  const spread: string[] = [];
  const ratio = (name: string, top: Route, bottom: Route, target?: number) => {
    const perRound = ratios(top, bottom, (x) => x.requestsPerSecond);
    figures[name] = { value: round(median(perRound)), unit: '%', ...(target === undefined ? {} : { target }), better: 'higher' };
    spread.push(`${name}: rounds ${perRound.map((x) => `${round(x)}%`).join(', ')}`);
    // The same ratio from server CPU per request (bottom's CPU / top's CPU): less sensitive to load.
    const perRoundCpu = ratios(bottom, top, (x) => x.cpuUsPerRequest);
    figures[`${name} (server CPU)`] = { value: round(median(perRoundCpu)), unit: '%', better: 'higher' };
  };
  ratio('home / bare', 'home', 'bare', 40);
  ratio('tenant-read / plain-read', 'tenant-read', 'plain-read', 50);
  ratio('tenant-read-only / plain-read', 'tenant-read-only', 'plain-read', 50);
  console.log();
  printFigures(figures);
  for (const line of spread) console.log(line);
  const file = await writeResults('portal', figures, {
    seconds: SECONDS,
    warmup: WARMUP,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    pool: POOL,
    people: PEOPLE,
    logLevel: config.logLevel,
  });
  console.log(`\nwrote ${file}`);
} finally {
  for (const close of closers) await Promise.resolve(close()).catch((error) => console.error('bench cleanup:', error));
}
