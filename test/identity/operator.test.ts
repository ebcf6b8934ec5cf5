// The operator realm: its own host, its own IdP, its own sessions. Operator rights never come
// from a tenant's IdP, attacked from every side we can think of.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { parseOperatorDeclaration } from '../../src/identity/operator.js';
import { startPortique } from '../helpers/app.js';
import {
  ADMIN_ENTITLEMENT,
  NORD_IDP,
  OPERATOR_HOST,
  OPERATOR_IDP,
  OPERATOR_REALM_ID,
  cookieOf,
  identityTenantsDir,
  login,
  loginRoute,
  operatorDeclarationFile,
  verifiedLogin,
} from './helpers.js';

// Sud also claims the operator host: the operator host must still never resolve to a tenant.
const tenantsDir = await identityTenantsDir();
const sudFile = `${tenantsDir}/sud.yaml`;
await writeFile(sudFile, (await readFile(sudFile, 'utf8')).replace('  - sud.localhost', `  - sud.localhost\n  - ${OPERATOR_HOST}`));

const portique = await startPortique({
  tenantsDir,
  beforeReady: loginRoute,
  env: { OPERATOR_HOST, OPERATOR_DECLARATION: await operatorDeclarationFile() },
});
t.teardown(() => portique.close());
const { app, registry } = portique;
const nord = registry.bySlug('nord')!;
const NORD = 'nord.localhost';

const alice = (overrides: Parameters<typeof verifiedLogin>[1] = {}) =>
  verifiedLogin(OPERATOR_REALM_ID, {
    idpEntityId: OPERATOR_IDP,
    attributes: { eduPersonPrincipalName: ['alice@consortium.example'], displayName: ['Alice Opératrice'] },
    ...overrides,
  });
const console = (url: string, cookie?: string, name = 'portique_operator') =>
  app.inject({ method: 'GET', url, headers: { host: `${OPERATOR_HOST}:3000`, accept: 'text/html', ...(cookie ? { cookie: `${name}=${cookie}` } : {}) } });

t.test('the operator host is not a tenant host', async (t) => {
  t.equal(registry.byHost(OPERATOR_HOST)?.slug, 'sud', 'sud did claim it in its declaration');
  const help = await console('/aide');
  t.equal(help.statusCode, 404, 'no tenant page is served there');
  t.notMatch(help.body, 'Université du Sud');
  const home = await console('/');
  t.equal(home.statusCode, 303, 'the console home asks for an operator login');
  t.equal(home.headers.location, '/connexion?retour=%2F');
  const onTenant = await app.inject({ method: 'GET', url: '/', headers: { host: NORD } });
  t.match(onTenant.body, 'Université du Nord', 'the portal home is still the portal on tenant hosts');
});

t.test('an operator logs in through the operator IdP and gets the console', async (t) => {
  const res = await login(app, OPERATOR_HOST, alice());
  t.equal(res.statusCode, 303);
  const cookie = res.cookies.find((c) => c.name === 'portique_operator');
  t.ok(cookie?.value, 'an operator cookie, not a tenant one');
  t.notOk(cookieOf(res), 'no tenant session cookie');
  t.equal(cookie!.httpOnly, true);
  t.equal(cookie!.sameSite, 'Lax');
  const home = await console('/', cookie!.value);
  t.equal(home.statusCode, 200);
  t.match(home.body, "Console de l'opérateur");
  t.match(home.body, 'Alice Opératrice');
  t.match(home.body, 'Université du Nord', 'lists the tenants');

  const csrf = /name="_csrf" value="([^"]+)"/.exec(home.body)![1]!;
  const noToken = await app.inject({ method: 'POST', url: '/deconnexion', headers: { host: OPERATOR_HOST, cookie: `portique_operator=${cookie!.value}`, accept: 'text/html' }, payload: {} });
  t.equal(noToken.statusCode, 403, 'CSRF applies to operator sessions');
  t.notMatch(noToken.body, 'Établissement inconnu', 'with a real 403 page, not the unknown-host page');
  const headers = { host: OPERATOR_HOST, cookie: `portique_operator=${cookie!.value}`, accept: 'text/html' };
  const out = await app.inject({ method: 'POST', url: '/deconnexion', headers, payload: { _csrf: csrf } });
  t.equal(out.statusCode, 307, 'on to single logout, the same POST');
  t.equal(out.headers.location, '/saml/deconnexion');
  const slo = await app.inject({ method: 'POST', url: '/saml/deconnexion', headers, payload: { _csrf: csrf } });
  t.equal(slo.statusCode, 303, 'no SLO at this IdP: home');
  t.equal((await console('/', cookie!.value)).statusCode, 303, 'logged out');
});

