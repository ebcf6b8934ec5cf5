// Mail through the job system to a real SMTP server: the tenant's sender and branding, both
// parts, the person's language, absolute links, and idempotency.
import t from 'tap';
import { deliveryStatus } from '../../src/mail/deliveries.js';
import { eventually, startJobsHarness } from '../helpers/jobs.js';

const h = await startJobsHarness();
t.teardown(() => h.close());
await h.startWorker();

t.test('a welcome mail carries the tenant, its sender and both parts, in French by default', async (t) => {
  await h.jobs.enqueue('mail.send', {
    tenantId: h.nord,
    key: 'welcome:camille',
    to: { address: 'camille@univ-nord.example', name: 'Camille Martin' },
    message: { template: 'welcome', props: { personName: 'Camille <Martin>' } },
  });
  const [mail] = await h.smtp.waitFor(1);
  t.equal(mail!.from?.value[0]?.address, 'ent@univ-nord.example');
  t.equal(mail!.from?.value[0]?.name, 'ENT Université du Nord');
  t.equal(mail!.replyTo?.value[0]?.address, 'assistance@univ-nord.example');
  t.equal((mail!.to as { value: { address: string }[] }).value[0]!.address, 'camille@univ-nord.example');
  t.equal(mail!.subject, "Bienvenue sur l'ENT de Université du Nord");
  t.match(mail!.messageId, /^<[0-9a-f]{40}@univ-nord\.example>$/, 'Message-ID on the sender domain');
  t.equal(mail!.headers.get('auto-submitted'), 'auto-generated');

  const html = String(mail!.html);
  t.match(html, /<html lang="fr">/);
  t.match(html, /background:#1f3a93/, "the tenant's primary colour");
  t.match(html, /border-bottom:4px solid #f2b705/, 'and its secondary colour');
  t.match(html, /Université du Nord/);
  t.match(html, /Bonjour Camille &lt;Martin>,/, 'person data is escaped');
  t.notMatch(html, /<Martin>/);
  t.match(html, /href="http:\/\/nord\.localhost:3999\/"/, 'absolute link to the tenant host');

  const logo = mail!.attachments.find((a) => a.cid === 'logo@portique');
  t.ok(logo, 'logo attached inline');
  t.equal(logo?.contentType, 'image/svg+xml');
  t.match(html, /src="cid:logo@portique"/);

  const text = mail!.text ?? '';
  t.match(text, /^Université du Nord\n=+\n\nBonjour Camille <Martin>,/, 'plain-text part, unescaped');
  t.match(text, /Découvrir mon ENT\nhttp:\/\/nord\.localhost:3999\/\n/);
  t.match(text, /\n-- \nVous recevez ce message/);
  await eventually('the delivery to be recorded', async () => (await deliveryStatus(h.database.app, h.nord, 'welcome:camille'))?.status === 'sent');
  t.pass('delivery recorded as sent');
});

t.test("another tenant's mail has its own sender and colours, in the person's language", async (t) => {
  const before = h.smtp.messages.length;
  await h.jobs.enqueue('mail.send', {
    tenantId: h.sud,
    key: 'notice:1',
    locale: 'en',
    to: { address: 'sam@univ-sud.example' },
    message: {
      template: 'notice',
      props: { subject: 'Import finished', heading: 'Your import is done', paragraphs: ['1,204 people imported.'], action: { label: 'See the report', path: '/admin/imports/42?tab=report&x=1' } },
    },
  });
  const mail = (await h.smtp.waitFor(before + 1))[before]!;
  t.equal(mail.from?.value[0]?.address, 'ent@univ-sud.example');
  t.equal(mail.subject, 'Import finished');
  const html = String(mail.html);
  t.match(html, /<html lang="en">/);
  t.match(html, /background:#b3261e/);
  t.match(html, /href="http:\/\/sud\.localhost:3999\/admin\/imports\/42\?tab=report&amp;x=1"/);
  t.match(html, /You receive this message from the digital workspace of Université du Sud\./);
  t.match(mail.text ?? '', /See the report\nhttp:\/\/sud\.localhost:3999\/admin\/imports\/42\?tab=report&x=1/);
  t.notMatch(html, /Université du Nord/, "nothing of the other tenant");
});

t.test('the same mail is sent once: enqueued twice, or its job run again', async (t) => {
  const before = h.smtp.messages.length;
  const payload = {
    tenantId: h.nord,
    key: 'notice:twice',
    to: { address: 'alex@univ-nord.example' },
    message: { template: 'notice' as const, props: { subject: 'Once', heading: 'Once', paragraphs: [] } },
  };
  const first = await h.jobs.enqueue('mail.send', payload, { key: payload.key });
  const second = await h.jobs.enqueue('mail.send', payload, { key: payload.key });
  t.equal(first.id, second.id, 'one job for one key');
  await h.smtp.waitFor(before + 1);
  // The job runs again as if it had been put back after a crash: a new job, same mail key.
  await h.jobs.enqueue('mail.send', payload);
  const job = await h.queues.queue(`t.${h.nord}.mail`).getJob(first.id);
  await eventually('the job to complete', async () => (await job?.isCompleted()) ?? false);
  await eventually('the re-run to finish', async () => (await h.jobs.counts(h.nord)).waiting + (await h.jobs.counts(h.nord)).active === 0);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(h.smtp.messages.length, before + 1, 'exactly one message delivered');
});

t.test('a bad mail payload is refused where it is enqueued', async (t) => {
  await t.rejects(
    h.jobs.enqueue('mail.send', { tenantId: h.nord, key: 'x', to: { address: 'not an address' }, message: { template: 'welcome', props: { personName: 'A' } } }),
    /invalid payload for mail\.send: \/to\/address/,
  );
});
