// Validation of a SAML Response posted to the ACS. Every value that decides anything is read
// from the signed element (the assertion, or the response that contains it) as re-parsed from
// what was signed; the unsigned envelope only picks which IdP's certificates to try.
import { XMLSerializer } from '@xmldom/xmldom';
import { decrypt } from 'xml-encryption';
import { promisify } from 'node:util';
import type { IdpConfig } from './idp.js';
import type { RawAttribute } from './attributes.js';
import { assertUniqueIds, hasSignature, verifyEnvelopedSignature } from './signature.js';
import { MAX_MESSAGE_BYTES, NS, SamlValidationError, attr, children, onlyChild, parseUntrustedXml, textOf } from './xml.js';

export const CLOCK_SKEW_MS = 3 * 60_000;
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export interface PendingRequest {
  idp: string;
  returnTo: string;
  /** The browser's session when it started (see VerifiedLogin.replacesSession). */
  replaces?: { personId: string; handle: string };
}

export interface ResponseContext {
  spEntityId: string;
  acsUrl: string;
  idps: readonly IdpConfig[];
  /** PEM private keys that may decrypt an EncryptedAssertion (current, then next). */
  decryptionKeys: readonly string[];
  allowUnsolicited: boolean;
  now?: Date;
  /**
   * In one step: takes the pending AuthnRequest `requestId` (at most once; none asked when
   * undefined) and records the assertion ID until `until` (firstUse false when already seen).
   */
  claim(requestId: string | undefined, assertionId: string, until: Date): Promise<{ request: PendingRequest | undefined; firstUse: boolean }>;
}

export interface ValidatedAssertion {
  idp: IdpConfig;
  nameId: { value: string; format: string | undefined };
  sessionIndex: string | undefined;
  attributes: RawAttribute[];
  /** The pending request it answers; undefined for an (allowed) unsolicited response. */
  request: PendingRequest | undefined;
}

const decryptAsync = promisify(decrypt) as (xml: string, options: Parameters<typeof decrypt>[1]) => Promise<string>;

function decodeBase64(value: string): string {
  // Checked before decoding: a hostile body never reaches the parser beyond the limit.
  if (value.length > Math.ceil((MAX_MESSAGE_BYTES * 4) / 3) + 4) throw new SamlValidationError('message too large', 413);
  const clean = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new SamlValidationError('SAMLResponse is not base64');
  return Buffer.from(clean, 'base64').toString('utf8');
}

function time(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(t)) throw new SamlValidationError(`${what} is not a valid time`);
  return t;
}

