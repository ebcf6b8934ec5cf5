// Just-in-time provisioning through completeLogin, against real PostgreSQL as the application
// role (RLS applies): first login creates, later logins update, refusals create nothing.
import t from 'tap';
import { startPortique } from '../helpers/app.js';
import { cookieOf, identityTenantsDir, login, loginRoute, SUD_IDP, verifiedLogin } from './helpers.js';

const portique = await startPortique({
  tenantsDir: await identityTenantsDir(),
  beforeReady: (app) => {
    loginRoute(app);
    app.get('/test/roles', async (request) => request.session?.roles ?? null);
  },
});
t.teardown(() => portique.close());
const { app, registry, database } = portique;
const nord = registry.bySlug('nord')!;
const sud = registry.bySlug('sud')!;
const NORD = 'nord.localhost';
const SUD = 'sud.localhost';

const people = (tenantId: string, externalId?: string) =>
  database.app.withTenant(tenantId, (trx) => {
    let q = trx.selectFrom('people').selectAll();
    if (externalId) q = q.where('external_id', '=', externalId);
    return q.execute();
  });

t.test('first login creates the person, later logins update the mapped attributes', async (t) => {
  const eppn = 'jules.bernard@univ-nord.example';
  const first = await login(app, NORD, verifiedLogin(nord.id, {
    attributes: {
      eduPersonPrincipalName: [eppn],
      displayName: ['Jules Bernard'],
      givenName: ['Jules'],
      sn: ['Bernard'],
      mail: ['jules.bernard@univ-nord.example'],
      eduPersonAffiliation: ['student', 'member'],
      supannEtuId: ['21900123'],
    },
  }));
  t.equal(first.statusCode, 303);
  const [created] = await people(nord.id, eppn);
  t.ok(created, 'created in the tenant directory');
  t.equal(created!.tenant_id, nord.id);
  t.equal(created!.display_name, 'Jules Bernard');
  t.equal(created!.given_name, 'Jules');
  t.equal(created!.family_name, 'Bernard');
  t.same(created!.affiliations, ['student', 'member']);
  t.same(created!.roles, ['student']);
  t.same(created!.attributes.supannEtuId, ['21900123'], 'mapped attributes kept as jsonb');
  t.equal(created!.idp_entity_id, verifiedLogin(nord.id).idpEntityId);
  t.ok(created!.last_login_at);

  const second = await login(app, NORD, verifiedLogin(nord.id, {
    attributes: {
      eduPersonPrincipalName: [eppn],
      displayName: ['Jules Bernard-Petit'],
      mail: ['jules.bp@univ-nord.example'],
      eduPersonAffiliation: ['alum'],
    },
  }));
  t.equal(second.statusCode, 303);
  const rows = await people(nord.id, eppn);
  t.equal(rows.length, 1, 'the same person, not a second one');
  t.equal(rows[0]!.id, created!.id);
  t.equal(rows[0]!.display_name, 'Jules Bernard-Petit');
  t.equal(rows[0]!.mail, 'jules.bp@univ-nord.example');
  t.same(rows[0]!.roles, ['alumni']);
  t.equal(rows[0]!.given_name, null, 'an attribute no longer sent is cleared');
  t.equal((await people(sud.id, eppn)).length, 0, 'nothing in another tenant');
});

t.test('a role granted in Portique (granted_roles) is kept across logins and joins the session', async (t) => {
  const eppn = 'granted@univ-nord.example';
  const body = verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: [eppn], displayName: ['Gaëlle Granted'], eduPersonAffiliation: ['staff'] } });
  await login(app, NORD, body);
  await database.app.withTenant(nord.id, (trx) => trx.updateTable('people').set({ granted_roles: ['admin'] }).where('external_id', '=', eppn).execute());
  const res = await login(app, NORD, body);
  const me = await app.inject({ method: 'GET', url: '/test/roles', headers: { host: NORD, cookie: `portique_session=${cookieOf(res)}` } });
  t.same(me.json(), ['staff', 'admin']);
  const [row] = await people(nord.id, eppn);
  t.same(row!.roles, ['staff'], 'the IdP-derived roles column holds what the IdP said');
  t.same(row!.granted_roles, ['admin'], 'the grant is not overwritten by a login');
});

t.test('two first logins at once create one person', async (t) => {
  const body = verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: ['twice@univ-nord.example'], displayName: ['Twice'] } });
  const results = await Promise.all([login(app, NORD, body), login(app, NORD, body), login(app, NORD, body)]);
  t.same(results.map((r) => r.statusCode), [303, 303, 303]);
  t.equal((await people(nord.id, 'twice@univ-nord.example')).length, 1);
});

