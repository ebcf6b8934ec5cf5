// The SMTP server is down: mail waits (its job retries with backoff) and goes out, once, when
// the server is back.
import t from 'tap';
import { queueName } from '../../src/jobs/queues.js';
import { eventually, startJobsHarness } from '../helpers/jobs.js';
import { startSmtp } from '../helpers/services.js';

const first = await startSmtp();
const port = Number(new URL(first.url).port);
await first.close(); // down from the start

const h = await startJobsHarness({ smtp: first, backoffMs: 150 });
t.teardown(() => h.close());
await h.startWorker();

t.test('mail waits for the SMTP server and goes out when it is back', async (t) => {
  const { id } = await h.jobs.enqueue('mail.send', {
    tenantId: h.sud,
    key: 'smtp-down:1',
    to: { address: 'dominique@univ-sud.example' },
    message: { template: 'welcome', props: { personName: 'Dominique' } },
  });
  const queue = h.queues.queue(queueName(h.sud, 'mail'));
  await eventually('two failed tries', async () => ((await queue.getJob(id))?.attemptsMade ?? 0) >= 2);
  const job = await queue.getJob(id);
  t.match(job?.failedReason, /ECONNREFUSED|connect/i, 'the tries failed on the connection');
  t.not(await job?.getState(), 'failed', 'the job is still waiting to be retried');

  const smtp = await startSmtp(port);
  t.teardown(() => smtp.close());
  const [mail] = await smtp.waitFor(1, 15_000);
  t.equal(mail?.subject, "Bienvenue sur l'ENT de Université du Sud");
  await eventually('the job to complete', async () => (await queue.getJob(id))?.isCompleted() ?? false);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(smtp.messages.length, 1, 'sent once');
});
