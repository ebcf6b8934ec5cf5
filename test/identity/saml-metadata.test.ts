// SP metadata of each tenant, key rollover, IdP metadata by URL (signed aggregate, fetched from a
// local HTTP server), and the discovery page of a tenant with several IdPs.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createIdp, idpMetadata } from '../../infra/dev-idp/idp.js';
import { generateKeyAndCertificate } from '../../src/identity/saml/certificate.js';
import { createIdpResolver, refreshIdpMetadata } from '../../src/identity/saml/idp.js';
import { createSpKeyStore } from '../../src/identity/saml/keys.js';
import { SignedXml } from 'xml-crypto';
import { NS, attr, children, descendants, parseUntrustedXml } from '../../src/identity/saml/xml.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { startSamlHarness } from './saml-harness.js';

const other = await createIdp({ entityId: 'https://idp.autre.example/idp', ssoUrl: 'https://idp.autre.example/sso', sloUrl: 'https://idp.autre.example/slo', scopes: ['autre.example'] });
const h = await startSamlHarness({
  nordExtra: `    - entityId: ${other.entityId}
      name: { fr: École partenaire du Nord, en: Northern partner school }
      metadataFile: other-idp.xml
`,
});
t.teardown(() => h.close());
await writeFile(join(h.tenantsDir, 'nord', 'other-idp.xml'), idpMetadata(other));
// Serve reads IdP metadata from the database: the file counts once applied.
await applyTenants(h.portique.database.owner.db, h.tenantsDir);
await h.portique.registry.reload();

t.test('SP metadata of each tenant: entityID, certificates, endpoints, requested attributes, mdui', async (t) => {
  for (const slug of ['nord', 'sud']) {
    const sp = h.sp(slug);
    const res = await h.app.inject({ url: '/saml/metadata', headers: { host: `${slug}.localhost` } });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /application\/samlmetadata\+xml/);
    const root = parseUntrustedXml(res.body).documentElement!;
    t.equal(root.namespaceURI, NS.metadata);
    t.equal(root.localName, 'EntityDescriptor');
    t.equal(attr(root, 'entityID'), sp.entityId);
    t.equal(sp.entityId, `http://${slug}.localhost:3000/saml/metadata`);
    const descriptor = children(root, NS.metadata, 'SPSSODescriptor')[0]!;
    t.ok(descriptor, 'SPSSODescriptor');
    t.equal(attr(descriptor, 'protocolSupportEnumeration'), 'urn:oasis:names:tc:SAML:2.0:protocol');
    const acs = children(descriptor, NS.metadata, 'AssertionConsumerService');
    t.same(acs.map((a) => [attr(a, 'Binding'), attr(a, 'Location')]), [['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', sp.acsUrl]]);
    const slo = children(descriptor, NS.metadata, 'SingleLogoutService').map((s) => attr(s, 'Location'));
    t.same(slo, [sp.sloUrl, sp.sloUrl]);
    const keys = children(descriptor, NS.metadata, 'KeyDescriptor');
    t.same(keys.map((k) => attr(k, 'use')), ['signing', 'encryption']);
    for (const k of keys) {
      const body = descendants(k, NS.dsig, 'X509Certificate')[0]!.textContent!;
      const cert = new X509Certificate(Buffer.from(body, 'base64'));
      t.ok(cert.publicKey.asymmetricKeyType === 'rsa', 'a parsable RSA certificate');
    }
    // Schema order within SPSSODescriptor: Extensions, KeyDescriptor, SingleLogoutService, NameIDFormat, ACS, AttributeConsumingService.
    const order = Array.from({ length: descriptor.childNodes.length }, (_, i) => descriptor.childNodes[i]!).filter((n) => n.nodeType === 1).map((n) => (n as Element).localName);
    const rank = ['Extensions', 'KeyDescriptor', 'SingleLogoutService', 'NameIDFormat', 'AssertionConsumerService', 'AttributeConsumingService'];
    t.same([...order].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)), order, 'elements in schema order');
    t.match(res.body, /<mdui:DisplayName xml:lang="fr">Université /);
    t.match(res.body, new RegExp(`<mdui:Logo height="48" width="48">http://${slug}.localhost:3000/branding/logo.svg</mdui:Logo>`));
    t.match(res.body, /FriendlyName="eduPersonPrincipalName" Name="urn:oid:1.3.6.1.4.1.5923.1.1.1.6"/);
  }
  const a = (await h.app.inject({ url: '/saml/metadata', headers: { host: 'nord.localhost' } })).body;
  const b = (await h.app.inject({ url: '/saml/metadata', headers: { host: 'sud.localhost' } })).body;
  const cert = (xml: string) => /<ds:X509Certificate>([^<]+)</.exec(xml)![1];
  t.not(cert(a), cert(b), 'each tenant has its own key');
});

