// The operator console: every tenant's real figures, suspend and resume reaching every replica,
// failed jobs and their retry, the audit trail (append-only, with actor and request id), CSRF,
// and no tenant session, not even a tenant admin's, reaching any of it on any host.
import t from 'tap';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { queueName } from '../../src/jobs/queues.js';
import { periodOf } from '../../src/statistics/plugin.js';
import '../../src/statistics/tables.js';
import { createTenantRegistry } from '../../src/tenancy/registry.js';
import { newId } from '../../src/platform/ids.js';
import '../../src/documents/tables.js';
import '../../src/operator/tables.js';
import { startPortique } from '../helpers/app.js';
import { REDIS_URL } from '../helpers/env.js';
import {
  ADMIN_ENTITLEMENT,
  OPERATOR_HOST,
  OPERATOR_IDP,
  OPERATOR_REALM_ID,
  cookieOf,
  identityTenantsDir,
  login,
  loginRoute,
  operatorDeclarationFile,
  verifiedLogin,
} from '../identity/helpers.js';

const portique = await startPortique({
  tenantsDir: await identityTenantsDir(),
  beforeReady: loginRoute,
  env: { OPERATOR_HOST, OPERATOR_DECLARATION: await operatorDeclarationFile() },
});
t.teardown(() => portique.close());
const { app, registry, database } = portique;
const nord = registry.bySlug('nord')!;
const sud = registry.bySlug('sud')!;
const NORD = 'nord.localhost';
const SUD = 'sud.localhost';
const DAY = 24 * 3600 * 1000;

// People: nord has 4 active accounts (2 logged in this month, 1 forty days ago, 1 never) and a
// deactivated one; sud has 2 (1 logged in yesterday). Nord uses 5 MiB of documents.
async function person(tenantId: string, lastLogin: Date | null, status: 'active' | 'deactivated' = 'active') {
  const id = newId();
  await database.app.withTenant(tenantId, (trx) =>
    trx
      .insertInto('people')
      .values({ tenant_id: tenantId, id, external_id: `${id}@example.test`, display_name: 'Camille Test', given_name: null, family_name: null, mail: null, last_login_at: lastLogin, status })
      .execute(),
  );
}
const now = Date.now();
for (const [tenant, logins] of [
  [nord, [new Date(now - DAY), new Date(now - 10 * DAY), new Date(now - 40 * DAY), null]],
  [sud, [new Date(now - DAY), null]],
] as const) {
  for (const at of logins) await person(tenant.id, at);
}
await person(nord.id, new Date(now - DAY), 'deactivated');
await database.app.withTenant(nord.id, (trx) => trx.insertInto('document_usage').values({ tenant_id: nord.id, space_id: nord.id, used: 5 * 2 ** 20, reserved: 0 }).execute());

const alice = verifiedLogin(OPERATOR_REALM_ID, {
  idpEntityId: OPERATOR_IDP,
  attributes: { eduPersonPrincipalName: ['alice@consortium.example'], displayName: ['Alice Opératrice'] },
});
const aliceLogin = await login(app, OPERATOR_HOST, alice);
const operatorCookie = aliceLogin.cookies.find((c) => c.name === 'portique_operator')!.value;

