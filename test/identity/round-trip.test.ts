// The whole login through the real HTTP endpoints, SAML layer and sessions together: /connexion
// -> AuthnRequest -> a response signed by the test IdP's key -> /saml/acs -> person provisioned,
// roles derived, session opened -> the page asked for, with the name shown; then single logout
// both ways. Same for the operator console on its own host with its own IdP.
import t from 'tap';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  buildResponse,
  createIdp,
  idpMetadata,
  logoutRequestUrl,
  readAuthnRequest,
  readLogoutRequest,
  type TestIdp,
} from '../../infra/dev-idp/idp.js';
import { samlRoutes } from '../../src/identity/saml/routes.js';
import { spEndpoints } from '../../src/identity/saml/sp.js';
import type { Tenant } from '../../src/tenancy/registry.js';
import { startPortique } from '../helpers/app.js';
import { ADMIN_ENTITLEMENT, OPERATOR_HOST, OPERATOR_IDP, operatorDeclarationFile, sloContinuation } from './helpers.js';

const KEY_SECRET = 'round-trip-test-secret-0123456789abcdef';
const idps = {
  nord: await createIdp({ entityId: 'https://idp.univ-nord.example/idp/shibboleth', ssoUrl: 'https://idp.univ-nord.example/idp/sso', sloUrl: 'https://idp.univ-nord.example/idp/slo', scopes: ['univ-nord.example'] }),
  sud: await createIdp({ entityId: 'https://idp.univ-sud.example/idp/shibboleth', ssoUrl: 'https://idp.univ-sud.example/idp/sso', sloUrl: 'https://idp.univ-sud.example/idp/slo', scopes: ['univ-sud.example'] }),
  operator: await createIdp({ entityId: OPERATOR_IDP, ssoUrl: 'https://idp.consortium.example/sso', sloUrl: 'https://idp.consortium.example/slo', scopes: ['consortium.example'] }),
};

const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-round-trip-'));
for (const slug of ['nord', 'sud'] as const) {
  await mkdir(join(tenantsDir, slug));
  await copyFile(`tenants/${slug}/logo.svg`, join(tenantsDir, slug, 'logo.svg'));
  await writeFile(join(tenantsDir, slug, 'idp-metadata.xml'), idpMetadata(idps[slug]));
  await writeFile(
    join(tenantsDir, `${slug}.yaml`),
    `slug: ${slug}
displayName: Université du ${slug === 'nord' ? 'Nord' : 'Sud'}
hosts: [${slug}.localhost]
defaultLocale: fr
branding:
  logo: logo.svg
  colors: { primary: "#1f3a93", secondary: "#f2b705" }
quotas: { storageTotal: 1 TiB, storagePerPerson: 1 GiB, largestUpload: 1 GiB, people: 1000 }
services: [help]
identity:
  providers:
    - entityId: ${idps[slug].entityId}
      metadataFile: idp-metadata.xml
  roles:
    - { role: admin, attribute: eduPersonEntitlement, values: ["${ADMIN_ENTITLEMENT}"] }
`,
  );
}

const portique = await startPortique({
  tenantsDir,
  env: { SAML_KEY_SECRET: KEY_SECRET, OPERATOR_HOST, OPERATOR_DECLARATION: await operatorDeclarationFile(idpMetadata(idps.operator)) },
  beforeReady: async (app: FastifyInstance, deps) => {
    // The tenant SAML routes, handing over to the real identity (unless buildApp already does).
    if (!app.hasRoute({ method: 'POST', url: '/saml/acs' })) {
      await app.register(samlRoutes, { database: deps.database, redis: deps.queue.redis, production: false, port: 3000, keySecret: KEY_SECRET, handover: app.identity });
    }
  },
});
t.teardown(() => portique.close());
const { app, registry, database } = portique;
const sp = (host: string) => {
  // The console's SP is on its own host, like a tenant's on its first host.
  const tenant = host === OPERATOR_HOST ? ({ hosts: [OPERATOR_HOST] } as unknown as Tenant) : registry.byHost(host)!;
  return spEndpoints(tenant, { production: false, port: 3000 });
};

