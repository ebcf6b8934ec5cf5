// Two SAML features federations use, attacked: an EncryptedID instead of a NameID (decrypted with
// the tenant's SP key, in a login's Subject or an IdP-initiated LogoutRequest), and
// shibmd:Scope regexp="true" (anchored, and only patterns that cannot backtrack badly).
import t, { type Test } from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildResponse, createIdp, encryptedIdXml, idpMetadata, logoutRequestUrl, nameIdXml, readAuthnRequest, type ResponseOptions, type TestIdp } from '../../infra/dev-idp/idp.js';
import { generateKeyAndCertificate } from '../../src/identity/saml/certificate.js';
import { createSpKeyStore } from '../../src/identity/saml/keys.js';
import { MAX_CHOICES, compileScopePattern, scopeAllowed } from '../../src/identity/saml/scopes.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { startSamlHarness } from './saml-harness.js';

const regexIdp = await createIdp({
  entityId: 'https://idp.univ-regex.example/idp',
  ssoUrl: 'https://idp.univ-regex.example/sso',
  sloUrl: 'https://idp.univ-regex.example/slo',
  scopes: ['partner.example'],
  regexpScopes: ['^([a-z0-9-]+\\.)?univ-regex\\.example$'],
});
const evilIdp = await createIdp({
  entityId: 'https://idp.evil-patterns.example/idp',
  ssoUrl: 'https://idp.evil-patterns.example/sso',
  sloUrl: 'https://idp.evil-patterns.example/slo',
  scopes: [],
  regexpScopes: ['(a+)+$', '^(.*)*\\.example$', '^a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?aaaaaaaaaaaaaaaaaaa$', '^(?=x)x$'],
});
const h = await startSamlHarness({
  nordExtra: [regexIdp, evilIdp].map((idp, i) => `    - entityId: ${idp.entityId}\n      metadataFile: extra-${i}.xml\n`).join(''),
});
t.teardown(() => h.close());
await writeFile(join(h.tenantsDir, 'nord', 'extra-0.xml'), idpMetadata(regexIdp));
await writeFile(join(h.tenantsDir, 'nord', 'extra-1.xml'), idpMetadata(evilIdp));
const applied = await applyTenants(h.portique.database.owner.db, h.tenantsDir);
await h.portique.registry.reload();

const NORD = 'nord.localhost';
const spNord = h.sp('nord');
const keyStore = createSpKeyStore(h.portique.database.app, h.portique.config.samlKeySecret!);
const spCertificate = async (slug: string) => (await keyStore.keys(h.tenant(slug).id, h.sp(slug).entityId)).current.certificate;
const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';

async function login(idp: TestIdp, overrides: Partial<ResponseOptions> = {}) {
  const start = await h.app.inject({ url: `/connexion?idp=${encodeURIComponent(idp.entityId)}`, headers: { host: NORD } });
  if (start.statusCode !== 303) throw new Error(`login start answered ${start.statusCode}`);
  const id = readAuthnRequest(start.headers.location as string).id;
  const response = await buildResponse(idp, {
    issuer: idp.entityId,
    audience: spNord.entityId,
    recipient: spNord.acsUrl,
    destination: spNord.acsUrl,
    inResponseTo: id,
    nameId: 'AAdzZWNyZXQx',
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    attributes: [{ name: EPPN, values: ['camille@univ-nord.example'] }],
    ...overrides,
  });
  return h.postAcs(NORD, response);
}

const loginOf = (res: { statusCode: number; body: string }) => (res.statusCode === 200 ? (JSON.parse(res.body) as { login: { nameId: unknown; attributes: Record<string, string[]> } }).login : undefined);

async function refused(t: Test, res: { statusCode: number; body: string }, pattern: RegExp) {
  t.ok(res.statusCode >= 400 && res.statusCode < 500, `refused with a 4xx (got ${res.statusCode})`);
  t.notMatch(res.body, /"login"/, 'no login');
  t.match(res.body, pattern);
}

t.test('EncryptedID: the NameID decrypted with the SP key', async (t) => {
  const encryptedId = await encryptedIdXml(nameIdXml('secret-persistent-id'), await spCertificate('nord'));
  const res = await login(h.idpNord, { encryptedId });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.same(loginOf(res)!.nameId, { value: 'secret-persistent-id', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });

  const inside = await login(h.idpNord, { encryptedId: await encryptedIdXml(nameIdXml('in-encrypted-assertion'), await spCertificate('nord')), encryptFor: await spCertificate('nord') });
  t.equal(inside.statusCode, 200, 'an EncryptedID inside an EncryptedAssertion');
  t.equal((loginOf(inside)!.nameId as { value: string }).value, 'in-encrypted-assertion');

  const signedResponse = await login(h.idpNord, { encryptedId, signAssertion: false, signResponse: true });
  t.equal(signedResponse.statusCode, 200, 'in an assertion covered by the response signature');
});

