// Mail reaches a person in the language they chose in the portal: the switch is remembered on
// their person when they are logged in, and notifications and digests use it.
import t from 'tap';
import { notify } from '../../src/notifications/service.js';
import { notificationsDigestJob } from '../../src/notifications/jobs.js';
import { setPreferences } from '../../src/notifications/service.js';
import { startPortique } from '../helpers/app.js';
import { cookieOf, identityTenantsDir, login, loginRoute, verifiedLogin } from '../identity/helpers.js';
import { testLog } from '../helpers/jobs.js';

const p = await startPortique({ tenantsDir: await identityTenantsDir(), beforeReady: (app) => loginRoute(app) });
t.teardown(() => p.close());
const nord = p.registry.bySlug('nord')!;
const res = await login(p.app, 'nord.localhost', verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: ['lee@univ-nord.example'], displayName: ['Lee Park'], mail: ['lee@univ-nord.example'], eduPersonAffiliation: ['student'] } }));
const cookie = `portique_session=${cookieOf(res)}`;
const person = await p.database.app.withTenant(nord.id, (trx) => trx.selectFrom('people').select(['id', 'locale']).where('mail', '=', 'lee@univ-nord.example').executeTakeFirstOrThrow());

t.test('the language switch is kept on the person when logged in', async (t) => {
  t.equal(person.locale, null, 'no choice yet');
  const sw = await p.app.inject({ url: '/langue/en?retour=/', headers: { host: 'nord.localhost', cookie } });
  t.equal(sw.statusCode, 303);
  const after = await p.database.app.withTenant(nord.id, (trx) => trx.selectFrom('people').select('locale').where('id', '=', person.id).executeTakeFirstOrThrow());
  t.equal(after.locale, 'en');
  const anonymous = await p.app.inject({ url: '/langue/fr?retour=/', headers: { host: 'nord.localhost' } });
  t.equal(anonymous.statusCode, 303, 'anonymous visitors just get the cookie');
});

t.test('notification mail and digest come in that language', async (t) => {
  // What would be enqueued is enough here (test/notifications/mail.test.ts delivers for real).
  const queued: unknown[] = [];
  const spy = { enqueue: async (_name: string, payload: unknown) => (queued.push(payload), { id: String(queued.length) }) };
  const deps = { database: p.database.app, jobs: spy as never, registry: p.registry };
  await notify(deps, { tenantId: nord.id, personId: person.id, category: 'share', title: 'Shared with you', link: '/documents' });
  t.match(queued[0], { locale: 'en', message: { props: { action: { label: 'Open' } } } }, 'immediate mail in English');

  await setPreferences(p.database.app, nord.id, person.id, { group: 'digest' });
  await notify(deps, { tenantId: nord.id, personId: person.id, category: 'group', title: 'Invited to L3' });
  queued.length = 0;
  await notificationsDigestJob.handle({ tenantId: nord.id, day: '2026-11-29' }, { jobId: 'test', attempt: 1, log: testLog }, { database: p.database.app, registry: p.registry, mailer: p.mailer, config: p.config, jobs: spy as never });
  t.match(queued[0], { locale: 'en', message: { props: { subject: 'Your daily digest: 1 notification' } } }, 'digest in English');
});
