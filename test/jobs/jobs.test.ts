// The job machinery against real Redis: validation, retries, failed jobs kept and listed,
// recurring jobs run once per iteration with several workers, graceful shutdown, and the Redis
// policy check.
import t from 'tap';
import { Type } from '@sinclair/typebox';
import { defineJob } from '../../src/jobs/deps.js';
import { queueName, type Lane } from '../../src/jobs/queues.js';
import { JOBS } from '../../src/jobs/registry.js';
import { startJobWorker } from '../../src/jobs/worker.js';
import { eventually, startJobsHarness, testLog } from '../helpers/jobs.js';
import { startRedisServer } from '../helpers/redis-server.js';

const runs: { name: string; tenantId: string; jobId: string; attempt: number; at: number }[] = [];
const record = (name: string) => async (p: { tenantId: string }, ctx: { jobId: string; attempt: number }) => {
  runs.push({ name, tenantId: p.tenantId, jobId: ctx.jobId, attempt: ctx.attempt, at: Date.now() });
};
let flakyFailures = 2;
const testJobs = [
  defineJob({ name: 'test.record', lane: 'default', payload: { n: Type.Integer() }, attempts: 1, handle: record('test.record') }),
  defineJob({
    name: 'test.flaky',
    lane: 'default',
    payload: {},
    attempts: 4,
    backoffMs: 100,
    async handle(p, ctx) {
      await record('test.flaky')(p, ctx);
      if (flakyFailures-- > 0) throw new Error('the remote service is busy');
    },
  }),
  defineJob({ name: 'test.broken', lane: 'default', payload: {}, attempts: 2, backoffMs: 50, handle: async () => { throw new Error('always broken'); } }),
  defineJob({ name: 'test.slow', lane: 'default', payload: { ms: Type.Integer() }, attempts: 1, async handle(p, ctx) { await new Promise((r) => setTimeout(r, p.ms)); await record('test.slow')(p, ctx); } }),
  defineJob({ name: 'test.tick', lane: 'default', payload: {}, attempts: 1, handle: record('test.tick') }),
];
const definitions = [...JOBS, ...testJobs];

const h = await startJobsHarness();
t.teardown(() => h.close());

function add(tenantId: string, name: string, data: object, opts: { attempts?: number; backoffMs?: number; jobId?: string } = {}, lane: Lane = 'default') {
  return h.queues.queue(queueName(tenantId, lane)).add(name, data, {
    attempts: opts.attempts ?? 1,
    backoff: { type: 'exponential', delay: opts.backoffMs ?? 100 },
    ...(opts.jobId ? { jobId: opts.jobId } : {}),
  });
}
const state = async (tenantId: string, id: string) => (await h.queues.queue(queueName(tenantId, 'default')).getJob(id))?.getState();

const worker = await h.startWorker({ definitions });

t.test('a payload that fails validation goes to failed with a clear error; the worker goes on', async (t) => {
  const bad = await add(h.nord, 'test.record', { tenantId: h.nord, n: 'three' });
  const noTenant = await add(h.nord, 'test.record', { n: 3 });
  const unknown = await add(h.nord, 'test.nope', { tenantId: h.nord });
  const wrongQueue = await add(h.nord, 'test.record', { tenantId: h.sud, n: 1 });
  const good = await add(h.nord, 'test.record', { tenantId: h.nord, n: 4 });
  await eventually('the good job', async () => (await state(h.nord, good.id!)) === 'completed');
  for (const job of [bad, noTenant, unknown, wrongQueue]) {
    await eventually(`job ${job.id} to fail`, async () => (await state(h.nord, job.id!)) === 'failed');
  }
  const failed = await h.jobs.listFailed(h.nord);
  const reason = (id: string) => failed.find((f) => f.id === id)?.error;
  t.match(reason(bad.id!), /^invalid payload for test\.record: \/n: Expected integer/);
  t.match(reason(noTenant.id!), /invalid payload for test\.record: \/tenantId: Expected required property/);
  t.match(reason(unknown.id!), /unknown job "test\.nope"/);
  t.match(reason(wrongQueue.id!), new RegExp(`job of tenant ${h.sud} found in queue t\\.${h.nord}\\.default`));
  t.equal(failed.find((f) => f.id === bad.id)?.attempts, 1, 'not retried');
  t.ok(runs.some((r) => r.jobId === good.id), 'a valid job after them ran');
  t.same((await h.jobs.listFailed(h.sud)).length, 0, "failed jobs are listed per tenant: none for sud");
});