export async function validateLoginResponse(samlResponse: string, ctx: ResponseContext): Promise<ValidatedAssertion> {
  const now = (ctx.now ?? new Date()).getTime();
  const xml = decodeBase64(samlResponse);
  const doc = parseUntrustedXml(xml);
  const response = doc.documentElement!;
  if (response.namespaceURI !== NS.protocol || response.localName !== 'Response') throw new SamlValidationError('not a SAML Response');
  assertUniqueIds(doc);

  // Which IdP: only to choose the certificates; the signed Issuer is checked below.
  const claimedIssuer =
    children(response, NS.assertion, 'Issuer').map(textOf)[0] ??
    children(response, NS.assertion, 'Assertion').flatMap((a) => children(a, NS.assertion, 'Issuer').map(textOf))[0];
  const idp = ctx.idps.find((i) => i.entityId === claimedIssuer) ?? (ctx.idps.length === 1 && !claimedIssuer ? ctx.idps[0] : undefined);
  if (!idp) throw new SamlValidationError('the response comes from an identity provider this university does not use', 403);

  const status = onlyChild(response, NS.protocol, 'Status', true);
  const code = status ? attr(onlyChild(status, NS.protocol, 'StatusCode'), 'Value') : undefined;
  if (code !== SUCCESS) throw new SamlValidationError(`the identity provider did not log you in (${code ?? 'no status'})`, 401);

  const signedResponse = hasSignature(response) ? verifyEnvelopedSignature(response, idp.certificates) : undefined;
  const envelope = signedResponse ?? response;
  const plain = children(envelope, NS.assertion, 'Assertion');
  const encrypted = children(envelope, NS.assertion, 'EncryptedAssertion');
  if (plain.length + encrypted.length !== 1) throw new SamlValidationError('a response must carry exactly one assertion');

  let assertion: Element;
  if (encrypted.length === 1) {
    const inner = parseUntrustedXml(await decryptAssertion(encrypted[0]!, ctx.decryptionKeys));
    assertUniqueIds(inner);
    assertion = inner.documentElement!;
    if (assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') throw new SamlValidationError('the encrypted element is not an assertion');
  } else {
    assertion = plain[0]!;
  }
  if (hasSignature(assertion) && !signedResponse) {
    assertion = verifyEnvelopedSignature(assertion, idp.certificates);
  } else if (!signedResponse) {
    throw new SamlValidationError('neither the response nor the assertion is signed', 403);
  }

  // From here on: trusted elements only.
  const issuer = textOf(onlyChild(assertion, NS.assertion, 'Issuer'));
  if (issuer !== idp.entityId) throw new SamlValidationError('the assertion was issued by another identity provider', 403);
  if (signedResponse) {
    const responseIssuer = onlyChild(signedResponse, NS.assertion, 'Issuer', true);
    if (responseIssuer && textOf(responseIssuer) !== idp.entityId) throw new SamlValidationError('the response was issued by another identity provider', 403);
    if (attr(signedResponse, 'Destination') !== ctx.acsUrl) throw new SamlValidationError('the response is addressed to another destination', 403);
  } else {
    const destination = attr(response, 'Destination');
    if (destination !== undefined && destination !== ctx.acsUrl) throw new SamlValidationError('the response is addressed to another destination', 403);
  }

  const subject = onlyChild(assertion, NS.assertion, 'Subject');
  const nameId = await readNameId(subject, ctx.decryptionKeys);
  if (!nameId) throw new SamlValidationError('the assertion has no NameID');

  // A bearer confirmation addressed to this ACS, in its time window.
  let inResponseTo: string | undefined;
  let confirmedUntil: number | undefined;
  const confirmations = children(subject, NS.assertion, 'SubjectConfirmation').filter((c) => attr(c, 'Method') === BEARER);
  if (confirmations.length !== 1) throw new SamlValidationError('the assertion needs exactly one bearer subject confirmation');
  const data = onlyChild(confirmations[0]!, NS.assertion, 'SubjectConfirmationData');
  if (attr(data, 'Recipient') !== ctx.acsUrl) throw new SamlValidationError('the assertion is meant for another recipient', 403);
  confirmedUntil = time(attr(data, 'NotOnOrAfter'), 'NotOnOrAfter');
  if (confirmedUntil === undefined) throw new SamlValidationError('the subject confirmation has no NotOnOrAfter');
  if (now >= confirmedUntil + CLOCK_SKEW_MS) throw new SamlValidationError('the assertion has expired', 403);
  const confirmedFrom = time(attr(data, 'NotBefore'), 'NotBefore');
  if (confirmedFrom !== undefined && now < confirmedFrom - CLOCK_SKEW_MS) throw new SamlValidationError('the assertion is not yet valid', 403);
  inResponseTo = attr(data, 'InResponseTo');
  const responseInResponseTo = signedResponse ? attr(signedResponse, 'InResponseTo') : undefined;
  if (responseInResponseTo !== undefined && inResponseTo !== undefined && responseInResponseTo !== inResponseTo) {
    throw new SamlValidationError('the response and its assertion answer different requests', 403);
  }
  inResponseTo ??= responseInResponseTo;

  const conditions = onlyChild(assertion, NS.assertion, 'Conditions');
  const notBefore = time(attr(conditions, 'NotBefore'), 'NotBefore');
  const notOnOrAfter = time(attr(conditions, 'NotOnOrAfter'), 'NotOnOrAfter');
  if (notBefore !== undefined && now < notBefore - CLOCK_SKEW_MS) throw new SamlValidationError('the assertion is not yet valid', 403);
  if (notOnOrAfter !== undefined && now >= notOnOrAfter + CLOCK_SKEW_MS) throw new SamlValidationError('the assertion has expired', 403);
  const restrictions = children(conditions, NS.assertion, 'AudienceRestriction');
  if (restrictions.length === 0) throw new SamlValidationError('the assertion has no audience restriction', 403);
  for (const restriction of restrictions) {
    if (!children(restriction, NS.assertion, 'Audience').some((a) => textOf(a) === ctx.spEntityId)) {
      throw new SamlValidationError('the assertion is meant for another service', 403);
    }
  }

  const statements = children(assertion, NS.assertion, 'AuthnStatement');
  if (statements.length !== 1) throw new SamlValidationError('the assertion needs exactly one authentication statement');
  const sessionIndex = attr(statements[0]!, 'SessionIndex');
  const sessionEnds = time(attr(statements[0]!, 'SessionNotOnOrAfter'), 'SessionNotOnOrAfter');
  if (sessionEnds !== undefined && now >= sessionEnds + CLOCK_SKEW_MS) throw new SamlValidationError('the identity provider session has ended', 403);

  const attributes: RawAttribute[] = [];
  for (const statement of children(assertion, NS.assertion, 'AttributeStatement')) {
    if (children(statement, NS.assertion, 'EncryptedAttribute').length) throw new SamlValidationError('encrypted attributes are not supported');
    for (const element of children(statement, NS.assertion, 'Attribute')) {
      const name = attr(element, 'Name');
      if (!name) continue;
      const values = children(element, NS.assertion, 'AttributeValue')
        // A structured value (eduPersonTargetedID as a NameID) is not a string attribute.
        .filter((v) => !Array.from({ length: v.childNodes.length }, (_, i) => v.childNodes[i]!).some((n) => n.nodeType === 1))
        .map(textOf)
        .filter((v) => v !== '');
      attributes.push({ name, friendlyName: attr(element, 'FriendlyName'), values });
    }
  }

  const assertionId = attr(assertion, 'ID');
  if (!assertionId) throw new SamlValidationError('the assertion has no ID');

  // Last, so a response refused above burns neither the request nor the assertion ID. Both are
  // claimed together (one Redis round trip): a response whose request is gone or was meant for
  // another IdP then burns its assertion ID too, which refuses nothing that could have passed.
  if (inResponseTo === undefined && !ctx.allowUnsolicited) {
    throw new SamlValidationError('unsolicited responses are not accepted by this university', 403);
  }
  const until = Math.max(confirmedUntil, notOnOrAfter ?? 0) + CLOCK_SKEW_MS;
  const { request, firstUse } = await ctx.claim(inResponseTo, `${idp.entityId}\n${assertionId}`, new Date(until));
  if (inResponseTo !== undefined) {
    if (!request) throw new SamlValidationError('this response answers no login request in progress (expired or already used)', 403);
    if (request.idp !== idp.entityId) throw new SamlValidationError('the response comes from another identity provider than the one asked', 403);
  }
  if (!firstUse) throw new SamlValidationError('this assertion has already been used', 403);
  return { idp, nameId, sessionIndex, attributes, request };
}

async function decryptAssertion(encrypted: Element, keys: readonly string[]): Promise<string> {
  return decryptElement(encrypted, keys, 'assertion');
}

/** The plaintext of an EncryptedAssertion or EncryptedID (xenc:EncryptedData inside), with the SP keys (rollover: each in turn). */
async function decryptElement(encrypted: Element, keys: readonly string[], what: string): Promise<string> {
  onlyChild(encrypted, NS.xenc, 'EncryptedData');
  const serialized = new XMLSerializer().serializeToString(encrypted);
  for (const key of keys) {
    try {
      return await decryptAsync(serialized, { key, disallowDecryptionWithInsecureAlgorithm: true, warnInsecureAlgorithm: false });
    } catch {
      // try the next key (rollover)
    }
  }
  throw new SamlValidationError(`the ${what} could not be decrypted with this service's keys`);
}

/**
 * The NameID of a Subject or LogoutRequest: a saml:NameID, or a saml:EncryptedID decrypted with
 * the SP keys as an EncryptedAssertion is. The element is read from a verified (signed) parent;
 * its plaintext is parsed as hostile XML all the same and must be exactly one saml:NameID
 * holding text: never another assertion, a BaseID, or anything with comments in it.
 */
export async function readNameId(parent: Element, keys: readonly string[]): Promise<{ value: string; format: string | undefined } | undefined> {
  const plain = onlyChild(parent, NS.assertion, 'NameID', true);
  const encrypted = onlyChild(parent, NS.assertion, 'EncryptedID', true);
  if (plain && encrypted) throw new SamlValidationError('both a NameID and an EncryptedID');
  let element = plain;
  if (encrypted) {
    if (keys.length === 0) throw new SamlValidationError('an encrypted NameID cannot be read here');
    const inner = parseUntrustedXml(await decryptElement(encrypted, keys, 'NameID'));
    element = inner.documentElement!;
    if (element.namespaceURI !== NS.assertion || element.localName !== 'NameID') throw new SamlValidationError('the EncryptedID does not hold a NameID');
  }
  if (!element) return undefined;
  const value = textOf(element);
  if (!value) throw new SamlValidationError('the NameID is empty');
  return { value, format: attr(element, 'Format') };
}
