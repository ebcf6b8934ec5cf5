// IdP metadata declared by file (metadataFile, or explicit ssoUrl and certificate files) is
// stored by `tenants apply` in saml_idp_metadata, so serve replicas read only the database: a
// serve whose TENANTS_DIR is empty still logs people in. Apply checks the files (a bad one
// changes nothing), notices when one changes, and warns about one that is not there yet.
import t from 'tap';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildResponse, createIdp, idpMetadata, readAuthnRequest, type TestIdp } from '../../infra/dev-idp/idp.js';
import { spEndpoints } from '../../src/identity/saml/sp.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { describeChanges } from '../../src/tenancy/cli.js';
import { DeclarationError } from '../../src/tenancy/declaration.js';
import { startPortique } from '../helpers/app.js';

const nordIdp = await createIdp({ entityId: 'https://idp.univ-nord.example/idp/shibboleth', ssoUrl: 'https://idp.univ-nord.example/idp/sso', sloUrl: 'https://idp.univ-nord.example/idp/slo', scopes: ['univ-nord.example'] });
const sudIdp = await createIdp({ entityId: 'https://idp.univ-sud.example/idp/shibboleth', ssoUrl: 'https://idp.univ-sud.example/idp/sso', sloUrl: 'https://idp.univ-sud.example/idp/slo', scopes: ['univ-sud.example'] });

const declaration = (slug: string, identity: string) => `slug: ${slug}
displayName: Université ${slug}
hosts: [${slug}.localhost]
defaultLocale: fr
branding:
  logo: logo.svg
  colors: { primary: "#1f3a93", secondary: "#f2b705" }
quotas: { storageTotal: 1 TiB, storagePerPerson: 1 GiB, largestUpload: 1 GiB, people: 100 }
services: [help]
identity:
  providers:
${identity}`;

const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-stored-idp-'));
for (const slug of ['nord', 'sud']) {
  await mkdir(join(tenantsDir, slug));
  await copyFile(`tenants/${slug}/logo.svg`, join(tenantsDir, slug, 'logo.svg'));
}
await writeFile(join(tenantsDir, 'nord', 'idp.xml'), idpMetadata(nordIdp));
await writeFile(join(tenantsDir, 'nord.yaml'), declaration('nord', `    - entityId: ${nordIdp.entityId}\n      metadataFile: idp.xml\n`));
await writeFile(join(tenantsDir, 'sud', 'idp-signing.pem'), sudIdp.certificate);
await writeFile(
  join(tenantsDir, 'sud.yaml'),
  declaration('sud', `    - entityId: ${sudIdp.entityId}\n      ssoUrl: ${sudIdp.ssoUrl}\n      sloUrl: ${sudIdp.sloUrl}\n      certificates: [idp-signing.pem]\n      scopes: [univ-sud.example]\n`),
);

// Applied from tenantsDir; served with an empty TENANTS_DIR, as a replica without tenants/.
const emptyDir = await mkdtemp(join(tmpdir(), 'portique-no-tenants-'));
const portique = await startPortique({
  tenantsDir,
  env: { TENANTS_DIR: emptyDir },
  samlHandover: {
    completeLogin: async (_request, reply, login) => reply.send({ login }),
    endSessions: async () => 0,
    currentSession: () => null,
  },
});
t.teardown(() => portique.close());
const { app, registry, database } = portique;
const owner = database.owner.db;

