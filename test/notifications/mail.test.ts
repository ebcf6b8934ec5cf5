// Preferences reach the real SMTP test server: immediate mail through mail.send, nothing for
// in-app only, and the daily digest: one mail per person per day, never a second on a retry.
import t from 'tap';
import { notify } from '../../src/notifications/service.js';
import { setPreferences } from '../../src/notifications/service.js';
import { notificationsDigestJob } from '../../src/notifications/jobs.js';
import { addPerson } from '../directory/helpers.js';
import { eventually, startJobsHarness, testLog } from '../helpers/jobs.js';

const h = await startJobsHarness();
t.teardown(() => h.close());
await h.startWorker();
const db = h.database.app;
const deps = { database: db, jobs: h.jobs, registry: h.registry };

const camille = await addPerson(db, h.nord, { givenName: 'Camille', familyName: 'Martin', mail: 'camille@univ-nord.example' });
const dominique = await addPerson(db, h.nord, { givenName: 'Dominique', familyName: 'Roy', mail: 'dominique@univ-nord.example' });
const sacha = await addPerson(db, h.nord, { givenName: 'Sacha', familyName: 'Nomail', mail: null });

const to = (m: { to?: unknown }) => (m.to as { value: { address: string }[] }).value[0]!.address;

t.test('immediate: the mail is delivered, branded, with the link', async (t) => {
  const before = h.smtp.messages.length;
  const result = await notify(deps, { tenantId: h.nord, personId: camille, category: 'share', title: 'Bob a partagé « Cours.pdf »', body: 'Ouvrez Mes documents.', link: '/documents?x=1' });
  t.ok(result.mailed);
  const mail = (await h.smtp.waitFor(before + 1))[before]!;
  t.equal(to(mail), 'camille@univ-nord.example');
  t.equal(mail.subject, 'Bob a partagé « Cours.pdf »');
  t.equal(mail.from?.value[0]?.address, 'ent@univ-nord.example');
  t.match(String(mail.html), /href="http:\/\/nord\.localhost:3999\/documents\?x=1"/);
  t.match(mail.text ?? '', /Ouvrez Mes documents\./);
});

t.test('in-app only and digest categories send nothing at once; no address, no mail', async (t) => {
  await setPreferences(db, h.nord, dominique, { share: 'in-app' });
  const before = h.smtp.messages.length;
  t.notOk((await notify(deps, { tenantId: h.nord, personId: dominique, category: 'share', title: 'En silence' })).mailed);
  t.notOk((await notify(deps, { tenantId: h.nord, personId: dominique, category: 'announcement', title: 'Pour le résumé 1' })).mailed, 'announcement defaults to the digest');
  t.notOk((await notify(deps, { tenantId: h.nord, personId: sacha, category: 'share', title: 'Sans adresse' })).mailed);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(h.smtp.messages.length, before);
});

t.test('digest: one mail per person per day with what is unread; a retry or re-run sends nothing more', async (t) => {
  await setPreferences(db, h.nord, camille, { group: 'digest' });
  await notify(deps, { tenantId: h.nord, personId: dominique, category: 'announcement', title: 'Pour le résumé 2' });
  await notify(deps, { tenantId: h.nord, personId: camille, category: 'group', title: 'Invitation au groupe L3' });
  const before = h.smtp.messages.length;
  const context = { jobId: 'test', attempt: 1, log: testLog };
  await notificationsDigestJob.handle({ tenantId: h.nord, day: '2026-11-28' }, context, h.deps);
  const mails = (await h.smtp.waitFor(before + 2)).slice(before);
  const forDominique = mails.find((m) => to(m) === 'dominique@univ-nord.example')!;
  t.equal(forDominique.subject, 'Votre résumé du jour : 2 notifications');
  t.match(forDominique.text ?? '', /Pour le résumé 1/);
  t.match(forDominique.text ?? '', /Pour le résumé 2/);
  t.notMatch(forDominique.text ?? '', /En silence/, 'in-app only stays in-app');
  t.match(forDominique.text ?? '', /http:\/\/nord\.localhost:3999\/notifications/);
  t.ok(mails.some((m) => to(m) === 'camille@univ-nord.example' && /Invitation au groupe L3/.test(m.text ?? '')));

  // A retry of the same job, a second run the same day, and the scheduled job through the worker.
  await notificationsDigestJob.handle({ tenantId: h.nord, day: '2026-11-28' }, { ...context, attempt: 2 }, h.deps);
  await h.jobs.enqueue('notifications.digest', { tenantId: h.nord, day: '2026-11-28' });
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(h.smtp.messages.length, before + 2, 'still two mails');

  // The next day: nothing new unread in a digest category, nothing sent.
  await notificationsDigestJob.handle({ tenantId: h.nord, day: '2026-11-29' }, context, h.deps);
  await new Promise((r) => setTimeout(r, 800));
  t.equal(h.smtp.messages.length, before + 2, 'yesterday’s items are not sent again');
  await notify(deps, { tenantId: h.nord, personId: dominique, category: 'announcement', title: 'Nouveau le 29' });
  await notificationsDigestJob.handle({ tenantId: h.nord, day: '2026-11-29' }, context, h.deps);
  const next = (await h.smtp.waitFor(before + 3))[before + 2]!;
  t.equal(next.subject, 'Votre résumé du jour : 1 notification');
  t.match(next.text ?? '', /Nouveau le 29/);
  t.notMatch(next.text ?? '', /Pour le résumé 1/);
  await eventually('no more mails', () => h.smtp.messages.length === before + 3);
});