const OID = {
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  affiliation: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1',
  entitlement: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
};

interface Person {
  eppn?: string;
  displayName?: string;
  affiliations?: string[];
  entitlements?: string[];
  nameId?: string;
  sessionIndex?: string;
}

const jar = new Map<string, string>();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
function keep(res: { cookies: { name: string; value: string }[] }) {
  for (const c of res.cookies) {
    if (c.value) jar.set(c.name, c.value);
    else jar.delete(c.name);
  }
}

/** The browser: /connexion on `host`, the IdP answers for `person`, the browser posts to the ACS. */
async function loginThroughIdp(host: string, idp: TestIdp, person: Person, retour = '/') {
  const start = await app.inject({ method: 'GET', url: `/connexion?retour=${encodeURIComponent(retour)}`, headers: { host, cookie: cookieHeader() } });
  if (start.statusCode !== 303) throw new Error(`/connexion answered ${start.statusCode}: ${start.body.slice(0, 300)}`);
  const request = readAuthnRequest(start.headers.location as string);
  const endpoints = sp(host);
  const attributes = [
    ...(person.eppn ? [{ name: OID.eppn, values: [person.eppn] }] : []),
    ...(person.displayName ? [{ name: OID.displayName, values: [person.displayName] }] : []),
    ...(person.affiliations ? [{ name: OID.affiliation, values: person.affiliations }] : []),
    ...(person.entitlements ? [{ name: OID.entitlement, values: person.entitlements }] : []),
  ];
  const samlResponse = await buildResponse(idp, {
    issuer: idp.entityId,
    audience: endpoints.entityId,
    recipient: endpoints.acsUrl,
    destination: endpoints.acsUrl,
    inResponseTo: request.id,
    nameId: person.nameId ?? 'AAdzZWNyZXQxQ2FtaWxsZQ==',
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    sessionIndex: person.sessionIndex ?? '_session-1',
    attributes,
  });
  const form = new URLSearchParams({ SAMLResponse: samlResponse, ...(request.relayState ? { RelayState: request.relayState } : {}) });
  // The IdP's POST is cross-site: a SameSite=Lax cookie does not come with it.
  const acs = await app.inject({ method: 'POST', url: '/saml/acs', headers: { host, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: form.toString() });
  keep(acs);
  return { acs, samlResponse, relayState: request.relayState };
}

const page = async (host: string, url: string) => {
  const res = await app.inject({ method: 'GET', url, headers: { host, accept: 'text/html', cookie: cookieHeader() } });
  keep(res);
  return res;
};
const camille: Person = { eppn: 'camille.martin@univ-nord.example', displayName: 'Camille Martin', affiliations: ['student', 'member'], sessionIndex: '_s-camille' };

t.test('a student of Nord logs in and lands on the page asked for, with the name shown', async (t) => {
  jar.clear();
  const before = await page('nord.localhost', '/aide');
  t.match(before.body, 'href="/connexion?retour=%2Faide"', '"Se connecter" carries the way back');
  const { acs, samlResponse, relayState } = await loginThroughIdp('nord.localhost', idps.nord, camille, '/aide');
  t.equal(acs.statusCode, 303, acs.body.slice(0, 300));
  t.equal(acs.headers.location, '/aide');
  t.ok(jar.get('portique_session'), 'session cookie');
  const after = await page('nord.localhost', '/aide');
  t.match(after.body, 'Camille Martin');
  t.match(after.body, 'Mes sessions');

  const rows = await database.app.withTenant(registry.bySlug('nord')!.id, (trx) => trx.selectFrom('people').selectAll().execute());
  t.equal(rows.length, 1, 'provisioned just in time');
  t.equal(rows[0]!.external_id, 'camille.martin@univ-nord.example');
  t.same(rows[0]!.roles, ['student']);

  // The same response again (a replay) opens nothing.
  const replay = await app.inject({
    method: 'POST',
    url: '/saml/acs',
    headers: { host: 'nord.localhost', 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams({ SAMLResponse: samlResponse, ...(relayState ? { RelayState: relayState } : {}) }).toString(),
  });
  t.ok(replay.statusCode >= 400 && replay.statusCode < 500, `replay refused (${replay.statusCode})`);
  t.notOk(replay.cookies.some((c) => c.name === 'portique_session' && c.value), 'no session from a replay');
});

t.test('a valid Nord response posted to Sud opens nothing on Sud', async (t) => {
  jar.clear();
  const start = await app.inject({ method: 'GET', url: '/connexion', headers: { host: 'nord.localhost' } });
  const request = readAuthnRequest(start.headers.location as string);
  const nordSp = sp('nord.localhost');
  const samlResponse = await buildResponse(idps.nord, {
    issuer: idps.nord.entityId, audience: nordSp.entityId, recipient: nordSp.acsUrl, destination: nordSp.acsUrl, inResponseTo: request.id,
    nameId: 'x', attributes: [{ name: OID.eppn, values: ['camille.martin@univ-nord.example'] }, { name: OID.displayName, values: ['Camille'] }],
  });
  const res = await app.inject({ method: 'POST', url: '/saml/acs', headers: { host: 'sud.localhost', 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams({ SAMLResponse: samlResponse }).toString() });
  t.ok(res.statusCode >= 400 && res.statusCode < 500);
  t.notOk(res.cookies.some((c) => c.value));
});

t.test('a missing displayName through the real ACS: branded page naming it, no session', async (t) => {
  jar.clear();
  const { acs } = await loginThroughIdp('nord.localhost', idps.nord, { eppn: 'sans.nom@univ-nord.example', affiliations: ['student'] });
  t.equal(acs.statusCode, 403);
  t.match(acs.body, 'displayName');
  t.match(acs.body, 'Université du Nord');
  t.notOk(jar.get('portique_session'));
});

t.test('tenant admin from an entitlement; a new session id at each login', async (t) => {
  jar.clear();
  const admin: Person = { eppn: 'admin@univ-nord.example', displayName: 'Ada Admin', affiliations: ['staff'], entitlements: [ADMIN_ENTITLEMENT], nameId: 'nid-admin', sessionIndex: '_s-admin' };
  await loginThroughIdp('nord.localhost', idps.nord, admin);
  const first = jar.get('portique_session')!;
  await loginThroughIdp('nord.localhost', idps.nord, admin);
  const second = jar.get('portique_session')!;
  t.not(second, first, 'rotated');
  const realm = { kind: 'tenant' as const, tenantId: registry.bySlug('nord')!.id };
  t.equal(await portique.app.identity.sessions.get(realm, first), undefined, 'the session the browser had is ended, though the ACS POST came without its cookie');
  t.ok(await portique.app.identity.sessions.get(realm, second), 'the new one lives');
  const rows = await database.app.withTenant(registry.bySlug('nord')!.id, (trx) => trx.selectFrom('people').select('roles').where('external_id', '=', 'admin@univ-nord.example').execute());
  t.same(rows[0]!.roles, ['staff', 'admin']);
});

t.test('IdP-initiated single logout ends the session', async (t) => {
  jar.clear();
  await loginThroughIdp('nord.localhost', idps.nord, { ...camille, nameId: 'nid-slo', sessionIndex: '_s-slo' });
  t.match((await page('nord.localhost', '/aide')).body, 'Camille Martin');
  const session = jar.get('portique_session')!;
  const url = new URL(logoutRequestUrl(idps.nord, { destination: sp('nord.localhost').sloUrl, nameId: 'nid-slo', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', sessionIndex: '_s-slo' }));
  const res = await app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: { host: 'nord.localhost' } });
  t.equal(res.statusCode, 303, res.body.slice(0, 200));
  const after = await app.inject({ method: 'GET', url: '/aide', headers: { host: 'nord.localhost', cookie: `portique_session=${session}` } });
  t.notMatch(after.body, 'Camille Martin', 'the session ended');
});

t.test('SP-initiated single logout: CSRF-protected, ends the session, asks the IdP', async (t) => {
  jar.clear();
  await loginThroughIdp('nord.localhost', idps.nord, { ...camille, nameId: 'nid-sp-slo', sessionIndex: '_s-sp-slo' });
  const home = await page('nord.localhost', '/aide');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home.body)![1]!;
  const forged = await app.inject({ method: 'POST', url: '/saml/deconnexion', headers: { host: 'nord.localhost', cookie: cookieHeader(), accept: 'text/html' }, payload: {} });
  t.equal(forged.statusCode, 403, 'no token, no logout');
  t.match((await page('nord.localhost', '/aide')).body, 'Camille Martin', 'still logged in');
  const res = await app.inject({ method: 'POST', url: '/saml/deconnexion', headers: { host: 'nord.localhost', cookie: cookieHeader(), accept: 'text/html' }, payload: { _csrf: csrf } });
  const request = readLogoutRequest(sloContinuation(res));
  t.equal(request.nameId, 'nid-sp-slo');
  t.equal(request.sessionIndex, '_s-sp-slo');
  t.notMatch((await page('nord.localhost', '/aide')).body, 'Camille Martin', 'logged out locally');
});

t.test("the header's logout button does single logout where SAML is served", async (t) => {
  jar.clear();
  await loginThroughIdp('nord.localhost', idps.nord, { ...camille, nameId: 'nid-header', sessionIndex: '_s-header' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec((await page('nord.localhost', '/aide')).body)![1]!;
  const headers = { host: 'nord.localhost', cookie: cookieHeader(), accept: 'text/html' };
  const first = await app.inject({ method: 'POST', url: '/deconnexion', headers, payload: { _csrf: csrf } });
  t.equal(first.statusCode, 307);
  const second = await app.inject({ method: 'POST', url: first.headers.location as string, headers, payload: { _csrf: csrf } });
  t.equal(readLogoutRequest(sloContinuation(second)).sessionIndex, '_s-header', 'the IdP is asked to log out this session');
  t.notMatch((await page('nord.localhost', '/aide')).body, 'Camille Martin');
  t.notOk(jar.get('portique_session'), 'the dead cookie is cleared on the next page');
});

t.test('the operator signs in on the console host through the operator IdP', async (t) => {
  jar.clear();
  const alice: Person = { eppn: 'alice@consortium.example', displayName: 'Alice Opératrice', nameId: 'nid-alice' };
  const { acs } = await loginThroughIdp(OPERATOR_HOST, idps.operator, alice);
  t.equal(acs.statusCode, 303, acs.body.slice(0, 300));
  t.ok(jar.get('portique_operator'), 'operator session');
  t.notOk(jar.get('portique_session'), 'no tenant session');
  const home = await page(OPERATOR_HOST, '/');
  t.equal(home.statusCode, 200);
  t.match(home.body, 'Alice Opératrice');
  const metadata = await app.inject({ method: 'GET', url: '/saml/metadata', headers: { host: OPERATOR_HOST } });
  t.match(metadata.body, 'entityID="http://console.localhost:3000/saml/metadata"', 'the console publishes its own SP metadata');

  // Nord's IdP, trusted by Nord, is not trusted by the console, even for a declared operator.
  jar.clear();
  const fromNord = await loginThroughIdp(OPERATOR_HOST, idps.nord, { ...alice, eppn: 'alice@consortium.example' }).catch((e: Error) => e);
  if (fromNord instanceof Error) t.fail(fromNord.message);
  else {
    t.ok(fromNord.acs.statusCode >= 400 && fromNord.acs.statusCode < 500, `refused (${fromNord.acs.statusCode})`);
    t.notOk(jar.get('portique_operator'));
  }
});