async function logIn(slug: string, idp: TestIdp, eppn: string) {
  const host = `${slug}.localhost`;
  const start = await app.inject({ method: 'GET', url: '/connexion', headers: { host } });
  if (start.statusCode !== 303) return start;
  const request = readAuthnRequest(start.headers.location as string);
  const sp = spEndpoints(registry.bySlug(slug)!, { production: false, port: 3000 });
  const response = await buildResponse(idp, {
    issuer: idp.entityId,
    audience: sp.entityId,
    recipient: sp.acsUrl,
    destination: sp.acsUrl,
    inResponseTo: request.id,
    nameId: `_${slug}-person`,
    attributes: [{ name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6', values: [eppn] }],
  });
  return app.inject({
    method: 'POST',
    url: '/saml/acs',
    headers: { host, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams({ SAMLResponse: response }).toString(),
  });
}

t.test('a serve with an empty TENANTS_DIR logs in through IdPs declared by files', async (t) => {
  t.equal(portique.config.tenantsDir, emptyDir);
  const nord = await logIn('nord', nordIdp, 'camille@univ-nord.example');
  t.equal(nord.statusCode, 200, nord.body.slice(0, 300));
  t.equal(nord.json().login.idpEntityId, nordIdp.entityId, 'metadataFile');
  const sud = await logIn('sud', sudIdp, 'lou@univ-sud.example');
  t.equal(sud.statusCode, 200, sud.body.slice(0, 300));
  t.equal(sud.json().login.idpEntityId, sudIdp.entityId, 'explicit ssoUrl and certificate file');
  t.same(sud.json().login.attributes.eduPersonPrincipalName, ['lou@univ-sud.example']);

  const crossed = await logIn('sud', nordIdp, 'camille@univ-nord.example');
  t.equal(crossed.statusCode, 403, "nord's IdP is still refused on sud");
  const stored = await database.app.withTenant(registry.bySlug('nord')!.id, (trx) => trx.selectFrom('saml_idp_metadata').select(['entity_id', 'source_url']).execute());
  t.same(stored, [{ entity_id: nordIdp.entityId, source_url: 'file:idp.xml' }], 'stored as the entity of its file');
});

t.test('apply notices a changed metadata file, refuses a bad one, warns about a missing one', async (t) => {
  const rotated = await createIdp({ entityId: nordIdp.entityId, ssoUrl: 'https://idp.univ-nord.example/idp/sso2', sloUrl: nordIdp.sloUrl, scopes: ['univ-nord.example'] });
  await writeFile(join(tenantsDir, 'nord', 'idp.xml'), idpMetadata(rotated));
  const dry = await applyTenants(owner, tenantsDir, { dryRun: true });
  t.same(dry.changes.find((c) => c.slug === 'nord'), { kind: 'update', slug: 'nord', what: ['assets'] }, 'a changed file is a change');
  const applied = await applyTenants(owner, tenantsDir);
  t.equal(applied.changes.find((c) => c.slug === 'nord')?.kind, 'update');
  await registry.reload();
  const start = await app.inject({ method: 'GET', url: '/connexion', headers: { host: 'nord.localhost' } });
  t.match(start.headers.location, /^https:\/\/idp\.univ-nord\.example\/idp\/sso2\?/, 'the new metadata is used');
  t.same((await applyTenants(owner, tenantsDir)).changes.map((c) => c.kind), ['unchanged', 'unchanged'], 'applying twice changes nothing');

  const before = await owner.selectFrom('tenants').select(['slug', 'digest']).orderBy('slug').execute();
  for (const [name, text, reason] of [
    ['idp.xml', idpMetadata(sudIdp), /identity\.providers\.0\.metadataFile: https:\/\/idp\.univ-nord\.example\/idp\/shibboleth is not in it/],
    ['idp.xml', '<md:EntityDescriptor', /identity\.providers\.0\.metadataFile: malformed XML/],
    ['idp.xml', '<!DOCTYPE x [<!ENTITY a "b">]><x/>', /document type declaration/],
  ] as const) {
    await writeFile(join(tenantsDir, 'nord', name), text);
    const error = await applyTenants(owner, tenantsDir).catch((e: unknown) => e);
    t.ok(error instanceof DeclarationError, 'refused');
    t.match((error as Error).message, reason);
  }
  await writeFile(join(tenantsDir, 'sud', 'idp-signing.pem'), 'not a certificate');
  t.match(String(await applyTenants(owner, tenantsDir).catch((e: unknown) => e)), /sud\.yaml: identity\.providers\.0\.certificates: no PEM certificate/);
  t.same(await owner.selectFrom('tenants').select(['slug', 'digest']).orderBy('slug').execute(), before, 'nothing changed');
  t.equal((await app.inject({ method: 'GET', url: '/connexion', headers: { host: 'nord.localhost' } })).statusCode, 303, 'logins still work');

  await writeFile(join(tenantsDir, 'sud', 'idp-signing.pem'), sudIdp.certificate);
  await rm(join(tenantsDir, 'nord', 'idp.xml'));
  const missing = await applyTenants(owner, tenantsDir);
  t.equal(missing.warnings.length, 1);
  t.match(describeChanges(missing), /! .*nord\.yaml: identity\.providers\.0\.metadataFile: .*idp\.xml does not exist: logins through https:\/\/idp\.univ-nord\.example\/idp\/shibboleth are unavailable/);
  await registry.reload();
  const unavailable = await app.inject({ method: 'GET', url: '/connexion', headers: { host: 'nord.localhost', accept: 'text/html' } });
  t.equal(unavailable.statusCode, 503, 'no metadata stored: login unavailable, said so');
  t.equal((await logIn('sud', sudIdp, 'lou@univ-sud.example')).statusCode, 200, 'sud unaffected');
});
