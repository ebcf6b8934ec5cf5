// Enveloped XML signatures, verified the strict way: the signature is a direct child of the
// element it signs, has exactly one Reference and it points at that element's ID, uses SHA-256
// or stronger with RSA (SHA-1 and HMAC refused), and is checked against the configured
// certificates only (KeyInfo in the message is ignored). The caller then reads values from the
// canonical XML xml-crypto digested, re-parsed: never from the original document.
import { SignedXml } from 'xml-crypto';
import { NS, SamlValidationError, attr, children, onlyChild, parseUntrustedXml } from './xml.js';

export const SIGNATURE_ALGORITHMS = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
} as const;
const ALLOWED_SIGNATURE = new Set<string>(Object.values(SIGNATURE_ALGORITHMS));
const ALLOWED_DIGEST = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const ALLOWED_C14N = new Set([EXC_C14N, 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315']);
const ALLOWED_TRANSFORMS = new Set([ENVELOPED, ...ALLOWED_C14N]);

/** Every ID-like attribute value of the document appears once: wrapping attacks rely on duplicates. */
export function assertUniqueIds(doc: Document): void {
  const seen = new Set<string>();
  const all = doc.getElementsByTagName('*') as unknown as ArrayLike<Element>;
  for (let i = 0; i < all.length; i++) {
    const el = all[i]!;
    for (const name of ['ID', 'Id', 'id']) {
      const value = attr(el, name);
      if (value === undefined) continue;
      if (seen.has(value)) throw new SamlValidationError('duplicate ID in the message');
      seen.add(value);
    }
  }
}

/** Whether the element carries a ds:Signature of its own (direct child). */
export function hasSignature(element: Element): boolean {
  return children(element, NS.dsig, 'Signature').length > 0;
}

/**
 * Verifies the enveloped signature of `element` (inside the document parsed from `xml`) with one
 * of `certificates`, and returns the signed element as signed: re-parsed from its canonical form.
 */
export function verifyEnvelopedSignature(xml: string, element: Element, certificates: readonly string[]): Element {
  const signature = onlyChild(element, NS.dsig, 'Signature');
  const signedInfo = onlyChild(signature, NS.dsig, 'SignedInfo');
  const c14n = attr(onlyChild(signedInfo, NS.dsig, 'CanonicalizationMethod'), 'Algorithm') ?? '';
  if (!ALLOWED_C14N.has(c14n)) throw new SamlValidationError('canonicalisation algorithm not allowed');
  const method = attr(onlyChild(signedInfo, NS.dsig, 'SignatureMethod'), 'Algorithm') ?? '';
  if (!ALLOWED_SIGNATURE.has(method)) throw new SamlValidationError('signature algorithm not allowed (RSA with SHA-256 or stronger required)');
  const references = children(signedInfo, NS.dsig, 'Reference');
  if (references.length !== 1) throw new SamlValidationError('a signature must have exactly one reference');
  const reference = references[0]!;
  const id = attr(element, 'ID');
  if (!id || attr(reference, 'URI') !== `#${id}`) throw new SamlValidationError('the signature does not cover the element it is attached to');
  const digest = attr(onlyChild(reference, NS.dsig, 'DigestMethod'), 'Algorithm') ?? '';
  if (!ALLOWED_DIGEST.has(digest)) throw new SamlValidationError('digest algorithm not allowed (SHA-256 or stronger required)');
  const transforms = onlyChild(reference, NS.dsig, 'Transforms', true);
  for (const transform of transforms ? children(transforms, NS.dsig, 'Transform') : []) {
    if (!ALLOWED_TRANSFORMS.has(attr(transform, 'Algorithm') ?? '')) throw new SamlValidationError('signature transform not allowed');
  }
  if (certificates.length === 0) throw new SamlValidationError('no certificate is configured for this identity provider', 500);

  for (const certificate of certificates) {
    const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
    verifier.loadSignature(signature as unknown as Node);
    let valid = false;
    try {
      valid = verifier.checkSignature(xml);
    } catch {
      valid = false;
    }
    if (!valid) continue;
    const signed = verifier.getSignedReferences();
    if (signed.length !== 1) throw new SamlValidationError('a signature must have exactly one reference');
    const root = parseUntrustedXml(signed[0]!).documentElement!;
    if (root.namespaceURI !== element.namespaceURI || root.localName !== element.localName || attr(root, 'ID') !== id) {
      throw new SamlValidationError('the signature does not cover the element it is attached to');
    }
    return root;
  }
  throw new SamlValidationError('invalid signature, or not made by a certificate this university trusts', 403);
}

/** Signs `xml`'s element with ID `id`, placing the signature after its Issuer (SAML schema order). */
export function signXml(xml: string, options: { id: string; localName: string; privateKey: string; certificate: string; algorithm?: string; digest?: string }): string {
  const signer = new SignedXml({
    privateKey: options.privateKey,
    publicCert: options.certificate,
    signatureAlgorithm: options.algorithm ?? SIGNATURE_ALGORITHMS.rsaSha256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  signer.addReference({
    xpath: `//*[local-name(.)='${options.localName}' and @ID='${options.id}']`,
    transforms: [ENVELOPED, EXC_C14N],
    digestAlgorithm: options.digest ?? 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `//*[local-name(.)='${options.localName}' and @ID='${options.id}']/*[local-name(.)='Issuer']`, action: 'after' },
  });
  return signer.getSignedXml();
}
