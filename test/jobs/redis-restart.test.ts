// Redis crashes (kill -9) and comes back while mail jobs run: no mail is lost, none is sent
// twice, and the workers pull again by themselves. Against a private redis-server, never the
// shared one.
import t from 'tap';
import { eventually, startJobsHarness } from '../helpers/jobs.js';
import { startRedisServer } from '../helpers/redis-server.js';

const redis = await startRedisServer();
t.teardown(() => redis.close());
const h = await startJobsHarness({ redisUrl: redis.url, backoffMs: 200 });
t.teardown(() => h.close());
await h.startWorker({ lockDurationMs: 3000, stalledIntervalMs: 1000 });

const mail = (key: string) => ({
  tenantId: key.startsWith('n') ? h.nord : h.sud,
  key,
  to: { address: `${key}@example.test` },
  message: { template: 'notice' as const, props: { subject: key, heading: key, paragraphs: ['…'] } },
});

const subjects = () => h.smtp.messages.map((m) => m.subject ?? '');

t.test('no mail lost or sent twice across a Redis crash; workers resume', async (t) => {
  const keys = Array.from({ length: 120 }, (_, i) => `${i % 2 ? 'n' : 's'}${i}`);
  for (const key of keys) await h.jobs.enqueue('mail.send', mail(key), { key });
  await h.smtp.waitFor(15, 10_000);

  await redis.kill();
  const deliveredWhileDown = h.smtp.messages.length;
  await t.rejects(h.jobs.enqueue('mail.send', mail('n-down')), 'enqueueing fails fast while Redis is down');
  await new Promise((r) => setTimeout(r, 1500));
  await redis.start();

  await eventually('every mail to arrive', () => new Set(subjects()).size >= keys.length, 30_000, 100);
  t.ok(deliveredWhileDown < keys.length, `the crash came mid-run (${deliveredWhileDown} of ${keys.length} sent)`);

  // After the restart, new jobs are pulled by the same workers.
  for (const key of ['n-after-1', 's-after-2']) await h.jobs.enqueue('mail.send', mail(key), { key });
  await eventually('mail enqueued after the restart', () => subjects().includes('n-after-1') && subjects().includes('s-after-2'), 15_000, 100);

  await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show up
  const counts = new Map<string, number>();
  for (const s of subjects()) counts.set(s, (counts.get(s) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
  t.same(twice, [], 'no mail sent twice');
  t.equal(counts.size, keys.length + 2, 'every mail sent');
  t.equal((await h.jobs.listFailed(h.nord)).length + (await h.jobs.listFailed(h.sud)).length, 0, 'no job failed');
});
