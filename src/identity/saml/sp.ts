// This tenant as a SAML service provider: its URLs, its metadata, and the messages it sends.
import type { Tenant } from '../../tenancy/registry.js';
import { DEFAULT_ATTRIBUTES } from './attributes.js';
import { certificateBody } from './certificate.js';
import type { SpKeys } from './keys.js';
import { NS, escapeXml } from './xml.js';
import { randomBytes } from 'node:crypto';

export interface SpEndpoints {
  origin: string;
  entityId: string;
  acsUrl: string;
  sloUrl: string;
}

/**
 * URLs of a tenant's SP on its first host: https in production; in development and tests the
 * plain-http port Portique listens on (http://nord.localhost:3000).
 */
export function spEndpoints(tenant: Tenant, options: { production: boolean; port: number }): SpEndpoints {
  const host = tenant.hosts[0] ?? tenant.declaration.hosts[0]!;
  const origin = options.production ? `https://${host}` : `http://${host}${options.port === 80 ? '' : `:${options.port}`}`;
  return { origin, entityId: `${origin}/saml/metadata`, acsUrl: `${origin}/saml/acs`, sloUrl: `${origin}/saml/slo` };
}

export const newRequestId = () => `_${randomBytes(20).toString('hex')}`;
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const REQUESTED = ['eduPersonPrincipalName', 'eduPersonAffiliation', 'eduPersonPrimaryAffiliation', 'eduPersonScopedAffiliation', 'eduPersonEntitlement', 'mail', 'displayName', 'givenName', 'sn', 'supannEtuId', 'supannEmpId', 'supannEntiteAffectation', 'supannEtablissement'];

export function spMetadata(tenant: Tenant, sp: SpEndpoints, keys: SpKeys): string {
  const published = [keys.current, ...(keys.next ? [keys.next] : [])];
  const keyDescriptor = (use: string, certificate: string) =>
    `    <md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(certificate)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>${
      use === 'encryption' ? '<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/><md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>' : ''
    }</md:KeyDescriptor>`;
  const required = new Set(tenant.declaration.identity?.attributes?.required ?? []);
  const names = [...new Set([...REQUESTED, ...Object.values(tenant.declaration.identity?.attributes?.map ?? {})])];
  const requested = names
    .filter((n) => DEFAULT_ATTRIBUTES[n])
    .map((n) => `      <md:RequestedAttribute FriendlyName="${n}" Name="urn:oid:${DEFAULT_ATTRIBUTES[n]}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="${required.has(n)}"/>`)
    .join('\n');
  const { displayName, declaration } = tenant;
  const logo = `${sp.origin}/branding/${encodeURIComponent(declaration.branding.logo)}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" xmlns:mdui="${NS.mdui}" entityID="${escapeXml(sp.entityId)}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:Extensions>
      <mdui:UIInfo>
        <mdui:DisplayName xml:lang="fr">${escapeXml(displayName)}</mdui:DisplayName>
        <mdui:DisplayName xml:lang="en">${escapeXml(displayName)}</mdui:DisplayName>
${declaration.branding.tagline ? `        <mdui:Description xml:lang="fr">${escapeXml(declaration.branding.tagline.fr)}</mdui:Description>\n` : ''}        <mdui:Logo height="48" width="48">${escapeXml(logo)}</mdui:Logo>
      </mdui:UIInfo>
    </md:Extensions>
${published.map((k) => keyDescriptor('signing', k.certificate)).join('\n')}
${published.map((k) => keyDescriptor('encryption', k.certificate)).join('\n')}
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeXml(sp.sloUrl)}"/>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXml(sp.sloUrl)}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXml(sp.acsUrl)}" index="0" isDefault="true"/>
    <md:AttributeConsumingService index="0" isDefault="true">
      <md:ServiceName xml:lang="fr">${escapeXml(displayName)}</md:ServiceName>
${requested}
    </md:AttributeConsumingService>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`;
}

export function authnRequestXml(sp: SpEndpoints, o: { id: string; destination: string; now?: Date }): string {
  return (
    `<samlp:AuthnRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${o.id}" Version="2.0" IssueInstant="${iso(o.now ?? new Date())}" ` +
    `Destination="${escapeXml(o.destination)}" AssertionConsumerServiceURL="${escapeXml(sp.acsUrl)}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${escapeXml(sp.entityId)}</saml:Issuer><samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>`
  );
}

export function logoutRequestXml(sp: SpEndpoints, o: { id: string; destination: string; nameId: string; nameIdFormat: string | undefined; sessionIndex: string | undefined }): string {
  return (
    `<samlp:LogoutRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${o.id}" Version="2.0" IssueInstant="${iso(new Date())}" Destination="${escapeXml(o.destination)}">` +
    `<saml:Issuer>${escapeXml(sp.entityId)}</saml:Issuer>` +
    `<saml:NameID${o.nameIdFormat ? ` Format="${escapeXml(o.nameIdFormat)}"` : ''}>${escapeXml(o.nameId)}</saml:NameID>` +
    (o.sessionIndex ? `<samlp:SessionIndex>${escapeXml(o.sessionIndex)}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`
  );
}

export function logoutResponseXml(sp: SpEndpoints, o: { destination: string; inResponseTo: string; status?: string }): string {
  return (
    `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${newRequestId()}" Version="2.0" IssueInstant="${iso(new Date())}" Destination="${escapeXml(o.destination)}" InResponseTo="${escapeXml(o.inResponseTo)}">` +
    `<saml:Issuer>${escapeXml(sp.entityId)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status></samlp:LogoutResponse>`
  );
}
