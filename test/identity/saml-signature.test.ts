// verifyEnvelopedSignature against xml-crypto's own SignedXml.checkSignature, on the shapes IdPs
// produce (signed assertion inside a response, signed response, SHA-512, InclusiveNamespaces,
// inclusive C14N) and on tampered copies: both must accept the same documents, give the same
// signed bytes, and refuse the same attacks. Pure logic: no services.
import t from 'tap';
import { SignedXml } from 'xml-crypto';
import { generateKeyAndCertificate } from '../../src/identity/saml/certificate.js';
import { SIGNATURE_ALGORITHMS, verifyEnvelopedSignature } from '../../src/identity/saml/signature.js';
import { NS, SamlValidationError, parseUntrustedXml } from '../../src/identity/saml/xml.js';

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512';

const idp = await generateKeyAndCertificate('idp');
const stranger = await generateKeyAndCertificate('stranger');

const assertion = (id: string) =>
  `<saml:Assertion xmlns:saml="${NS.assertion}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z">` +
  `<saml:Issuer>https://idp.example/idp</saml:Issuer>` +
  `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">abc &amp; d&#233;f</saml:NameID></saml:Subject>` +
  `<saml:AttributeStatement><saml:Attribute Name="urn:oid:1.3.6.1.4.1.5923.1.1.1.6"><saml:AttributeValue xsi:type="xs:string">camille@univ.example</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
  `</saml:Assertion>`;
const response = (inner: string) =>
  `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" xmlns:ext="urn:example:ext" ID="_r1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z">` +
  `<saml:Issuer>https://idp.example/idp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
  `${inner}</samlp:Response>`;

interface Shape {
  localName: 'Assertion' | 'Response';
  id: string;
  c14n?: string;
  transforms?: string[];
  prefixes?: string[];
  algorithm?: string;
  digest?: string;
}

function sign(xml: string, shape: Shape, key = idp): string {
  const signer = new SignedXml({ privateKey: key.privateKey, publicCert: key.certificate, signatureAlgorithm: shape.algorithm ?? SIGNATURE_ALGORITHMS.rsaSha256, canonicalizationAlgorithm: shape.c14n ?? EXC_C14N });
  const select = `//*[local-name(.)='${shape.localName}' and @ID='${shape.id}']`;
  signer.addReference({ xpath: select, transforms: shape.transforms ?? [ENVELOPED, EXC_C14N], digestAlgorithm: shape.digest ?? SHA256, ...(shape.prefixes ? { inclusiveNamespacesPrefixList: shape.prefixes } : {}) });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: `${select}/*[local-name(.)='Issuer']`, action: 'after' } });
  return signer.getSignedXml();
}

/** What xml-crypto says of the signature of the element with `id`: its signed bytes, or undefined. */
function xmlCrypto(xml: string, id: string, certificate: string): string | undefined {
  const doc = parseUntrustedXml(xml);
  const element = Array.from(doc.getElementsByTagName('*') as unknown as ArrayLike<Element>).find((e) => e.getAttribute('ID') === id)!;
  const signature = Array.from(element.childNodes as unknown as ArrayLike<Node>).find((n) => (n as Element).localName === 'Signature');
  if (!signature) return undefined;
  const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
  verifier.loadSignature(signature);
  try {
    return verifier.checkSignature(xml) ? verifier.getSignedReferences()[0] : undefined;
  } catch {
    return undefined;
  }
}

/** What ours says: the signed element serialised, or undefined when refused. */
function ours(xml: string, id: string, certificate: string): string | undefined {
  const doc = parseUntrustedXml(xml);
  const element = Array.from(doc.getElementsByTagName('*') as unknown as ArrayLike<Element>).find((e) => e.getAttribute('ID') === id)!;
  try {
    return verifyEnvelopedSignature(element, [certificate]).toString();
  } catch (error) {
    if (error instanceof SamlValidationError) return undefined;
    throw error;
  }
}

const shapes: [string, (s: Shape) => string, Shape][] = [
  ['signed assertion, signed alone then placed in a response', (s) => response(sign(assertion('_a1'), s)), { localName: 'Assertion', id: '_a1' }],
  ['signed assertion, signed in place', (s) => sign(response(assertion('_a1')), s), { localName: 'Assertion', id: '_a1' }],
  ['signed response', (s) => sign(response(assertion('_a1')), s), { localName: 'Response', id: '_r1' }],
  ['RSA-SHA512 and SHA-512 digest', (s) => sign(response(assertion('_a1')), s), { localName: 'Assertion', id: '_a1', algorithm: SIGNATURE_ALGORITHMS.rsaSha512, digest: SHA512 }],
  ['InclusiveNamespaces PrefixList (xs, ext)', (s) => sign(response(assertion('_a1')), s), { localName: 'Assertion', id: '_a1', prefixes: ['xs', 'ext'] }],
  ['inclusive C14N for SignedInfo and reference', (s) => sign(response(assertion('_a1')), s), { localName: 'Assertion', id: '_a1', c14n: C14N, transforms: [ENVELOPED, C14N] }],
  ['enveloped-signature transform only (C14N implied)', (s) => sign(response(assertion('_a1')), s), { localName: 'Assertion', id: '_a1', transforms: [ENVELOPED] }],
];

