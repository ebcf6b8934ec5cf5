// Each tenant's declared sending rate holds across the worker, and one tenant's limit does not
// slow another's mail. The limit is BullMQ's limiter on the tenant's mail queue: counted in
// Redis, so it holds for every worker replica together.
import t from 'tap';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startJobsHarness } from '../helpers/jobs.js';

const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-tenants-'));
t.teardown(() => rm(tenantsDir, { recursive: true, force: true }));
await cp('tenants', tenantsDir, { recursive: true });
const sudFile = join(tenantsDir, 'sud.yaml');
await writeFile(sudFile, (await readFile(sudFile, 'utf8')).replace(/ratePerMinute: \d+/, 'ratePerMinute: 3'));

const h = await startJobsHarness({ tenantsDir });
t.teardown(() => h.close());
await h.startWorker();

t.test("sud's 3 mails a minute: the 4th waits, nord's go out", async (t) => {
  const mail = (tenantId: string, key: string) => ({
    tenantId,
    key,
    to: { address: `${key}@example.test` },
    message: { template: 'notice' as const, props: { subject: key, heading: key, paragraphs: [] } },
  });
  for (let i = 0; i < 6; i++) await h.jobs.enqueue('mail.send', mail(h.sud, `sud-${i}`));
  for (let i = 0; i < 4; i++) await h.jobs.enqueue('mail.send', mail(h.nord, `nord-${i}`));
  const count = (prefix: string) => h.smtp.messages.filter((m) => m.subject?.startsWith(prefix)).length;
  await eventually("nord's mails and sud's first three", () => count('nord-') === 4 && count('sud-') === 3);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(count('sud-'), 3, 'sud held to its rate');
  t.equal(count('nord-'), 4, 'nord not slowed by it');
  const counts = await h.jobs.counts(h.sud);
  t.equal(counts.failed, 0, 'the held mails did not fail');
  t.equal(counts.waiting, 3, `they wait for the next minute (${JSON.stringify(counts)})`);
});
