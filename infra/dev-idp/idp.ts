// The identity-provider side of SAML, for the development IdP (server.ts) and the tests: builds
// and signs responses and logout messages as Shibboleth-like IdPs do. Never used by Portique
// itself to accept anything.
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { encrypt } from 'xml-encryption';
import { certificateBody, generateKeyAndCertificate, type KeyAndCertificate } from '../../src/identity/saml/certificate.js';
import { inflateMessage, redirectUrl } from '../../src/identity/saml/binding.js';
import { signXml } from '../../src/identity/saml/signature.js';
import { NS, attr, children, escapeXml, onlyChild, parseUntrustedXml, textOf } from '../../src/identity/saml/xml.js';

const encryptAsync = promisify(encrypt) as (content: string, options: Parameters<typeof encrypt>[1]) => Promise<string>;

export const newSamlId = () => `_${randomBytes(16).toString('hex')}`;

export interface TestIdp extends KeyAndCertificate {
  entityId: string;
  ssoUrl: string;
  sloUrl: string;
  scopes: string[];
  /** shibmd:Scope regexp="true" values of its metadata. */
  regexpScopes?: string[];
}

export async function createIdp(options: { entityId: string; ssoUrl: string; sloUrl: string; scopes: string[]; regexpScopes?: string[] }): Promise<TestIdp> {
  return { ...options, ...(await generateKeyAndCertificate(options.entityId)) };
}

const ENCRYPTION = {
  encryptionAlgorithm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  disallowEncryptionWithInsecureAlgorithm: true,
  warnInsecureAlgorithm: false,
} as const;

/** A saml:NameID element standing alone (namespace declared), as an IdP encrypts it. */
export const nameIdXml = (value: string, format = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent') =>
  `<saml:NameID xmlns:saml="${NS.assertion}" Format="${escapeXml(format)}">${escapeXml(value)}</saml:NameID>`;

/** A saml:EncryptedID holding `plaintext` (normally nameIdXml(...)) encrypted for an SP certificate. */
export async function encryptedIdXml(plaintext: string, spCertificate: string): Promise<string> {
  const encrypted = await encryptAsync(plaintext, { rsa_pub: spCertificate, pem: spCertificate, ...ENCRYPTION });
  return `<saml:EncryptedID xmlns:saml="${NS.assertion}">${encrypted}</saml:EncryptedID>`;
}

export function idpMetadata(idp: TestIdp, displayName = 'IdP de développement'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" xmlns:shibmd="${NS.shibmd}" xmlns:mdui="${NS.mdui}" entityID="${escapeXml(idp.entityId)}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:Extensions>
${idp.scopes.map((s) => `      <shibmd:Scope regexp="false">${escapeXml(s)}</shibmd:Scope>`).join('\n')}
${(idp.regexpScopes ?? []).map((s) => `      <shibmd:Scope regexp="true">${escapeXml(s)}</shibmd:Scope>`).join('\n')}
      <mdui:UIInfo><mdui:DisplayName xml:lang="fr">${escapeXml(displayName)}</mdui:DisplayName></mdui:UIInfo>
    </md:Extensions>
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(idp.certificate)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeXml(idp.sloUrl)}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeXml(idp.ssoUrl)}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
}

/** What an AuthnRequest (Redirect binding URL) asks. */
export function readAuthnRequest(url: string): { id: string; acsUrl: string; issuer: string; relayState: string | undefined } {
  const parsed = new URL(url);
  const doc = parseUntrustedXml(inflateMessage(parsed.searchParams.get('SAMLRequest') ?? ''));
  const root = doc.documentElement!;
  return {
    id: attr(root, 'ID')!,
    acsUrl: attr(root, 'AssertionConsumerServiceURL')!,
    issuer: textOf(onlyChild(root, NS.assertion, 'Issuer')),
    relayState: parsed.searchParams.get('RelayState') ?? undefined,
  };
}

export interface AssertionOptions {
  issuer: string;
  audience: string;
  recipient: string;
  inResponseTo?: string | undefined;
  nameId: string;
  nameIdFormat?: string;
  /** A saml:EncryptedID (encryptedIdXml) in the Subject instead of the NameID. */
  encryptedId?: string;
  sessionIndex?: string;
  attributes: { name: string; friendlyName?: string; nameFormat?: string; values: string[] }[];
  notBefore?: Date;
  notOnOrAfter?: Date;
  id?: string;
  now?: Date;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function buildAssertion(o: AssertionOptions): { id: string; xml: string } {
  const now = o.now ?? new Date();
  const id = o.id ?? newSamlId();
  const notBefore = o.notBefore ?? new Date(now.getTime() - 30_000);
  const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
  const irt = o.inResponseTo ? ` InResponseTo="${escapeXml(o.inResponseTo)}"` : '';
  const attributes = o.attributes
    .map(
      (a) =>
        `<saml:Attribute Name="${escapeXml(a.name)}"${a.friendlyName ? ` FriendlyName="${escapeXml(a.friendlyName)}"` : ''} NameFormat="${a.nameFormat ?? 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri'}">${a.values
          .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`)
          .join('')}</saml:Attribute>`,
    )
    .join('');
  const xml =
    `<saml:Assertion xmlns:saml="${NS.assertion}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${id}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${escapeXml(o.issuer)}</saml:Issuer>` +
    `<saml:Subject>${o.encryptedId ?? `<saml:NameID Format="${o.nameIdFormat ?? 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient'}">${escapeXml(o.nameId)}</saml:NameID>`}` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${irt} NotOnOrAfter="${iso(notOnOrAfter)}" Recipient="${escapeXml(o.recipient)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${escapeXml(o.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${escapeXml(o.sessionIndex ?? newSamlId())}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
    `</saml:Assertion>`;
  return { id, xml };
}

