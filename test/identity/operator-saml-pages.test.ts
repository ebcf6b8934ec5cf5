// The SAML pages served on the operator host (discovery, "logged out, on to the IdP", refused
// logins) are drawn in the console's shell: no tenant logo (there is none to serve there, it
// showed as a broken image), no portal navigation; tenant hosts keep their portal shell.
import t, { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createIdp, idpMetadata } from '../../infra/dev-idp/idp.js';
import { startPortique } from '../helpers/app.js';
import { OPERATOR_HOST, OPERATOR_IDP, OPERATOR_REALM_ID, identityTenantsDir, login, loginRoute, operatorDeclarationFile, verifiedLogin } from './helpers.js';

const SECOND_IDP = 'https://idp2.consortium.example/idp';
const first = await createIdp({ entityId: OPERATOR_IDP, ssoUrl: 'https://idp.consortium.example/sso', sloUrl: 'https://idp.consortium.example/slo', scopes: ['consortium.example'] });
const second = await createIdp({ entityId: SECOND_IDP, ssoUrl: 'https://idp2.consortium.example/sso', sloUrl: 'https://idp2.consortium.example/slo', scopes: ['consortium.example'] });
const declarationFile = await operatorDeclarationFile(idpMetadata(first, 'IdP du consortium'));
await writeFile(join(dirname(declarationFile), 'idp2-metadata.xml'), idpMetadata(second, 'Second IdP du consortium'));
await writeFile(
  declarationFile,
  (await readFile(declarationFile, 'utf8')).replace('  session:', `    - entityId: ${SECOND_IDP}\n      metadataFile: idp2-metadata.xml\n  session:`),
);

const portique = await startPortique({
  tenantsDir: await identityTenantsDir(),
  beforeReady: loginRoute,
  env: { OPERATOR_HOST, OPERATOR_DECLARATION: declarationFile },
});
t.teardown(() => portique.close());
const { app } = portique;

function assertConsoleShell(t: Test, body: string) {
  t.match(body, 'Consortium Portique', 'the console name');
  t.notMatch(body, '/branding/', 'no tenant logo or favicon');
  t.notMatch(body, 'brand-logo');
  t.notMatch(body, /Université/, 'no university');
  t.notMatch(body, '/mes-sessions', 'no portal navigation');
}

t.test('the discovery page on the console host', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/connexion?retour=%2Fjournal', headers: { host: OPERATOR_HOST, accept: 'text/html' } });
  t.equal(res.statusCode, 200);
  t.match(res.body, 'Choisir votre établissement');
  t.match(res.body, 'IdP du consortium');
  t.match(res.body, 'Second IdP du consortium');
  t.match(res.body, `/connexion?idp=${encodeURIComponent(SECOND_IDP)}&amp;retour=%2Fjournal`);
  assertConsoleShell(t, res.body);

  const en = await app.inject({ method: 'GET', url: '/connexion', headers: { host: OPERATOR_HOST, accept: 'text/html', cookie: 'portique_lang=en' } });
  t.match(en.body, 'Choose your institution');
  t.match(en.body, '<html lang="en"');
  assertConsoleShell(t, en.body);
});

t.test('a refused login on the console host: the console error page', async (t) => {
  const garbage = await app.inject({
    method: 'POST',
    url: '/saml/acs',
    headers: { host: OPERATOR_HOST, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'SAMLResponse=PHg%2BPC94Pg%3D%3D',
  });
  t.equal(garbage.statusCode, 400);
  t.match(garbage.headers['content-type'], /text\/html/);
  t.match(garbage.body, 'Connexion refusée');
  t.match(garbage.body, 'Erreur 400');
  t.match(garbage.body, garbage.headers['x-request-id'] ?? /<code>[^<]+<\/code>/, 'with the request id');
  assertConsoleShell(t, garbage.body);

  const unknown = await app.inject({ method: 'GET', url: '/connexion?idp=https%3A%2F%2Fevil.example', headers: { host: OPERATOR_HOST, accept: 'text/html' } });
  t.equal(unknown.statusCode, 400);
  t.match(unknown.body, 'ne fait pas partie des choix proposés');
  assertConsoleShell(t, unknown.body);

  const slo = await app.inject({ method: 'GET', url: '/saml/slo', headers: { host: OPERATOR_HOST, accept: 'text/html' } });
  t.equal(slo.statusCode, 404);
  assertConsoleShell(t, slo.body);

  const json = await app.inject({ method: 'POST', url: '/saml/acs', headers: { host: OPERATOR_HOST, accept: 'application/json' }, payload: { SAMLResponse: 'PHg+PC94Pg==' } });
  t.equal(json.statusCode, 400);
  t.equal(json.json().error.code, 'saml_refused', 'API callers still get JSON');
});

t.test('the logout page on the console host goes on to the IdP, in the console shell', async (t) => {
  const res = await login(
    app,
    OPERATOR_HOST,
    verifiedLogin(OPERATOR_REALM_ID, { idpEntityId: OPERATOR_IDP, attributes: { eduPersonPrincipalName: ['alice@consortium.example'], displayName: ['Alice Opératrice'] } }),
  );
  const cookie = res.cookies.find((c) => c.name === 'portique_operator')!.value;
  const headers = { host: OPERATOR_HOST, accept: 'text/html', cookie: `portique_operator=${cookie}` };
  const home = await app.inject({ method: 'GET', url: '/', headers });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home.body)![1]!;
  const out = await app.inject({ method: 'POST', url: '/saml/deconnexion', headers, payload: { _csrf: csrf } });
  t.equal(out.statusCode, 200);
  t.match(out.body, 'Vous êtes déconnecté');
  t.match(out.body, /<meta http-equiv="refresh" content="0;url=https:\/\/idp\.consortium\.example\/slo\?SAMLRequest=/);
  assertConsoleShell(t, out.body);
  t.notMatch(out.body, 'Alice Opératrice', 'no longer shown as logged in');
});

t.test('tenant hosts keep their portal shell for the same pages', async (t) => {
  // nord declares an IdP without metadata here: login is unavailable, on nord's branded page.
  const res = await app.inject({ method: 'GET', url: '/connexion', headers: { host: 'nord.localhost', accept: 'text/html' } });
  t.equal(res.statusCode, 503);
  t.match(res.body, 'Université du Nord');
  t.match(res.body, /<img class="brand-logo" src="\/branding\/[^"]+"/);
  t.notMatch(res.body, 'Consortium Portique');
});
