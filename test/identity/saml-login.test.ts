// SAML login through the real HTTP endpoints: /connexion -> AuthnRequest -> IdP response signed
// by a test key -> /saml/acs -> VerifiedLogin. Then every attack the issue lists, each refused
// with a 4xx branded page and no login.
import t, { type Test } from 'tap';
import { generateKeyAndCertificate } from '../../src/identity/saml/certificate.js';
import { buildAssertion, buildResponse, newSamlId, type ResponseOptions, type TestIdp } from '../../infra/dev-idp/idp.js';
import { startSamlHarness } from './saml-harness.js';

const h = await startSamlHarness();
t.teardown(() => h.close());
const NORD = 'nord.localhost';
const SUD = 'sud.localhost';
const spNord = h.sp('nord');

const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
function attributes(eppn = 'camille.martin@univ-nord.example') {
  return [
    { name: EPPN, friendlyName: 'eduPersonPrincipalName', values: [eppn] },
    { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1', friendlyName: 'eduPersonAffiliation', values: ['student', 'member'] },
    { name: 'urn:oid:2.16.840.1.113730.3.1.241', values: ['Camille Martin'] },
    { name: 'mail', nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic', values: ['camille.martin@univ-nord.example'] },
    { name: 'urn:oid:1.3.6.1.4.1.7135.1.2.1.10', friendlyName: 'supannEtuId', values: ['21901234'] },
  ];
}

async function response(inResponseTo: string | undefined, overrides: Partial<ResponseOptions> = {}, idp: TestIdp = h.idpNord, sp = spNord) {
  return buildResponse(idp, {
    issuer: idp.entityId,
    audience: sp.entityId,
    recipient: sp.acsUrl,
    destination: sp.acsUrl,
    inResponseTo,
    nameId: 'AAdzZWNyZXQxQ2FtaWxsZQ==',
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    sessionIndex: '_session-1',
    attributes: attributes(),
    ...overrides,
  });
}

function loginOf(res: { statusCode: number; body: string }) {
  return res.statusCode === 200 ? (JSON.parse(res.body) as { login: Record<string, unknown> }).login : undefined;
}

async function refused(t: Test, res: { statusCode: number; body: string; headers: Record<string, unknown> }, pattern?: RegExp) {
  t.ok(res.statusCode >= 400 && res.statusCode < 500, `refused with a 4xx (got ${res.statusCode})`);
  t.match(String(res.headers['content-type']), /text\/html/, 'as a page');
  t.match(res.body, /Université nord|Université sud/, 'branded');
  t.notMatch(res.body, /at .*\.ts:\d+|Error: /, 'no stack trace');
  t.notMatch(res.body, /"login"/, 'no login');
  if (pattern) t.match(res.body, pattern);
}

t.test('round trip: login redirect, signed assertion, VerifiedLogin with mapped attributes', async (t) => {
  const start = await h.startLogin(NORD, '/documents?dossier=1');
  t.match(start.location, /^https:\/\/idp\.univ-nord\.example\/idp\/sso\?SAMLRequest=.+&RelayState=.+&SigAlg=.+&Signature=/);
  t.equal(start.relayState, '/documents?dossier=1');
  const res = await h.postAcs(NORD, await response(start.id), start.relayState);
  t.equal(res.statusCode, 200, res.body.slice(0, 400));
  const login = loginOf(res)!;
  t.equal(login.tenantId, h.tenant('nord').id);
  t.equal(login.idpEntityId, h.idpNord.entityId);
  t.same(login.nameId, { value: 'AAdzZWNyZXQxQ2FtaWxsZQ==', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });
  t.equal(login.sessionIndex, '_session-1');
  t.equal(login.returnTo, '/documents?dossier=1');
  t.same(login.attributes, {
    eduPersonPrincipalName: ['camille.martin@univ-nord.example'],
    eduPersonAffiliation: ['student', 'member'],
    displayName: ['Camille Martin'],
    mail: ['camille.martin@univ-nord.example'],
    supannEtuId: ['21901234'],
  });
});

t.test('signed response (assertion unsigned), both signed, transient NameID', async (t) => {
  for (const [name, o] of [
    ['response only', { signResponse: true, signAssertion: false }],
    ['response and assertion', { signResponse: true, signAssertion: true }],
    ['transient', { nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient', nameId: '_abc' }],
  ] as const) {
    const start = await h.startLogin(NORD);
    const res = await h.postAcs(NORD, await response(start.id, o));
    t.equal(res.statusCode, 200, `${name}: ${res.body.slice(0, 300)}`);
  }
});

t.test('encrypted assertion, signed inside, decrypted with the tenant SP key from its metadata', async (t) => {
  const metadata = (await h.app.inject({ url: '/saml/metadata', headers: { host: NORD } })).body;
  const cert = /use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>([^<]+)</.exec(metadata)![1]!;
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  const start = await h.startLogin(NORD);
  const res = await h.postAcs(NORD, await response(start.id, { encryptFor: pem }));
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.equal(loginOf(res)!.idpEntityId, h.idpNord.entityId);
  const signedOutside = await h.startLogin(NORD);
  const res2 = await h.postAcs(NORD, await response(signedOutside.id, { encryptFor: pem, signAssertion: false, signResponse: true }));
  t.equal(res2.statusCode, 200, 'encrypted assertion in a signed response');
});

t.test('unsigned response and assertion', async (t) => {
  const start = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(start.id, { signAssertion: false })), /sign/);
});

t.test('signature removed from a signed assertion', async (t) => {
  const start = await h.startLogin(NORD);
  const tamper = (xml: string) => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '');
  await refused(t, await h.postAcs(NORD, await response(start.id, { tamper })));
});

t.test('value changed after signing (eppn rewritten)', async (t) => {
  const start = await h.startLogin(NORD);
  const tamper = (xml: string) => xml.replace('camille.martin@univ-nord.example</saml:AttributeValue>', 'president@univ-nord.example</saml:AttributeValue>');
  await refused(t, await h.postAcs(NORD, await response(start.id, { tamper })), /signature/);
});

t.test('signature wrapping variants', async (t) => {
  // The attacker holds one genuinely signed assertion (for someone else) and builds around it.
  const start = await h.startLogin(NORD);
  const genuine = Buffer.from(await response(start.id), 'base64').toString();
  const signedAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(genuine)![0];
  const evil = buildAssertion({
    issuer: h.idpNord.entityId, audience: spNord.entityId, recipient: spNord.acsUrl, inResponseTo: start.id,
    nameId: 'attacker', attributes: attributes('president@univ-nord.example'),
  }).xml;
  const evilSameId = evil.replace(/ID="[^"]+"/, /ID="([^"]+)"/.exec(signedAssertion)![0]);
  const wrap = (inner: string) => Buffer.from(genuine.replace(signedAssertion, inner)).toString('base64');
  const variants: [string, string][] = [
    ['evil assertion first, signed one after', wrap(evil + signedAssertion)],
    ['evil assertion with the signed one\'s ID (duplicate ID)', wrap(evilSameId + signedAssertion)],
    ['signed assertion hidden in an Extensions element', wrap(`<samlp:Extensions>${signedAssertion}</samlp:Extensions>${evil}`)],
    ['signed assertion nested inside the evil one', wrap(evil.replace('</saml:Assertion>', `<saml:Advice>${signedAssertion}</saml:Advice></saml:Assertion>`))],
    ['signature of the genuine one moved onto the evil one', wrap(evil.replace('</saml:Issuer>', `</saml:Issuer>${/<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signedAssertion)![0]}`))],
  ];
  for (const [name, payload] of variants) {
    await t.test(name, async (t) => refused(t, await h.postAcs(NORD, payload)));
  }
  // The genuine one still works afterwards: nothing above consumed the request.
  t.equal((await h.postAcs(NORD, Buffer.from(genuine).toString('base64'))).statusCode, 200, 'the genuine response is still accepted once');
});

t.test('signed by a certificate the tenant does not trust', async (t) => {
  const stranger = await generateKeyAndCertificate('stranger');
  const start = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(start.id, { signingKey: stranger })), /certificate/);
});

