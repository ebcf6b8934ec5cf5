// Fairness: one tenant's big backlog does not hold back another tenant's jobs, nor mail.
// The figure for 100,000 queued jobs is in bench/jobs.ts; here a backlog that would take the
// worker about 15 s to drain, against a bound far below it.
import t from 'tap';
import { Type } from '@sinclair/typebox';
import { defineJob } from '../../src/jobs/deps.js';
import { queueName } from '../../src/jobs/queues.js';
import { JOBS } from '../../src/jobs/registry.js';
import { eventually, startJobsHarness } from '../helpers/jobs.js';

const done = new Map<string, number>();
const slow = defineJob({
  name: 'test.slow',
  lane: 'default',
  payload: { ms: Type.Integer() },
  attempts: 1,
  async handle(p, ctx) {
    await new Promise((r) => setTimeout(r, p.ms));
    done.set(`${p.tenantId}/${ctx.jobId}`, Date.now());
  },
});

const h = await startJobsHarness();
t.teardown(() => h.close());
await h.startWorker({ definitions: [...JOBS, slow], concurrency: { default: 4, mail: 4 } });

const BACKLOG = 3000;
const JOB_MS = 20;
const BOUND_MS = 3000; // "a few seconds"; draining the backlog takes BACKLOG * JOB_MS / 4 = 15 s

t.test("tenant A's backlog does not delay tenant B", async (t) => {
  const nordQueue = h.queues.queue(queueName(h.nord, 'default'));
  for (let i = 0; i < BACKLOG; i += 500) {
    await nordQueue.addBulk(Array.from({ length: 500 }, () => ({ name: 'test.slow', data: { tenantId: h.nord, ms: JOB_MS } })));
  }
  await eventually('nord to be busy', async () => (await nordQueue.getActiveCount()) > 0);

  const sent = h.smtp.messages.length;
  const started = Date.now();
  const job = await h.queues.queue(queueName(h.sud, 'default')).add('test.slow', { tenantId: h.sud, ms: 1 });
  await h.jobs.enqueue('mail.send', {
    tenantId: h.sud,
    key: 'fair:1',
    to: { address: 'b@univ-sud.example' },
    message: { template: 'notice', props: { subject: 'B', heading: 'B', paragraphs: [] } },
  });
  // nord's own mail does not wait behind nord's import either (separate lane).
  await h.jobs.enqueue('mail.send', {
    tenantId: h.nord,
    key: 'fair:2',
    to: { address: 'a@univ-nord.example' },
    message: { template: 'notice', props: { subject: 'A', heading: 'A', paragraphs: [] } },
  });
  const key = `${h.sud}/${job.id}`;
  await eventually("sud's job", () => done.has(key), BOUND_MS);
  const jobLatency = done.get(key)! - started;
  await h.smtp.waitFor(sent + 2, BOUND_MS);
  const mailLatency = Date.now() - started;
  const waiting = await nordQueue.getWaitingCount();
  t.ok(waiting > BACKLOG / 2, `nord still has ${waiting} jobs waiting`);
  t.ok(jobLatency < BOUND_MS, `sud's job ran after ${jobLatency} ms`);
  t.ok(mailLatency < BOUND_MS, `both mails were delivered after ${mailLatency} ms`);
});