for (const [name, build, shape] of shapes) {
  t.test(name, async (t) => {
    const xml = build(shape);
    const expected = xmlCrypto(xml, shape.id, idp.certificate);
    t.ok(expected, 'xml-crypto accepts it');
    t.equal(ours(xml, shape.id, idp.certificate), parseUntrustedXml(expected!).documentElement!.toString(), 'ours accepts it, with the same signed bytes');
    t.equal(ours(xml, shape.id, stranger.certificate), undefined, 'refused with another certificate');
    t.equal(xmlCrypto(xml, shape.id, stranger.certificate), undefined, 'as xml-crypto refuses it');

    const tampers: [string, (x: string) => string][] = [
      ['a signed value changed', (x) => x.replace('camille@univ.example', 'president@univ.example')],
      ['a signed attribute changed', (x) => x.replace('nameid-format:persistent"', 'nameid-format:transient"')],
      ['the digest value changed', (x) => x.replace(/<ds:DigestValue>./, (m) => m.slice(0, -1) + (m.endsWith('A') ? 'B' : 'A'))],
      ['the signature value changed', (x) => x.replace(/<ds:SignatureValue>./, (m) => m.slice(0, -1) + (m.endsWith('A') ? 'B' : 'A'))],
      ['the transforms emptied', (x) => x.replace(/<ds:Transforms>[\s\S]*?<\/ds:Transforms>/, '')],
      ['a namespace prefix list added', (x) => x.replace(/(<ds:Transform Algorithm="[^"]+")\/>(<\/ds:Transforms>)/, `$1><ec:InclusiveNamespaces xmlns:ec="${EXC_C14N}" PrefixList="ext"/></ds:Transform>$2`)],
    ];
    for (const [what, tamper] of tampers) {
      const bad = tamper(xml);
      if (bad === xml) continue;
      t.equal(ours(bad, shape.id, idp.certificate), undefined, `${what}: refused`);
      t.equal(xmlCrypto(bad, shape.id, idp.certificate), undefined, `${what}: as xml-crypto refuses it`);
    }
  });
}

t.test('transforms in another order, repeated, or foreign are refused', async (t) => {
  const xml = sign(response(assertion('_a1')), { localName: 'Assertion', id: '_a1' });
  const transforms = /<ds:Transforms>[\s\S]*?<\/ds:Transforms>/.exec(xml)![0];
  const variants = [
    `<ds:Transforms><ds:Transform Algorithm="${EXC_C14N}"/><ds:Transform Algorithm="${ENVELOPED}"/></ds:Transforms>`,
    `<ds:Transforms><ds:Transform Algorithm="${ENVELOPED}"/><ds:Transform Algorithm="${ENVELOPED}"/><ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms>`,
    `<ds:Transforms><ds:Transform Algorithm="${ENVELOPED}"/><ds:Transform Algorithm="${EXC_C14N}"/><ds:Transform Algorithm="${C14N}"/></ds:Transforms>`,
    `<ds:Transforms><ds:Transform Algorithm="${ENVELOPED}"/><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/></ds:Transforms>`,
  ];
  for (const variant of variants) t.equal(ours(xml.replace(transforms, variant), '_a1', idp.certificate), undefined);
});

t.test('the signature must be the signed element\'s own, and name its ID', async (t) => {
  const xml = sign(response(assertion('_a1')), { localName: 'Assertion', id: '_a1' });
  const doc = parseUntrustedXml(xml);
  t.throws(() => verifyEnvelopedSignature(doc.documentElement!, [idp.certificate]), /Signature is missing/, 'the response does not own the assertion\'s signature');
  const renamed = xml.replace('URI="#_a1"', 'URI="#_r1"');
  t.equal(ours(renamed, '_a1', idp.certificate), undefined, 'a reference to another element');
  const duplicate = xml.replace('<samlp:Status>', '<samlp:Extensions ID="_a1"/><samlp:Status>');
  t.equal(ours(duplicate, '_a1', idp.certificate), undefined, 'the ID carried twice');
});

t.test('a certificate that is no RSA certificate verifies nothing', async (t) => {
  const xml = sign(response(assertion('_a1')), { localName: 'Assertion', id: '_a1' });
  const doc = parseUntrustedXml(xml);
  const element = doc.getElementsByTagNameNS(NS.assertion, 'Assertion')[0]!;
  t.throws(() => verifyEnvelopedSignature(element, ['not a certificate']), /invalid signature/);
  t.ok(verifyEnvelopedSignature(element, ['not a certificate', idp.certificate]), 'the next one (rollover) still does');
});