t.test('EncryptedID attacks', async (t) => {
  const nord = await spCertificate('nord');
  const cases: [string, Partial<ResponseOptions>, RegExp][] = [
    ['encrypted for another tenant', { encryptedId: await encryptedIdXml(nameIdXml('x'), await spCertificate('sud')) }, /could not be decrypted/],
    ['encrypted for a stranger', { encryptedId: await encryptedIdXml(nameIdXml('x'), (await generateKeyAndCertificate('stranger')).certificate) }, /could not be decrypted/],
    ['both a NameID and an EncryptedID', { encryptedId: `<saml:NameID>plain</saml:NameID>${await encryptedIdXml(nameIdXml('x'), nord)}` }, /both a NameID and an EncryptedID/],
    ['two EncryptedIDs', { encryptedId: (await encryptedIdXml(nameIdXml('a'), nord)) + (await encryptedIdXml(nameIdXml('b'), nord)) }, /more than one EncryptedID/],
    ['an assertion inside', { encryptedId: await encryptedIdXml(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0"/>`, nord) }, /does not hold a NameID/],
    ['a BaseID inside', { encryptedId: await encryptedIdXml(`<saml:BaseID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">admin</saml:BaseID>`, nord) }, /does not hold a NameID/],
    ['a comment splitting the value', { encryptedId: await encryptedIdXml(nameIdXml('admin').replace('admin', 'adm<!-- x -->in'), nord) }, /comments are not allowed/],
    ['an entity declaration', { encryptedId: await encryptedIdXml(`<!DOCTYPE x [<!ENTITY e "admin">]>${nameIdXml('&e;').replace('&amp;e;', '&e;')}`, nord) }, /document type declaration/],
    ['two roots', { encryptedId: await encryptedIdXml(nameIdXml('a') + nameIdXml('b'), nord) }, /malformed XML/],
    ['an element inside the NameID', { encryptedId: await encryptedIdXml(nameIdXml('a').replace('>a<', '><x>a</x><'), nord) }, /must hold text only/],
    ['an empty NameID', { encryptedId: await encryptedIdXml(nameIdXml(''), nord) }, /the NameID is empty/],
    ['a NameID with an unbound prefix', { encryptedId: await encryptedIdXml('<saml:NameID>a</saml:NameID>', nord) }, /malformed XML|does not hold a NameID/],
    ['no EncryptedData', { encryptedId: '<saml:EncryptedID/>' }, /EncryptedData is missing/],
  ];
  for (const [name, overrides, reason] of cases) {
    await t.test(name, async (t) => refused(t, await login(h.idpNord, overrides), reason));
  }
  const swapped = await login(h.idpNord, {
    tamper: (xml) => xml.replace(/<saml:NameID[^>]*>AAdzZWNyZXQx<\/saml:NameID>/, '<saml:EncryptedID/>'),
  });
  await refused(t, swapped, /signature/);
  t.equal((await login(h.idpNord)).statusCode, 200, 'a plain NameID still works');
});

t.test('EncryptedID in an IdP-initiated LogoutRequest', async (t) => {
  h.endSessionsCalls.length = 0;
  const url = logoutRequestUrl(h.idpNord, { destination: spNord.sloUrl, nameId: '', sessionIndex: '_s9', encryptedId: await encryptedIdXml(nameIdXml('nid-encrypted'), await spCertificate('nord')) });
  const res = await h.app.inject({ url: url.slice(url.indexOf('/saml/slo')), headers: { host: NORD } });
  t.equal(res.statusCode, 303, res.body.slice(0, 300));
  t.same(h.endSessionsCalls, [{ tenantId: h.tenant('nord').id, nameId: 'nid-encrypted', sessionIndex: '_s9' }]);

  h.endSessionsCalls.length = 0;
  const foreign = logoutRequestUrl(h.idpNord, { destination: spNord.sloUrl, nameId: '', encryptedId: await encryptedIdXml(nameIdXml('nid-x'), await spCertificate('sud')) });
  const bad = await h.app.inject({ url: foreign.slice(foreign.indexOf('/saml/slo')), headers: { host: NORD, accept: 'text/html' } });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /could not be decrypted/);
  t.same(h.endSessionsCalls, [], 'no session ended');
});

t.test('shibmd:Scope regexp="true": anchored', async (t) => {
  const eppn = (value: string) => ({ attributes: [{ name: EPPN, values: [value] }] });
  for (const ok of ['a@univ-regex.example', 'a@etu.univ-regex.example', 'a@ETU.Univ-Regex.example', 'a@partner.example']) {
    const res = await login(regexIdp, eppn(ok));
    t.equal(res.statusCode, 200, `${ok} accepted`);
  }
  const affiliation = await login(regexIdp, { attributes: [{ name: EPPN, values: ['a@etu.univ-regex.example'] }, { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.9', values: ['student@etu.univ-regex.example'] }] });
  t.same(loginOf(affiliation)!.attributes.eduPersonScopedAffiliation, ['student@etu.univ-regex.example'], 'scoped affiliation too');
  for (const bad of [
    'a@univ-regex.example.evil.example',
    'a@evil-univ-regex.example',
    'a@x.y.univ-regex.example',
    'a@univ-regexXexample',
    'a@evil.example',
    `a@${'a'.repeat(300)}.univ-regex.example`,
    'a@etu.univ-regex.example.',
    'a@etu.univ-regex.example/x',
    'a@univ-nord.example',
    'a',
  ]) {
    await t.test(JSON.stringify(bad), async (t) => refused(t, await login(regexIdp, eppn(bad)), /scope this identity provider may not assert/));
  }
});

t.test('shibmd:Scope regexp="true": patterns that could backtrack badly are left out, with a warning at apply', async (t) => {
  const warned = applied.warnings.filter((w) => /shibmd:Scope regexp ignored/.test(w.reason)).map((w) => w.reason);
  t.equal(warned.length, 4, warned.join('\n'));
  t.match(warned.join('\n'), /a repeated group/);
  t.match(warned.join('\n'), /too many ways to match/);
  t.match(warned.join('\n'), /lookaround/);
  // A scope the ignored patterns would have matched: refused, never accepted.
  const res = await login(evilIdp, { attributes: [{ name: EPPN, values: [`x@${'a'.repeat(40)}`] }] });
  await refused(t, res, /scope this identity provider may not assert/);
});

t.test('the pattern grammar', async (t) => {
  for (const ok of ['^([a-z0-9-]+\\.)?univ-nord\\.fr$', '(.*\\.)?example\\.edu', 'univ-(nord|sud)\\.fr', '^[a-z0-9-]{1,63}\\.univ\\.fr$', '^[^.]+\\.etu\\.univ\\.fr$', '(?:etu|pers)\\.univ\\.fr']) {
    t.doesNotThrow(() => compileScopePattern(ok), ok);
  }
  for (const [bad, why] of [
    ['(a+)+', /repeated group/],
    ['(a|aa)*b', /repeated group/],
    ['(.*){2}', /repeated group/],
    ['((a)b)?', /nested group/],
    ['(a)\\1', /escape/],
    ['\\d+\\.fr', /escape/],
    ['\\w+', /escape/],
    ['(?=a).*', /lookaround/],
    ['(?<n>a)', /lookaround or named group/],
    ['a**', /quantifier on a quantifier/],
    ['a+?', /quantifier on a quantifier/],
    ['.*.*.*', /too many ways/],
    ['[a-z]{0,200}[a-z]{0,200}[a-z]{0,200}', /too many ways/],
    ['a{1,999}', /out of range/],
    ['a{5,2}', /out of range/],
    ['[a-z', /unclosed/],
    ['[]', /unclosed or empty/],
    ['[a$]', /in a class/],
    ['a b', /not allowed/],
    ['(a', /unclosed group/],
    ['a)', /unopened group/],
    ['()', /empty group/],
    ['', /empty/],
    ['a'.repeat(201), /longer than 200/],
  ] as const) {
    t.throws(() => compileScopePattern(bad), why, JSON.stringify(bad));
  }
  const p = compileScopePattern('univ\\.fr');
  t.equal(p.source, '^(?:univ\\.fr)$', 'always anchored');
  t.notOk(scopeAllowed('xuniv.fr', [], [p]));
  t.notOk(scopeAllowed('univ.fr.evil', [], [p]));
  t.ok(scopeAllowed('UNIV.FR', [], [p]));
  t.notOk(scopeAllowed('univ.fr', [], []), 'no pattern, no literal: refused');
  t.ok(MAX_CHOICES <= 2 ** 16);
});
