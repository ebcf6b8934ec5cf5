// The HTTP-Redirect binding: DEFLATE + base64 in the query string, signed over the query string
// itself (SAMLRequest|SAMLResponse, RelayState, SigAlg), and inflated here with a size limit.
import { createSign, createVerify } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SIGNATURE_ALGORITHMS } from './signature.js';
import { MAX_MESSAGE_BYTES, SamlValidationError } from './xml.js';

const HASH_OF: Record<string, string> = {
  [SIGNATURE_ALGORITHMS.rsaSha256]: 'RSA-SHA256',
  [SIGNATURE_ALGORITHMS.rsaSha512]: 'RSA-SHA512',
};

export type MessageKind = 'SAMLRequest' | 'SAMLResponse';

/** A signed Redirect-binding URL for `xml`. */
export function redirectUrl(endpoint: string, kind: MessageKind, xml: string, relayState: string | undefined, privateKey: string): string {
  const params = [`${kind}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`];
  if (relayState !== undefined) params.push(`RelayState=${encodeURIComponent(relayState)}`);
  params.push(`SigAlg=${encodeURIComponent(SIGNATURE_ALGORITHMS.rsaSha256)}`);
  const signed = params.join('&');
  const signature = createSign('RSA-SHA256').update(signed).sign(privateKey, 'base64');
  return `${endpoint}${endpoint.includes('?') ? '&' : '?'}${signed}&Signature=${encodeURIComponent(signature)}`;
}

/** Inflates a Redirect-binding message, refusing anything that inflates past the limit. */
export function inflateMessage(base64: string): string {
  if (base64.length > MAX_MESSAGE_BYTES) throw new SamlValidationError('message too large', 413);
  const raw = Buffer.from(base64, 'base64');
  try {
    return inflateRawSync(raw, { maxOutputLength: MAX_MESSAGE_BYTES }).toString('utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new SamlValidationError('message too large once inflated', 413);
    throw new SamlValidationError('message is not valid DEFLATE data');
  }
}

/**
 * Verifies a Redirect-binding signature against the raw query string (the values exactly as the
 * sender encoded them), with one of the IdP's certificates.
 */
export function verifyRedirectSignature(rawQuery: string, kind: MessageKind, certificates: readonly string[]): void {
  const pairs = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq);
    if (pairs.has(key)) throw new SamlValidationError(`duplicate ${key} parameter`);
    pairs.set(key, part.slice(eq + 1));
  }
  const message = pairs.get(kind);
  const sigAlg = pairs.get('SigAlg');
  const signature = pairs.get('Signature');
  if (!message || !sigAlg || !signature) throw new SamlValidationError('the message is not signed', 403);
  const algorithm = HASH_OF[decodeURIComponent(sigAlg)];
  if (!algorithm) throw new SamlValidationError('signature algorithm not allowed (RSA with SHA-256 or stronger required)', 403);
  const relay = pairs.get('RelayState');
  const signed = [`${kind}=${message}`, ...(relay !== undefined ? [`RelayState=${relay}`] : []), `SigAlg=${sigAlg}`].join('&');
  const bytes = Buffer.from(decodeURIComponent(signature), 'base64');
  const ok = certificates.some((certificate) => {
    try {
      return createVerify(algorithm).update(signed).verify(certificate, bytes);
    } catch {
      return false;
    }
  });
  if (!ok) throw new SamlValidationError('invalid signature, or not made by a certificate this university trusts', 403);
}