/** A request on the operator host, as alice unless told otherwise. */
function onConsole(method: 'GET' | 'POST', url: string, options: { cookie?: string | null; payload?: object } = {}) {
  const cookie = options.cookie === undefined ? `portique_operator=${operatorCookie}` : options.cookie;
  return app.inject({ method, url, headers: { host: OPERATOR_HOST, accept: 'text/html', ...(cookie ? { cookie } : {}) }, ...(options.payload ? { payload: options.payload } : {}) });
}
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
const csrf = csrfOf((await onConsole('GET', '/')).body);
const tenantRow = (html: string, slug: string) => new RegExp(`<tr data-tenant="${slug}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
/** A cell's visible text (what a visually-hidden span adds for screen readers left out). */
const cell = (row: string, name: string) =>
  new RegExp(`class="${name}">([\\s\\S]*?)</td>`)
    .exec(row)?.[1]
    ?.replace(/<span class="visually-hidden">[\s\S]*?<\/span>/g, '')
    .replace(/<[^>]+>/g, '')
    .trim();
const statusOf = async (tenantId: string) =>
  (await database.app.db.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirstOrThrow()).status;
const auditRows = () => database.app.db.selectFrom('operator_audit').selectAll().orderBy('at').execute();

async function eventually(what: string, check: () => Promise<boolean>, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('the sign-in is in the audit trail, with the request id', async (t) => {
  const rows = await auditRows();
  const signIn = rows.find((r) => r.action === 'sign-in');
  t.ok(signIn, 'a sign-in row');
  t.equal(signIn?.actor, 'alice@consortium.example');
  t.equal(signIn?.actor_name, 'Alice Opératrice');
  t.equal(signIn?.request_id, aliceLogin.headers['x-request-id'], 'the login request id');
  t.equal(signIn?.ip, '127.0.0.1');
  t.equal(signIn?.tenant_id, null);
});

t.test('the tenants table shows both tenants with real counts', async (t) => {
  const res = await onConsole('GET', '/');
  t.equal(res.statusCode, 200);
  t.match(res.body, '<caption>Établissements servis');
  t.match(res.body, '<th scope="col">Personnes</th>');
  const n = tenantRow(res.body, 'nord');
  const s = tenantRow(res.body, 'sud');
  t.match(n, '<th scope="row"', 'each tenant heads its row');
  t.equal(cell(n, 'people'), '4', 'nord: active accounts only');
  t.equal(cell(n, 'active-people'), '2', 'nord: logged in within 30 days');
  t.equal(cell(s, 'people'), '2');
  t.equal(cell(s, 'active-people'), '1');
  t.equal(cell(n, 'storage'), '5 Mo / 20 To', 'the tenant-wide documents usage against its quota');
  t.equal(cell(s, 'storage'), '0 o / 8 To');
  t.equal(cell(n, 'queued'), '0');
  t.equal(cell(n, 'failed'), '0');
  t.match(n, 'href="/etablissements/nord/statistiques"', "a link to the tenant's statistics");
  t.match(n, 'href="/etablissements/nord/suspendre"');
  t.match(n, 'Travaux en échec de Université du Nord', 'the failed count is named for screen readers');
  const english = await app.inject({ method: 'GET', url: '/', headers: { host: OPERATOR_HOST, cookie: `portique_operator=${operatorCookie}; portique_lang=en` } });
  t.match(english.body, '<th scope="col">People</th>', 'English from the catalogue');
});

t.test('suspend (after a confirmation) shows the maintenance page everywhere; resume brings the tenant back', async (t) => {
  // Another serve replica, following the registry as serve does.
  const replica = await createTenantRegistry(database.app);
  t.teardown(() => replica.close());

  const confirm = await onConsole('GET', '/etablissements/sud/suspendre');
  t.equal(confirm.statusCode, 200, 'a confirmation page first');
  t.match(confirm.body, 'Confirmer la suspension');
  t.match(confirm.body, 'action="/etablissements/sud/suspendre"');
  t.equal(await statusOf(sud.id), 'active', 'the confirmation page changes nothing');

  const res = await onConsole('POST', '/etablissements/sud/suspendre', { payload: { _csrf: csrfOf(confirm.body) } });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/?fait=suspendu&etablissement=sud');
  t.equal(await statusOf(sud.id), 'suspended');
  const page = await app.inject({ method: 'GET', url: '/', headers: { host: SUD } });
  t.equal(page.statusCode, 503, 'this replica at once');
  t.match(page.body, 'Service en maintenance');
  await eventually('the other replica to see the suspension', async () => replica.bySlug('sud')?.status === 'suspended');
  t.equal((await app.inject({ method: 'GET', url: '/', headers: { host: NORD } })).statusCode, 200, 'nord is untouched');

  const home = await onConsole('GET', res.headers.location as string);
  t.match(home.body, 'Université du Sud est suspendu');
  t.match(cell(tenantRow(home.body, 'sud'), 'status status-suspended') ?? '', 'Suspendu');
  t.match(tenantRow(home.body, 'sud'), 'action="/etablissements/sud/reprendre"', 'a resume button');

  const [suspendRow] = (await auditRows()).filter((r) => r.action === 'suspend');
  t.equal(suspendRow?.actor, 'alice@consortium.example');
  t.equal(suspendRow?.tenant_id, sud.id);
  t.equal(suspendRow?.tenant_slug, 'sud');
  t.equal(suspendRow?.request_id, res.headers['x-request-id']);
  t.equal(suspendRow?.ip, '127.0.0.1');

  const resumed = await onConsole('POST', '/etablissements/sud/reprendre', { payload: { _csrf: csrf } });
  t.equal(resumed.statusCode, 303);
  t.equal(await statusOf(sud.id), 'active');
  t.equal((await app.inject({ method: 'GET', url: '/', headers: { host: SUD } })).statusCode, 200, 'the portal is back');
  await eventually('the other replica to see the resumption', async () => replica.bySlug('sud')?.status === 'active');
  const resumeRow = (await auditRows()).find((r) => r.action === 'resume');
  t.equal(resumeRow?.request_id, resumed.headers['x-request-id']);

  const again = await onConsole('POST', '/etablissements/sud/reprendre', { payload: { _csrf: csrf } });
  t.equal(again.headers.location, '/?fait=inchange&etablissement=sud', 'resuming an active tenant changes nothing');
  t.equal((await auditRows()).filter((r) => r.action === 'resume').length, 1, 'and writes no audit row');

  const journal = await onConsole('GET', '/journal');
  t.equal(journal.statusCode, 200);
  t.match(journal.body, '<caption>Actions des opérateurs');
  t.match(journal.body, 'Suspension');
  t.match(journal.body, 'Reprise');
  t.match(journal.body, res.headers['x-request-id'] as string, 'the request id is shown');
});

t.test('without the CSRF token: 403 and nothing changes', async (t) => {
  const before = (await auditRows()).length;
  for (const [url, payload] of [
    ['/etablissements/nord/suspendre', {}],
    ['/etablissements/nord/suspendre', { _csrf: 'forged' }],
    ['/etablissements/nord/reprendre', {}],
  ] as const) {
    const res = await onConsole('POST', url, { payload });
    t.equal(res.statusCode, 403, `${url} ${JSON.stringify(payload)}`);
  }
  t.equal(await statusOf(nord.id), 'active');
  t.equal((await app.inject({ method: 'GET', url: '/', headers: { host: NORD } })).statusCode, 200);
  t.equal((await auditRows()).length, before, 'no audit row');
});

t.test('failed jobs are listed with their error and retried', async (t) => {
  const lane = queueName(nord.id, 'default');
  const queue = portique.queue.queue(lane);
  t.teardown(() => queue.obliterate({ force: true }));
  const job = await queue.add('directory.import-csv', { tenantId: nord.id }, { attempts: 1 });
  // Fail it by hand, as a worker would: no worker runs in this process.
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(lane, null, { connection, prefix: portique.queue.prefix });
  const taken = await worker.getNextJob('test-token');
  t.equal(taken?.id, job.id);
  await taken!.moveToFailed(new Error('SMTP refused: 550 mailbox unavailable'), 'test-token', false);
  await worker.close();
  connection.disconnect();
  t.equal(await job.getState(), 'failed');

  const home = await onConsole('GET', '/');
  t.equal(cell(tenantRow(home.body, 'nord'), 'failed'), '1', 'counted on the home page');
  t.equal(cell(tenantRow(home.body, 'sud'), 'failed'), '0');

  const list = await onConsole('GET', '/etablissements/nord/travaux');
  t.equal(list.statusCode, 200);
  t.match(list.body, '<caption>Travaux de Université du Nord en échec');
  t.match(list.body, 'directory.import-csv');
  t.match(list.body, 'SMTP refused: 550 mailbox unavailable');
  const retryUrl = `/etablissements/nord/travaux/default/${job.id}/relancer`;
  t.match(list.body, `action="${retryUrl}"`);
  const sudList = await onConsole('GET', '/etablissements/sud/travaux');
  t.match(sudList.body, 'Aucun travail en échec', "sud's page shows none of nord's jobs");

  t.equal((await onConsole('POST', retryUrl, { payload: {} })).statusCode, 403, 'no CSRF token: refused');
  t.equal(await job.getState(), 'failed', 'still failed');

  const retried = await onConsole('POST', retryUrl, { payload: { _csrf: csrf } });
  t.equal(retried.statusCode, 303);
  t.equal(await job.getState(), 'waiting', 'back in the queue');
  const row = (await auditRows()).find((r) => r.action === 'retry-job');
  t.equal(row?.tenant_id, nord.id);
  t.same(row?.detail, { lane: 'default', job: job.id });
  t.equal(row?.request_id, retried.headers['x-request-id']);

  const before = (await auditRows()).length;
  const again = await onConsole('POST', retryUrl, { payload: { _csrf: csrf } });
  t.equal(again.statusCode, 404, 'no longer failed');
  t.equal((await onConsole('POST', '/etablissements/nord/travaux/default/nope/relancer', { payload: { _csrf: csrf } })).statusCode, 404);
  t.equal((await auditRows()).length, before, 'a retry that did not happen leaves no audit row');
  t.equal((await onConsole('POST', `/etablissements/sud/travaux/default/${job.id}/relancer`, { payload: { _csrf: csrf } })).statusCode, 404, "nord's job is not sud's");
});

t.test("usage statistics: every tenant side by side, and one tenant's, k-anonymous", async (t) => {
  const { period } = periodOf({});
  const day = period.to;
  const before = new Date(Date.parse(`${day}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
  const all = { service: '*', affiliation: '*', event: '*' };
  await database.app.withTenant(nord.id, async (trx) => {
    await trx.insertInto('usage_daily').values({ tenant_id: nord.id, day, ...all, events: 42, people: 7 }).execute();
    // Two people only: below the default threshold of 5, withheld.
    await trx.insertInto('usage_daily').values({ tenant_id: nord.id, day: before, ...all, events: 3, people: 2 }).execute();
  });

  const regional = await onConsole('GET', '/statistiques');
  t.equal(regional.statusCode, 200);
  t.match(regional.body, '<caption>Usage de chaque établissement');
  const n = tenantRow(regional.body, 'nord');
  const s = tenantRow(regional.body, 'sud');
  t.equal(cell(n, 'events'), '42', 'the withheld day counts nothing');
  t.equal(cell(s, 'events'), '0');
  t.match(n, `href="/etablissements/nord/statistiques?du=${period.from}&amp;au=${period.to}"`);

  const detail = await onConsole('GET', '/etablissements/nord/statistiques');
  t.equal(detail.statusCode, 200);
  t.match(detail.body, '<svg class="chart"', 'a chart drawn on the server');
  const dayRow = new RegExp(`<tr data-day="${day}">([\\s\\S]*?)</tr>`).exec(detail.body)?.[1] ?? '';
  t.equal(cell(dayRow, 'people'), '7');
  const withheldRow = new RegExp(`<tr data-day="${before}">([\\s\\S]*?)</tr>`).exec(detail.body)?.[1] ?? '';
  t.equal(cell(withheldRow, 'people'), 'masqué', 'a figure about two people is withheld');
  t.notMatch(withheldRow, '>2<');
  t.equal((await onConsole('GET', '/etablissements/nord/statistiques?du=2026-13-01&au=x')).statusCode, 400, 'a bad period is refused, with the default shown');
  t.equal((await onConsole('GET', '/etablissements/nowhere/statistiques')).statusCode, 404);
});