t.test('rollover: a next key is published beside the current one, then signs', async (t) => {
  const store = createSpKeyStore(h.portique.database.app, 'another-store-secret-0123456789abcdef');
  const tenant = h.tenant('sud');
  // A store with another secret cannot open the keys (they are bound to SAML_KEY_SECRET).
  await t.rejects(store.keys(tenant.id, 'x'), 'keys encrypted with another secret do not open');
  const sameSecret = h.portique.config.samlKeySecret!;
  const real = createSpKeyStore(h.portique.database.app, sameSecret);
  const before = await real.keys(tenant.id, 'sud');
  await real.prepareNextKey(tenant.id, 'sud');
  const during = await real.keys(tenant.id, 'sud');
  t.equal(during.current.id, before.current.id);
  t.ok(during.next, 'next key present');
  await real.promoteNextKey(tenant.id);
  const after = await real.keys(tenant.id, 'sud');
  t.equal(after.current.id, during.next!.id, 'the next key became current');
  t.equal(after.next, undefined);
});

t.test('IdP metadata by URL: signed aggregate fetched, verified, entity picked; tampered or unsigned refused', async (t) => {
  const federation = await generateKeyAndCertificate('federation');
  const target = await createIdp({ entityId: 'https://idp.federee.example/idp', ssoUrl: 'https://idp.federee.example/sso', sloUrl: 'https://idp.federee.example/slo', scopes: ['federee.example'] });
  const entity = idpMetadata(target).replace(/^<\?xml[^>]*>\s*/, '');
  const unsignedAggregate = `<md:EntitiesDescriptor xmlns:md="${NS.metadata}" ID="_agg1" validUntil="${new Date(Date.now() + 86400_000).toISOString()}" Name="test-federation"><md:Extensions/>${idpMetadata(other).replace(/^<\?xml[^>]*>\s*/, '')}${entity}</md:EntitiesDescriptor>`;
  const signer = new SignedXml({ privateKey: federation.privateKey, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
  signer.addReference({ xpath: "/*[@ID='_agg1']", transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
  signer.computeSignature(unsignedAggregate, { prefix: 'ds', location: { reference: "/*[@ID='_agg1']", action: 'prepend' } });
  const signed = signer.getSignedXml();
  let body = signed;
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/federation.xml`;
  const provider = { entityId: target.entityId, metadataUrl: url, metadataSigningCertificate: 'federation.pem' };
  const options = { database: h.portique.database.app };
  await t.rejects(refreshIdpMetadata(options, h.tenant('sud'), provider), /no metadataSigningCertificate stored .* run `portique tenants apply`/, 'not declared yet');
  // Declared on sud, its certificate applied (stored: the worker needs no tenants/ folder).
  await writeFile(join(h.tenantsDir, 'sud', 'federation.pem'), federation.certificate);
  const sudFile = join(h.tenantsDir, 'sud.yaml');
  await writeFile(sudFile, `${await readFile(sudFile, 'utf8')}    - entityId: ${provider.entityId}\n      metadataUrl: ${url}\n      metadataSigningCertificate: federation.pem\n`);
  await applyTenants(h.portique.database.owner.db, h.tenantsDir);
  await h.portique.registry.reload();
  const tenant = h.tenant('sud');
  await rm(join(h.tenantsDir, 'sud', 'federation.pem'));

  body = unsignedAggregate;
  await t.rejects(refreshIdpMetadata(options, tenant, provider), 'unsigned aggregate refused');
  body = signed.replace('https://idp.federee.example/sso', 'https://evil.example/sso');
  await t.rejects(refreshIdpMetadata(options, tenant, provider), /signature/, 'tampered aggregate refused');
  body = signed;
  const result = await refreshIdpMetadata(options, tenant, provider);
  t.equal(result.entityId, target.entityId);
  const resolver = createIdpResolver({ database: h.portique.database.app });
  const declared = { ...tenant, declaration: { ...tenant.declaration, identity: { providers: [provider] } } };
  const [idp] = await resolver.providers(declared);
  t.equal(idp?.ssoUrl, 'https://idp.federee.example/sso');
  t.same(idp?.scopes, ['federee.example']);
  t.equal(idp?.certificates.length, 1);
});

t.test('discovery page for several IdPs: search by name, last choice remembered', async (t) => {
  const page = await h.app.inject({ url: '/connexion?retour=%2Faide', headers: { host: 'nord.localhost' } });
  t.equal(page.statusCode, 200);
  t.match(page.body, /Choisir votre établissement/);
  t.match(page.body, /École partenaire du Nord/);
  t.match(page.body, /IdP de développement/);
  const search = await h.app.inject({ url: '/connexion?q=partenaire', headers: { host: 'nord.localhost' } });
  t.match(search.body, /École partenaire du Nord/);
  t.notMatch(search.body, /<a href="\/connexion\?idp=https%3A%2F%2Fidp.univ-nord/);
  const choose = await h.app.inject({ url: `/connexion?idp=${encodeURIComponent(other.entityId)}&retour=%2Faide`, headers: { host: 'nord.localhost' } });
  t.equal(choose.statusCode, 303);
  t.match(choose.headers.location as string, /^https:\/\/idp\.autre\.example\/sso\?SAMLRequest=/);
  const cookie = String(choose.headers['set-cookie']);
  t.match(cookie, /portique_idp=/);
  const again = await h.app.inject({ url: '/connexion', headers: { host: 'nord.localhost', cookie: cookie.split(';')[0]! } });
  t.match(again.body, /Votre dernier choix/);
  const unknown = await h.app.inject({ url: '/connexion?idp=https%3A%2F%2Fevil.example', headers: { host: 'nord.localhost', accept: 'text/html' } });
  t.equal(unknown.statusCode, 400);
});