t.test('replayed assertion', async (t) => {
  const start = await h.startLogin(NORD);
  const payload = await response(start.id);
  t.equal((await h.postAcs(NORD, payload)).statusCode, 200);
  await refused(t, await h.postAcs(NORD, payload));
});

t.test('same assertion ID in an unsolicited-enabled tenant is refused the second time too', async (t) => {
  const id = newSamlId();
  const a = await h.startLogin(NORD);
  t.equal((await h.postAcs(NORD, await response(a.id, { id }))).statusCode, 200);
  const b = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(b.id, { id })), /already been used/);
});

t.test('expired and not yet valid', async (t) => {
  const now = Date.now();
  const a = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(a.id, { notBefore: new Date(now - 3600_000), notOnOrAfter: new Date(now - 600_000) })), /expired/);
  const b = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(b.id, { now: new Date(now + 3600_000), notBefore: new Date(now + 3600_000), notOnOrAfter: new Date(now + 7200_000) })), /not yet valid/);
});

t.test('wrong audience, destination, recipient', async (t) => {
  const a = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(a.id, { audience: 'https://other.example/sp' })), /another service/);
  const b = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(b.id, { destination: 'https://evil.example/acs', signResponse: true })), /destination/);
  const c = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(c.id, { recipient: 'https://evil.example/acs' })), /recipient/);
});