t.test('the month total minus the days shown does not give a withheld day back, on the dashboard or the tenant page', async (t) => {
  // A past month of sud's: three days, one about two people, and the month's total.
  const all = { service: '*', affiliation: '*', event: '*' };
  const days = [
    { day: '2026-03-10', events: 40, people: 9 },
    { day: '2026-03-11', events: 3, people: 2 },
    { day: '2026-03-12', events: 52, people: 8 },
  ];
  await database.app.withTenant(sud.id, async (trx) => {
    await trx.insertInto('usage_daily').values(days.map((d) => ({ tenant_id: sud.id, ...all, ...d }))).execute();
    await trx.insertInto('usage_monthly').values({ tenant_id: sud.id, month: '2026-03-01', ...all, events: 95, people: 12 }).execute();
  });
  const query = '?du=2026-03-01&au=2026-03-31';
  const regional = await onConsole('GET', `/statistiques${query}`);
  const row = tenantRow(regional.body, 'sud');
  const detail = await onConsole('GET', `/etablissements/sud/statistiques${query}`);
  const dayCell = (day: string, name: string) => cell(new RegExp(`<tr data-day="${day}">([\\s\\S]*?)</tr>`).exec(detail.body)?.[1] ?? '', name);
  t.equal(dayCell('2026-03-11', 'people'), 'masqué');
  t.equal(dayCell('2026-03-10', 'people'), 'masqué', 'the smaller other day is withheld too: 95 - 40 - 52 would have been 3');
  t.equal(dayCell('2026-03-12', 'people'), '8');
  t.match(detail.body, /95/, 'the month stays');
  t.equal(cell(row, 'events'), '52', 'the dashboard sums the days shown only');
  t.equal(cell(row, 'last-month'), '12');
  t.notOk(detail.body.includes('>3<') || detail.body.includes('>40<'), 'neither withheld figure is on the page');
});