t.test('a failing job is retried with exponential backoff, then succeeds', async (t) => {
  const job = await add(h.sud, 'test.flaky', { tenantId: h.sud }, { attempts: 4, backoffMs: 100 });
  await eventually('the flaky job to complete', async () => (await state(h.sud, job.id!)) === 'completed');
  const attempts = runs.filter((r) => r.jobId === job.id);
  t.same(attempts.map((a) => a.attempt), [1, 2, 3]);
  const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
  t.ok(gaps[0]! >= 90 && gaps[1]! >= 190, `waits grow: ${gaps.join(' ms, ')} ms`);
});

t.test('a job that keeps failing is kept in failed, visible with its error, and can be retried', async (t) => {
  const job = await add(h.sud, 'test.broken', { tenantId: h.sud }, { attempts: 2, backoffMs: 50 });
  await eventually('the broken job to fail for good', async () => (await state(h.sud, job.id!)) === 'failed');
  const [failed] = (await h.jobs.listFailed(h.sud)).filter((f) => f.id === job.id);
  t.match(failed, { tenantId: h.sud, lane: 'default', name: 'test.broken', error: 'always broken', attempts: 2 });
  t.equal((await h.jobs.counts(h.sud)).failed, 1);
  t.ok(await h.jobs.retryFailed(h.sud, 'default', job.id!));
  await eventually('it to fail again', async () => (await state(h.sud, job.id!)) === 'failed');
});

t.test('enqueue validates the payload and derives the job id from the key', async (t) => {
  await t.rejects(h.jobs.enqueue('jobs.ping', { tenantId: 'nord' } as never), /invalid payload for jobs\.ping: \/tenantId/);
  const a = await h.jobs.enqueue('jobs.ping', { tenantId: h.nord, n: 1 }, { key: 'import:2026-11-28' });
  const b = await h.jobs.enqueue('jobs.ping', { tenantId: h.nord, n: 1 }, { key: 'import:2026-11-28' });
  t.equal(a.id, b.id);
  t.match(a.id, /^jobs\.ping\.[0-9a-f]{32}$/);
});

t.test('a recurring job runs once per iteration, whatever the number of workers', async (t) => {
  const schedules = [{ id: 'test.tick', job: 'test.tick' as never, every: 300 }];
  const w1 = await startJobWorker(h.deps, { redisUrl: h.redisUrl, queues: h.queues, log: testLog, definitions, schedules });
  const w2 = await startJobWorker(h.deps, { redisUrl: h.redisUrl, queues: h.queues, log: testLog, definitions, schedules });
  t.teardown(async () => {
    await Promise.all([w1.close(1000), w2.close(1000)]);
  });
  const started = Date.now();
  await new Promise((r) => setTimeout(r, 2000));
  const ticks = runs.filter((r) => r.name === 'test.tick' && r.tenantId === h.nord);
  const elapsed = Date.now() - started;
  t.ok(ticks.length >= 4 && ticks.length <= Math.ceil(elapsed / 300) + 1, `${ticks.length} runs in ${elapsed} ms at one per 300 ms`);
  t.equal(new Set(ticks.map((r) => r.jobId)).size, ticks.length, 'no iteration ran twice');
  // These workers declare only test.tick: the schedules they install replace the declared set.
  const schedulers = await h.queues.queue(queueName(h.nord, 'default')).getJobSchedulers();
  t.same(schedulers.map((s) => s.key), ['test.tick'], 'installed once per tenant queue, stale ones removed');
});

t.test('a stopping worker finishes its running job first', async (t) => {
  const w = await startJobWorker(h.deps, { redisUrl: h.redisUrl, queues: h.queues, log: testLog, definitions, schedules: [] });
  await worker.close(1000); // leave the job to w alone
  const job = await add(h.sud, 'test.slow', { tenantId: h.sud, ms: 600 });
  await eventually('the slow job to start', async () => (await state(h.sud, job.id!)) === 'active');
  await w.close(5000);
  t.equal(await state(h.sud, job.id!), 'completed', 'completed before close() returned');
});

t.test('the worker refuses a Redis that may evict keys', async (t) => {
  const redis = await startRedisServer({ maxmemoryPolicy: 'allkeys-lru' });
  t.teardown(() => redis.close());
  await t.rejects(
    startJobWorker(h.deps, { redisUrl: redis.url, queues: h.queues, log: testLog }),
    /Redis maxmemory-policy is "allkeys-lru"; job queues need "noeviction"/,
  );
});