t.test('a missing required attribute: branded page naming it, no session, nobody created', async (t) => {
  const before = (await people(nord.id)).length;
  const noName = await login(app, NORD, verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: ['anon@univ-nord.example'], eduPersonAffiliation: ['student'] } }));
  t.equal(noName.statusCode, 403);
  t.match(noName.body, 'Connexion impossible');
  t.match(noName.body, 'displayName', 'names the attribute');
  t.match(noName.body, 'Université du Nord', 'branded');
  t.notOk(cookieOf(noName), 'no session');
  t.notMatch(noName.headers['set-cookie'] ?? '', /portique_session=[A-Za-z0-9_-]{43}/);

  const noEppn = await login(app, NORD, verifiedLogin(nord.id, { attributes: { displayName: ['Sans Identifiant'], eduPersonPrincipalName: ['  '] } }));
  t.equal(noEppn.statusCode, 403);
  t.match(noEppn.body, 'eduPersonPrincipalName', 'a blank identifier is missing too');
  t.equal((await people(nord.id)).length, before, 'nobody created');
});

t.test('a refused login also ends the session the browser had', async (t) => {
  const cookie = cookieOf(await login(app, NORD, verifiedLogin(nord.id)))!;
  const refused = await login(app, NORD, verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: ['x@univ-nord.example'] } }), `portique_session=${cookie}`);
  t.equal(refused.statusCode, 403);
  t.notMatch(refused.body, 'Camille Martin', 'the page shows nobody logged in');
  const home = await app.inject({ method: 'GET', url: '/', headers: { host: NORD, cookie: `portique_session=${cookie}` } });
  t.notMatch(home.body, 'Camille Martin');
});

t.test('a tenant identified by persistent NameID, requiring mail', async (t) => {
  const persistent = { value: 'k2Xh0vYq3Z1', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' };
  const ok = await login(app, SUD, verifiedLogin(sud.id, {
    idpEntityId: SUD_IDP,
    nameId: persistent,
    attributes: { displayName: ['Inès Roux'], mail: ['ines.roux@univ-sud.example'], eduPersonAffiliation: ['faculty'] },
  }));
  t.equal(ok.statusCode, 303);
  const [person] = await people(sud.id, `${SUD_IDP}!k2Xh0vYq3Z1`);
  t.ok(person, 'external id is the NameID qualified by its IdP');
  t.same(person!.roles, ['teacher']);

  const transient = await login(app, SUD, verifiedLogin(sud.id, {
    idpEntityId: SUD_IDP,
    nameId: { value: '_8f2a', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' },
    attributes: { displayName: ['Inès Roux'], mail: ['ines.roux@univ-sud.example'] },
  }));
  t.equal(transient.statusCode, 403, 'a transient NameID identifies nobody');
  t.match(transient.body, 'NameID (persistent)');
  t.notOk(cookieOf(transient));

  const noMail = await login(app, SUD, verifiedLogin(sud.id, { idpEntityId: SUD_IDP, nameId: persistent, attributes: { displayName: ['Inès Roux'] } }));
  t.equal(noMail.statusCode, 403);
  t.match(noMail.body, 'mail', 'the declared required attribute is named');
  t.notOk(cookieOf(noMail));
});

t.test('a deactivated person cannot log in, and is not updated', async (t) => {
  const eppn = 'parti@univ-nord.example';
  await login(app, NORD, verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: [eppn], displayName: ['Parti'] } }));
  await database.app.withTenant(nord.id, (trx) => trx.updateTable('people').set({ status: 'deactivated' }).where('external_id', '=', eppn).execute());
  const res = await login(app, NORD, verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: [eppn], displayName: ['Revenu'] } }));
  t.equal(res.statusCode, 403);
  t.match(res.body, 'désactivé');
  t.match(res.body, 'Université du Nord');
  t.notOk(cookieOf(res), 'no session');
  const [row] = await people(nord.id, eppn);
  t.equal(row!.display_name, 'Parti', 'not updated');

  // Deactivating someone who is logged in: the directory ends their sessions.
  const other = 'encore.la@univ-nord.example';
  const live = cookieOf(await login(app, NORD, verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: [other], displayName: ['Encore Là'] } })))!;
  const [person] = await people(nord.id, other);
  t.equal(await app.identity.endPersonSessions(nord.id, person!.id), 1);
  const home = await app.inject({ method: 'GET', url: '/', headers: { host: NORD, cookie: `portique_session=${live}` } });
  t.notMatch(home.body, 'Encore Là', 'logged out everywhere');
  t.equal(row!.status, 'deactivated');
});