t.test('no tenant session reaches the console, on any host', async (t) => {
  const admin = verifiedLogin(nord.id, {
    attributes: {
      eduPersonPrincipalName: ['alice@consortium.example'],
      displayName: ['Alice Admin'],
      eduPersonEntitlement: [ADMIN_ENTITLEMENT],
    },
  });
  const adminCookie = cookieOf(await login(app, NORD, admin))!;
  t.ok(adminCookie, 'a nord admin session');
  const adminCsrf = csrfOf((await app.inject({ method: 'GET', url: '/mes-sessions', headers: { host: NORD, cookie: `portique_session=${adminCookie}` } })).body);
  const before = (await auditRows()).length;

  // On the tenant's own host: the console's routes do not exist there.
  for (const [method, url] of [
    ['GET', '/journal'],
    ['GET', '/etablissements/sud/suspendre'],
    ['POST', '/etablissements/sud/suspendre'],
    ['GET', '/etablissements/nord/travaux'],
    ['GET', '/etablissements/nord/statistiques'],
    ['GET', '/statistiques'],
  ] as const) {
    const res = await app.inject({ method, url, headers: { host: NORD, accept: 'text/html', cookie: `portique_session=${adminCookie}` }, ...(method === 'POST' ? { payload: { _csrf: adminCsrf } } : {}) });
    t.equal(res.statusCode, 404, `${method} ${url} on a tenant host`);
  }
  const portal = await app.inject({ method: 'GET', url: '/', headers: { host: NORD, cookie: `portique_session=${adminCookie}` } });
  t.notMatch(portal.body, "Console de l'opérateur");

  // On the operator host, under either cookie name: nobody there.
  for (const name of ['portique_session', 'portique_operator']) {
    const cookie = `${name}=${adminCookie}`;
    for (const url of ['/', '/journal', '/statistiques', '/etablissements/nord/statistiques', '/etablissements/nord/travaux', '/etablissements/sud/suspendre']) {
      const res = await onConsole('GET', url, { cookie });
      t.equal(res.statusCode, 303, `${name}: GET ${url} asks for an operator login`);
      t.notMatch(res.body, 'Université du Sud');
    }
    const post = await onConsole('POST', '/etablissements/sud/suspendre', { cookie, payload: { _csrf: adminCsrf } });
    t.equal(post.statusCode, 303, `${name}: POST suspend asks for an operator login`);
  }
  const anonymous = await onConsole('POST', '/etablissements/sud/suspendre', { cookie: null, payload: {} });
  t.equal(anonymous.statusCode, 303, 'anonymous: to the login');
  t.equal(await statusOf(sud.id), 'active', 'nothing was suspended');
  t.equal((await auditRows()).length, before, 'nothing audited');
});

t.test('the audit trail is append-only for the application role', async (t) => {
  const raw = postgres(database.appUrl, { max: 1, onnotice: () => {} });
  t.teardown(() => raw.end());
  const [count] = await raw`select count(*)::int as n from operator_audit`;
  t.ok(count!.n >= 3, 'the application reads it');
  await t.rejects(raw`update operator_audit set actor = 'mallory'`, /permission denied/);
  await t.rejects(raw`delete from operator_audit`, /permission denied/);
  await t.rejects(raw`truncate operator_audit`, /permission denied/);
  const [after] = await raw`select count(*)::int as n from operator_audit where actor = 'alice@consortium.example'`;
  t.equal(after!.n, count!.n);
});