t.test('unknown InResponseTo, and unsolicited where not enabled', async (t) => {
  await refused(t, await h.postAcs(NORD, await response('_never-sent')), /no login request/);
  await refused(t, await h.postAcs(NORD, await response(undefined)), /unsolicited/);
});

t.test('a valid response for nord posted to sud', async (t) => {
  const start = await h.startLogin(NORD);
  await refused(t, await h.postAcs(SUD, await response(start.id)));
  t.equal((await h.postAcs(NORD, await response(start.id))).statusCode, 200, 'the request was not burnt by the attempt');
});

t.test('DOCTYPE and entity expansion', async (t) => {
  const bomb = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&b;</samlp:Response>`;
  await refused(t, await h.postAcs(NORD, Buffer.from(bomb).toString('base64')), /document type/);
  const start = await h.startLogin(NORD);
  const withDoctype = (xml: string) => `<!DOCTYPE foo [<!ENTITY x SYSTEM "file:///etc/passwd">]>${xml}`;
  await refused(t, await h.postAcs(NORD, await response(start.id, { tamper: withDoctype })), /document type/);
});

t.test('comment or processing instruction inside the NameID or eppn value', async (t) => {
  for (const [name, tamper] of [
    ['comment in NameID', (xml: string) => xml.replace('>AAdzZWNyZXQxQ2FtaWxsZQ==<', '>AAdzZWNy<!---->ZXQxQ2FtaWxsZQ==<')],
    ['comment in eppn', (xml: string) => xml.replace('>camille.martin@univ-nord.example<', '>camille.martin<!-- x -->@univ-nord.example<')],
    ['processing instruction in eppn', (xml: string) => xml.replace('>camille.martin@univ-nord.example<', '><?p camille.?>martin@univ-nord.example<')],
  ] as const) {
    const start = await h.startLogin(NORD);
    await t.test(name, async (t) => refused(t, await h.postAcs(NORD, await response(start.id, { tamper }))));
  }
});

t.test('RelayState pointing to another host', async (t) => {
  for (const relay of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
    const start = await h.startLogin(NORD);
    await refused(t, await h.postAcs(NORD, await response(start.id), relay));
  }
  const res = await h.app.inject({ url: `/connexion?retour=${encodeURIComponent('//evil.example')}`, headers: { host: NORD } });
  t.match(res.headers.location as string, /RelayState=%2F&/, 'an off-site retour is replaced by /');
});

t.test('oversized response', async (t) => {
  const huge = Buffer.from(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${'A'.repeat(600 * 1024)}</samlp:Response>`).toString('base64');
  const res = await h.postAcs(NORD, huge);
  t.equal(res.statusCode, 413);
  t.notMatch(res.body, /"login"/);
});

t.test('SHA-1 signature', async (t) => {
  const start = await h.startLogin(NORD);
  const res = await h.postAcs(NORD, await response(start.id, { signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' }));
  await refused(t, res, /SHA-256/);
});

t.test('scoped attribute with a scope the IdP does not declare', async (t) => {
  const start = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(start.id, { attributes: attributes('doyen@univ-sud.example') })), /scope/);
});

t.test('IdP response with an error status', async (t) => {
  const start = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(start.id, { statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' })));
});

t.test('missing required attribute (eppn, the default identifier) names it', async (t) => {
  const start = await h.startLogin(NORD);
  await refused(t, await h.postAcs(NORD, await response(start.id, { attributes: attributes().slice(1) })), /eduPersonPrincipalName/);
});
