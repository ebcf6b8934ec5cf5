// saml.refresh-metadata, the scheduled job: an IdP declared by metadataUrl is fetched when its
// refreshMinutes have passed, verified against the federation's certificate, and stored; a bad
// document fails the job and leaves the previous metadata in use; a fresh one is not refetched.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedXml } from 'xml-crypto';
import { parseDocument } from 'yaml';
import { createIdp, idpMetadata } from '../../infra/dev-idp/idp.js';
import { generateKeyAndCertificate } from '../../src/identity/saml/certificate.js';
import { samlRefreshMetadataJob } from '../../src/identity/saml/jobs.js';
import { SCHEDULES } from '../../src/jobs/schedules.js';
import { NS } from '../../src/identity/saml/xml.js';
import { startJobsHarness, testLog } from '../helpers/jobs.js';

const federation = await generateKeyAndCertificate('federation');
const idp = await createIdp({ entityId: 'https://idp.federee.example/idp', ssoUrl: 'https://idp.federee.example/sso', sloUrl: 'https://idp.federee.example/slo', scopes: ['federee.example'] });

function signedAggregate(ssoUrl: string): string {
  const entity = idpMetadata(idp).replace(/^<\?xml[^>]*>\s*/, '').replace('https://idp.federee.example/sso', ssoUrl);
  const xml = `<md:EntitiesDescriptor xmlns:md="${NS.metadata}" ID="_agg" validUntil="${new Date(Date.now() + 86400_000).toISOString()}">${entity}</md:EntitiesDescriptor>`;
  const signer = new SignedXml({ privateKey: federation.privateKey, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
  signer.addReference({ xpath: "/*[@ID='_agg']", transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: "/*[@ID='_agg']", action: 'prepend' } });
  return signer.getSignedXml();
}

let body = signedAggregate('https://idp.federee.example/sso');
let fetches = 0;
const server = createServer((_req, res) => {
  fetches++;
  res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => server.close(() => r())));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/federation.xml`;

// The demo tenants, sud's IdP declared by the federation's metadata URL.
const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-metadata-job-'));
t.teardown(() => rm(tenantsDir, { recursive: true, force: true }));
await cp('tenants', tenantsDir, { recursive: true });
await writeFile(join(tenantsDir, 'sud', 'federation.pem'), federation.certificate);
const sudFile = join(tenantsDir, 'sud.yaml');
const sudDoc = parseDocument(await readFile(sudFile, 'utf8'));
sudDoc.set('identity', { providers: [{ entityId: idp.entityId, metadataUrl: url, metadataSigningCertificate: 'federation.pem', refreshMinutes: 30 }] });
await writeFile(sudFile, sudDoc.toString());

const h = await startJobsHarness({ tenantsDir });
t.teardown(() => h.close());
// The worker reads the certificate `tenants apply` stored: it runs without a tenants/ folder.
const emptyDir = await mkdtemp(join(tmpdir(), 'portique-no-tenants-'));
t.teardown(() => rm(emptyDir, { recursive: true, force: true }));
const deps = { ...h.deps, config: { ...h.deps.config, tenantsDir: emptyDir } };
const run = () => samlRefreshMetadataJob.handle({ tenantId: h.sud }, { jobId: 'test', attempt: 1, log: testLog }, deps);
const stored = () =>
  h.database.app.withTenant(h.sud, (trx) => trx.selectFrom('saml_idp_metadata').select(['entity_id', 'xml', 'fetched_at']).execute());

t.test('it is scheduled', async (t) => {
  t.ok(SCHEDULES.some((s) => s.job === 'saml.refresh-metadata'));
});

t.test('first run: fetched, verified and stored', async (t) => {
  t.same(await run(), { refreshed: [idp.entityId] });
  const [row] = await stored();
  t.equal(row?.entity_id, idp.entityId);
  t.match(row?.xml, 'https://idp.federee.example/sso');
  t.equal(fetches, 1);
});

t.test('within refreshMinutes: not fetched again', async (t) => {
  t.same(await run(), { refreshed: [] });
  t.equal(fetches, 1);
});

t.test('when due, a tampered document fails the job and the previous metadata stays', async (t) => {
  await h.database.app.withTenant(h.sud, (trx) => trx.updateTable('saml_idp_metadata').set({ fetched_at: new Date(Date.now() - 31 * 60_000) }).execute());
  body = signedAggregate('https://idp.federee.example/sso').replace('https://idp.federee.example/sso', 'https://evil.example/sso');
  await t.rejects(run(), /metadata refresh failed for https:\/\/idp\.federee\.example\/idp/);
  const [row] = await stored();
  t.notMatch(row?.xml, 'evil.example', 'nothing replaced');
  t.match(row?.xml, 'https://idp.federee.example/sso');
});

t.test('when due, a new signed document replaces the old one', async (t) => {
  body = signedAggregate('https://idp.federee.example/sso-v2');
  t.same(await run(), { refreshed: [idp.entityId] });
  t.match((await stored())[0]?.xml, 'https://idp.federee.example/sso-v2');
});

t.test('a tenant without metadata URLs has nothing to do', async (t) => {
  const before = fetches;
  t.same(await samlRefreshMetadataJob.handle({ tenantId: h.nord }, { jobId: 'test', attempt: 1, log: testLog }, deps), { refreshed: [] });
  t.equal(fetches, before);
});