t.test('a tenant IdP never grants operator rights', async (t) => {
  // 1. A nord login (nord admin, with every entitlement we can think of) replayed on the operator host.
  const fromTenant = verifiedLogin(nord.id, {
    attributes: {
      eduPersonPrincipalName: ['alice@consortium.example'],
      displayName: ['Alice'],
      eduPersonEntitlement: [ADMIN_ENTITLEMENT, 'operator', 'urn:portique:operator'],
    },
  });
  const replayed = await login(app, OPERATOR_HOST, fromTenant);
  t.equal(replayed.statusCode, 403);
  t.notOk(replayed.cookies.find((c) => c.name === 'portique_operator')?.value, 'no operator session');

  // 2. The operator realm claimed, but asserted by a tenant's IdP.
  const wrongIdp = await login(app, OPERATOR_HOST, alice({ idpEntityId: NORD_IDP }));
  t.equal(wrongIdp.statusCode, 403);
  t.notOk(wrongIdp.cookies.find((c) => c.name === 'portique_operator')?.value);

  // 3. The operator IdP's login posted to a tenant host gives no session there either.
  const onTenant = await login(app, NORD, alice());
  t.equal(onTenant.statusCode, 403);
  t.notOk(cookieOf(onTenant));

  // 4. A tenant session (even a tenant admin's) presented on the operator host, under either cookie name.
  const admin = cookieOf(await login(app, NORD, fromTenant))!;
  t.ok(admin, 'nord admin logged in on nord');
  t.equal((await console('/', admin, 'portique_operator')).statusCode, 303, 'not an operator');
  t.equal((await console('/', admin, 'portique_session')).statusCode, 303, 'not an operator');

  // 5. An operator session presented on a tenant host is nobody there.
  const op = (await login(app, OPERATOR_HOST, alice())).cookies.find((c) => c.name === 'portique_operator')!.value;
  const onNord = await app.inject({ method: 'GET', url: '/mes-sessions', headers: { host: NORD, cookie: `portique_session=${op}; portique_operator=${op}` } });
  t.equal(onNord.statusCode, 303);
});

t.test('only the declared operators, and the operator IdP must send the identifier', async (t) => {
  const bob = await login(app, OPERATOR_HOST, alice({ attributes: { eduPersonPrincipalName: ['bob@consortium.example'], displayName: ['Bob'] } }));
  t.equal(bob.statusCode, 403);
  t.match(bob.body, "n'a pas accès à la console");
  t.notOk(bob.cookies.find((c) => c.name === 'portique_operator')?.value);
  const noEppn = await login(app, OPERATOR_HOST, alice({ attributes: { displayName: ['Alice'] } }));
  t.equal(noEppn.statusCode, 403);
  t.match(noEppn.body, 'eduPersonPrincipalName');
});

t.test('the operator declaration is validated', async (t) => {
  t.throws(() => parseOperatorDeclaration('op.yaml', 'displayName: Console\noperators: [a]\n', 'console.example'), /identity: is required/);
  t.throws(
    () => parseOperatorDeclaration('op.yaml', 'displayName: Console\nidentity: { providers: [{ entityId: x }] }\noperators: [a]\nroles: [operator]\n', 'c.example'),
    /roles/,
    'unknown keys are errors',
  );
  const ok = parseOperatorDeclaration('/etc/portique/operator.yaml', 'displayName: Console\nidentity: { providers: [{ entityId: x }] }\noperators: [a]\n', 'c.example');
  t.equal(ok.host, 'c.example');
  t.equal(ok.dir, '/etc/portique');
});
