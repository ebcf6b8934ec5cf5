// Logout messages from an IdP (LogoutRequest, LogoutResponse), by the Redirect binding (signature
// over the query string) or the POST binding (enveloped XML signature). Unsigned ones are refused.
import type { IdpConfig } from './idp.js';
import { inflateMessage, verifyRedirectSignature, type MessageKind } from './binding.js';
import { CLOCK_SKEW_MS, readNameId } from './response.js';
import { assertUniqueIds, verifyEnvelopedSignature } from './signature.js';
import { MAX_MESSAGE_BYTES, NS, SamlValidationError, attr, children, onlyChild, parseUntrustedXml, textOf } from './xml.js';

export type LogoutMessage =
  | { kind: 'request'; idp: IdpConfig; id: string; nameId: string; sessionIndexes: string[] }
  | { kind: 'response'; idp: IdpConfig; inResponseTo: string; success: boolean };

export async function readLogoutMessage(
  input: { binding: 'redirect'; rawQuery: string; kind: MessageKind; value: string } | { binding: 'post'; kind: MessageKind; value: string },
  /** decryptionKeys: the SP's private keys, for a LogoutRequest whose NameID is an EncryptedID. */
  ctx: { idps: readonly IdpConfig[]; sloUrl: string; decryptionKeys?: readonly string[]; now?: Date },
): Promise<LogoutMessage> {
  let xml: string;
  if (input.binding === 'redirect') {
    xml = inflateMessage(input.value);
  } else {
    if (input.value.length > Math.ceil((MAX_MESSAGE_BYTES * 4) / 3) + 4) throw new SamlValidationError('message too large', 413);
    xml = Buffer.from(input.value, 'base64').toString('utf8');
  }
  const doc = parseUntrustedXml(xml);
  assertUniqueIds(doc);
  let root: Element = doc.documentElement!;
  const expected = input.kind === 'SAMLRequest' ? 'LogoutRequest' : 'LogoutResponse';
  if (root.namespaceURI !== NS.protocol || root.localName !== expected) throw new SamlValidationError(`not a ${expected}`);
  const claimed = children(root, NS.assertion, 'Issuer').map(textOf)[0];
  const idp = ctx.idps.find((i) => i.entityId === claimed);
  if (!idp) throw new SamlValidationError('the message comes from an identity provider this university does not use', 403);
  if (input.binding === 'redirect') verifyRedirectSignature(input.rawQuery, input.kind, idp.certificates);
  else root = verifyEnvelopedSignature(root, idp.certificates);

  if (textOf(onlyChild(root, NS.assertion, 'Issuer')) !== idp.entityId) throw new SamlValidationError('issuer mismatch', 403);
  const destination = attr(root, 'Destination');
  if (destination !== undefined && destination !== ctx.sloUrl) throw new SamlValidationError('the message is addressed to another destination', 403);
  const issued = Date.parse(attr(root, 'IssueInstant') ?? '');
  const now = (ctx.now ?? new Date()).getTime();
  if (Number.isNaN(issued) || Math.abs(now - issued) > CLOCK_SKEW_MS + 5 * 60_000) throw new SamlValidationError('the message is too old or from the future', 403);

  if (expected === 'LogoutRequest') {
    const notOnOrAfter = attr(root, 'NotOnOrAfter');
    if (notOnOrAfter && now >= Date.parse(notOnOrAfter) + CLOCK_SKEW_MS) throw new SamlValidationError('the logout request has expired', 403);
    const nameId = await readNameId(root, ctx.decryptionKeys ?? []);
    if (!nameId) throw new SamlValidationError('the logout request has no NameID');
    return { kind: 'request', idp, id: attr(root, 'ID') ?? '', nameId: nameId.value, sessionIndexes: children(root, NS.protocol, 'SessionIndex').map(textOf) };
  }
  const inResponseTo = attr(root, 'InResponseTo');
  if (!inResponseTo) throw new SamlValidationError('the logout response answers no request');
  const status = onlyChild(root, NS.protocol, 'Status', true);
  const code = status ? attr(onlyChild(status, NS.protocol, 'StatusCode'), 'Value') : undefined;
  return { kind: 'response', idp, inResponseTo, success: code === 'urn:oasis:names:tc:SAML:2.0:status:Success' };
}
