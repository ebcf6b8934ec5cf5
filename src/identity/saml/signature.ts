// Enveloped XML signatures, verified the strict way: the signature is a direct child of the
// element it signs, has exactly one Reference and it points at that element's ID, uses SHA-256
// or stronger with RSA (SHA-1 and HMAC refused), and is checked against the configured
// certificates only (KeyInfo in the message is ignored). The caller then reads values from the
// canonical XML that was digested, re-parsed: never from the original document.
//
// xml-crypto's canonicalisers do the canonical forms; the rest of the core validation is done
// here, on the document the caller already parsed, because SignedXml.checkSignature re-parses the
// whole message and finds the referenced element and its ancestors by XPath scans of the whole
// document (most of a login's CPU). The element digested is the signature's parent itself, and
// the reference is read back from the canonical SignedInfo that the signature covers.
import { createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { C14nCanonicalization, ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { NS, SamlValidationError, attr, children, onlyChild, parseUntrustedXml, textOf } from './xml.js';

export const SIGNATURE_ALGORITHMS = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
} as const;
const HASH_OF_SIGNATURE: Record<string, string> = { [SIGNATURE_ALGORITHMS.rsaSha256]: 'sha256', [SIGNATURE_ALGORITHMS.rsaSha512]: 'sha512' };
const HASH_OF_DIGEST: Record<string, string> = { 'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256', 'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512' };
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const ALLOWED_C14N = new Set([EXC_C14N, C14N]);
const ID_ATTRIBUTES = ['ID', 'Id', 'id'] as const;
const ELEMENT = 1;

/** Every ID-like attribute value of the document appears once: wrapping attacks rely on duplicates. */
export function assertUniqueIds(doc: Document): void {
  const seen = new Set<string>();
  const all = doc.getElementsByTagName('*') as unknown as ArrayLike<Element>;
  for (let i = 0; i < all.length; i++) {
    const el = all[i]!;
    for (const name of ID_ATTRIBUTES) {
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

interface SignedInfoParts {
  c14n: string;
  method: string;
  digest: string;
  digestValue: Buffer;
  transforms: string[];
  inclusivePrefixes: string[];
}

/** The SignedInfo's algorithms and its one Reference, refused unless strict (see the top of this file). */
function readSignedInfo(signedInfo: Element, id: string | undefined): SignedInfoParts {
  const c14n = attr(onlyChild(signedInfo, NS.dsig, 'CanonicalizationMethod'), 'Algorithm') ?? '';
  if (!ALLOWED_C14N.has(c14n)) throw new SamlValidationError('canonicalisation algorithm not allowed');
  const method = attr(onlyChild(signedInfo, NS.dsig, 'SignatureMethod'), 'Algorithm') ?? '';
  if (!HASH_OF_SIGNATURE[method]) throw new SamlValidationError('signature algorithm not allowed (RSA with SHA-256 or stronger required)');
  const references = children(signedInfo, NS.dsig, 'Reference');
  if (references.length !== 1) throw new SamlValidationError('a signature must have exactly one reference');
  const reference = references[0]!;
  if (!id || attr(reference, 'URI') !== `#${id}`) throw new SamlValidationError('the signature does not cover the element it is attached to');
  const digest = attr(onlyChild(reference, NS.dsig, 'DigestMethod'), 'Algorithm') ?? '';
  if (!HASH_OF_DIGEST[digest]) throw new SamlValidationError('digest algorithm not allowed (SHA-256 or stronger required)');
  const digestValue = Buffer.from(textOf(onlyChild(reference, NS.dsig, 'DigestValue')), 'base64');
  const transformsElement = onlyChild(reference, NS.dsig, 'Transforms', true);
  const transformElements = transformsElement ? children(transformsElement, NS.dsig, 'Transform') : [];
  const transforms = transformElements.map((t) => attr(t, 'Algorithm') ?? '');
  // Only the shapes IdPs produce: the enveloped-signature transform, then one canonicalisation
  // (inclusive C14N when none is named). Anything else would mean re-parsing octets mid-way.
  const [first, ...rest] = transforms;
  const c14nTransforms = first === ENVELOPED ? rest : transforms;
  if (c14nTransforms.length > 1 || (c14nTransforms.length === 1 && !ALLOWED_C14N.has(c14nTransforms[0]!))) {
    throw new SamlValidationError('signature transform not allowed');
  }
  const last = transformElements[transformElements.length - 1];
  const inclusivePrefixes = last
    ? children(last, EXC_C14N, 'InclusiveNamespaces').flatMap((n) => (n.getAttribute('PrefixList') ?? '').split(' ')).filter((p) => p.length > 0)
    : [];
  return { c14n, method, digest, digestValue, transforms: [first === ENVELOPED ? ENVELOPED : '', c14nTransforms[0] ?? C14N].filter(Boolean), inclusivePrefixes };
}

interface NamespaceBinding {
  prefix: string;
  namespaceURI: string;
}

/**
 * The namespaces an element inherits from its ancestors, minus those it declares or uses as its
 * own prefix, innermost first: what xml-crypto hands its canonicalisers for a document subset.
 */
function ancestorNamespaces(element: Element): NamespaceBinding[] {
  const found: NamespaceBinding[] = [];
  for (let parent = element.parentNode; parent && parent.nodeType === ELEMENT; parent = parent.parentNode) {
    const attributes = (parent as Element).attributes;
    for (let i = 0; i < attributes.length; i++) {
      const a = attributes[i]!;
      if (a.nodeName === 'xmlns' || a.nodeName.startsWith('xmlns:')) found.push({ prefix: a.nodeName.replace(/^xmlns:?/, ''), namespaceURI: a.nodeValue ?? '' });
    }
  }
  const own = new Set<string>([element.prefix ?? '']);
  for (let i = 0; i < element.attributes.length; i++) {
    const name = element.attributes[i]!.nodeName;
    if (name === 'xmlns' || name.startsWith('xmlns:')) own.add(name.replace(/^xmlns:?/, ''));
  }
  const seen = new Set<string>();
  return found.filter((ns) => {
    if (seen.has(ns.prefix)) return false;
    seen.add(ns.prefix);
    // An undeclaration only shadows outer bindings; it is no namespace node.
    return ns.namespaceURI !== '' && !own.has(ns.prefix);
  });
}

/** `element` canonicalised by `algorithm`, without its child `omit` (the enveloped signature). */
function canonicalize(element: Element, algorithm: string, omit: Element | undefined, inclusivePrefixes: string[]): string {
  const ancestors = ancestorNamespaces(element);
  // The exclusive canonicaliser may declare PrefixList namespaces (given, or from a child
  // CanonicalizationMethod) on the element it is given; SignedInfo is small and the inclusive
  // canonicaliser rare: those work on a copy. Otherwise the enveloped signature is skipped in
  // place rather than removed from a deep copy of the whole message.
  const copyFirst =
    !omit ||
    algorithm !== EXC_C14N ||
    inclusivePrefixes.length > 0 ||
    Array.prototype.some.call(element.childNodes, (n: Node) => n.nodeType === ELEMENT && (n as Element).localName === 'CanonicalizationMethod');
  let target = element;
  let skip = omit;
  if (copyFirst) {
    target = element.cloneNode(true) as Element;
    skip = omit ? (target.childNodes[Array.prototype.indexOf.call(element.childNodes, omit)] as Element) : undefined;
  }
  const options = {
    ancestorNamespaces: ancestors,
    defaultNsForPrefix: SignedXml.defaultNsForPrefix,
    ...(inclusivePrefixes.length ? { inclusiveNamespacesPrefixList: inclusivePrefixes } : {}),
  };
  const canonicalizer = algorithm === EXC_C14N ? new ExclusiveCanonicalization() : new C14nCanonicalization();
  if (skip) {
    // Both canonicalisers render children through this.processInner: the omitted node renders as nothing.
    const render = canonicalizer.processInner.bind(canonicalizer) as (node: Node, ...rest: unknown[]) => string;
    canonicalizer.processInner = ((node: Node, ...rest: unknown[]) => (node === skip ? '' : render(node, ...rest))) as typeof canonicalizer.processInner;
  }
  return String(canonicalizer.process(target, options));
}

/** The ID value is carried by exactly one element of the document (as xml-crypto required). */
function assertIdOnce(doc: Document, id: string): void {
  const all = doc.getElementsByTagName('*') as unknown as ArrayLike<Element>;
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    for (const name of ID_ATTRIBUTES) if (attr(all[i]!, name) === id) count++;
  }
  if (count !== 1) throw new SamlValidationError('duplicate ID in the message');
}

// Parsed once per IdP configuration (the resolver keeps it), not at every login.
const publicKeysOf = (() => {
  const cache = new WeakMap<readonly string[], (KeyObject | undefined)[]>();
  return (certificates: readonly string[]) => {
    let keys = cache.get(certificates);
    if (!keys) {
      keys = certificates.map((pem) => {
        try {
          const key = createPublicKey(pem);
          return key.asymmetricKeyType === 'rsa' ? key : undefined;
        } catch {
          return undefined; // an unreadable certificate verifies nothing
        }
      });
      cache.set(certificates, keys);
    }
    return keys;
  };
})();

/**
 * Verifies the enveloped signature of `element` with one of `certificates`, and returns the
 * signed element as signed: re-parsed from its canonical form.
 */
export function verifyEnvelopedSignature(element: Element, certificates: readonly string[]): Element {
  const signature = onlyChild(element, NS.dsig, 'Signature');
  const signedInfo = onlyChild(signature, NS.dsig, 'SignedInfo');
  const id = attr(element, 'ID');
  const claimed = readSignedInfo(signedInfo, id);
  if (certificates.length === 0) throw new SamlValidationError('no certificate is configured for this identity provider', 500);
  assertIdOnce(element.ownerDocument, id!);

  // What the signature covers is SignedInfo's canonical form: checked first, then read back.
  const signedInfoCanon = Buffer.from(canonicalize(signedInfo, claimed.c14n, undefined, []), 'utf8');
  const signatureValue = Buffer.from(textOf(onlyChild(signature, NS.dsig, 'SignatureValue')).replace(/\s+/g, ''), 'base64');
  const hash = HASH_OF_SIGNATURE[claimed.method]!;
  const trusted = publicKeysOf(certificates).some((key) => {
    if (!key) return false;
    try {
      return verify(hash, signedInfoCanon, key, signatureValue);
    } catch {
      return false;
    }
  });
  if (!trusted) throw new SamlValidationError('invalid signature, or not made by a certificate this university trusts', 403);
  const signed = readSignedInfo(parseUntrustedXml(signedInfoCanon.toString('utf8')).documentElement!, id);
  if (signed.c14n !== claimed.c14n || signed.method !== claimed.method) throw new SamlValidationError('invalid signature, or not made by a certificate this university trusts', 403);

  const referenceCanon = canonicalize(element, signed.transforms[signed.transforms.length - 1]!, signed.transforms[0] === ENVELOPED ? signature : undefined, signed.inclusivePrefixes);
  const digest = createHash(HASH_OF_DIGEST[signed.digest]!).update(referenceCanon, 'utf8').digest();
  if (digest.length !== signed.digestValue.length || !timingSafeEqual(digest, signed.digestValue)) {
    throw new SamlValidationError('invalid signature, or not made by a certificate this university trusts', 403);
  }
  const root = parseUntrustedXml(referenceCanon).documentElement!;
  if (root.namespaceURI !== element.namespaceURI || root.localName !== element.localName || attr(root, 'ID') !== id) {
    throw new SamlValidationError('the signature does not cover the element it is attached to');
  }
  return root;
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