export interface ResponseOptions extends AssertionOptions {
  destination: string;
  signAssertion?: boolean;
  signResponse?: boolean;
  /** SP certificate (PEM) to encrypt the assertion for. */
  encryptFor?: string;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  statusCode?: string;
  /** Key that signs, when it is not the IdP's own (an untrusted signer). */
  signingKey?: KeyAndCertificate;
  /** Rewrites the final XML (attacks). */
  tamper?: (xml: string) => string;
}

export async function buildResponse(idp: TestIdp, o: ResponseOptions): Promise<string> {
  const key = o.signingKey ?? idp;
  const sign = (xml: string, id: string, localName: string) =>
    signXml(xml, { id, localName, privateKey: key.privateKey, certificate: key.certificate, algorithm: o.signatureAlgorithm, digest: o.digestAlgorithm });
  const assertion = buildAssertion(o);
  let assertionXml = o.signAssertion === false ? assertion.xml : sign(assertion.xml, assertion.id, 'Assertion');
  if (o.encryptFor) {
    const encrypted = await encryptAsync(assertionXml, { rsa_pub: o.encryptFor, pem: o.encryptFor, ...ENCRYPTION });
    assertionXml = `<saml:EncryptedAssertion xmlns:saml="${NS.assertion}">${encrypted}</saml:EncryptedAssertion>`;
  }
  const id = newSamlId();
  const irt = o.inResponseTo ? ` InResponseTo="${escapeXml(o.inResponseTo)}"` : '';
  let xml =
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${iso(o.now ?? new Date())}" Destination="${escapeXml(o.destination)}"${irt}>` +
    `<saml:Issuer>${escapeXml(o.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${o.statusCode ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>` +
    assertionXml +
    `</samlp:Response>`;
  if (o.signResponse) xml = sign(xml, id, 'Response');
  if (o.tamper) xml = o.tamper(xml);
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** An IdP-initiated LogoutRequest, as a signed Redirect-binding URL to the SP's SLO endpoint. */
export function logoutRequestUrl(idp: TestIdp, o: { destination: string; nameId: string; nameIdFormat?: string; sessionIndex?: string; id?: string; encryptedId?: string }): string {
  return redirectUrl(o.destination, 'SAMLRequest', logoutRequestXml(idp, o), undefined, idp.privateKey);
}

export function logoutRequestXml(idp: TestIdp, o: { destination: string; nameId: string; nameIdFormat?: string; sessionIndex?: string; id?: string; encryptedId?: string }): string {
  return (
    `<samlp:LogoutRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${o.id ?? newSamlId()}" Version="2.0" IssueInstant="${iso(new Date())}" Destination="${escapeXml(o.destination)}">` +
    `<saml:Issuer>${escapeXml(idp.entityId)}</saml:Issuer>` +
    (o.encryptedId ?? `<saml:NameID Format="${o.nameIdFormat ?? 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient'}">${escapeXml(o.nameId)}</saml:NameID>`) +
    (o.sessionIndex ? `<samlp:SessionIndex>${escapeXml(o.sessionIndex)}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`
  );
}

/** Reads a Redirect-binding LogoutRequest the SP sent (SP-initiated logout). */
export function readLogoutRequest(url: string): { id: string; nameId: string; sessionIndex: string | undefined; relayState: string | undefined } {
  const parsed = new URL(url);
  const root = parseUntrustedXml(inflateMessage(parsed.searchParams.get('SAMLRequest') ?? '')).documentElement!;
  return {
    id: attr(root, 'ID')!,
    nameId: textOf(onlyChild(root, NS.assertion, 'NameID')),
    sessionIndex: children(root, NS.protocol, 'SessionIndex').map(textOf)[0],
    relayState: parsed.searchParams.get('RelayState') ?? undefined,
  };
}

/** The IdP's LogoutResponse to an SP-initiated logout, as a signed Redirect-binding URL. */
export function logoutResponseUrl(idp: TestIdp, o: { destination: string; inResponseTo: string; relayState?: string | undefined }): string {
  const xml =
    `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${newSamlId()}" Version="2.0" IssueInstant="${iso(new Date())}" Destination="${escapeXml(o.destination)}" InResponseTo="${escapeXml(o.inResponseTo)}">` +
    `<saml:Issuer>${escapeXml(idp.entityId)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;
  return redirectUrl(o.destination, 'SAMLResponse', xml, o.relayState, idp.privateKey);
}
