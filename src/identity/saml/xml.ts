// Hostile-input XML handling for everything the SAML layer reads. A document is refused before
// it reaches a parser if it is too large or carries a DOCTYPE (entity expansion, XXE); after
// parsing, comments and processing instructions are refused anywhere: canonicalisation and DOM
// text disagree about them, which is how a signed "not-an-admin@x" reads as "admin@x".
import { DOMParser } from '@xmldom/xmldom';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  mdui: 'urn:oasis:names:tc:SAML:metadata:ui',
  shibmd: 'urn:mace:shibboleth:metadata:1.0',
  mdattr: 'urn:oasis:names:tc:SAML:metadata:attribute',
} as const;

/** Why a SAML message was refused; the text is for logs and the error page (no secrets in it). */
export class SamlValidationError extends Error {
  constructor(readonly reason: string, readonly status = 400) {
    super(reason);
    this.name = 'SamlValidationError';
  }
}

export const MAX_MESSAGE_BYTES = 256 * 1024;

const ELEMENT = 1;
const COMMENT = 8;
const PROCESSING_INSTRUCTION = 7;
const DOCUMENT_TYPE = 10;

/** Parses untrusted XML, refusing anything a SAML message has no business carrying. */
export function parseUntrustedXml(xml: string, maxBytes = MAX_MESSAGE_BYTES, options: { allowComments?: boolean } = {}): Document {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) throw new SamlValidationError('message too large', 413);
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw new SamlValidationError('a document type declaration is not allowed');
  const problems: string[] = [];
  const doc = new DOMParser({
    errorHandler: { warning: () => {}, error: (m: string) => problems.push(m), fatalError: (m: string) => problems.push(m) },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !doc?.documentElement) throw new SamlValidationError('malformed XML');
  const elements = doc.childNodes ? Array.from({ length: doc.childNodes.length }, (_, i) => doc.childNodes[i]!).filter((n) => n.nodeType === ELEMENT) : [];
  if (elements.length !== 1) throw new SamlValidationError('malformed XML: one root element expected');
  refuseHiddenNodes(doc, options.allowComments ?? false);
  return doc;
}

function refuseHiddenNodes(node: Node, allowComments: boolean): void {
  const children = node.childNodes;
  for (let i = 0; children && i < children.length; i++) {
    const child = children[i]!;
    if (child.nodeType === COMMENT && !allowComments) throw new SamlValidationError('comments are not allowed in a SAML message');
    if (child.nodeType === DOCUMENT_TYPE) throw new SamlValidationError('a document type declaration is not allowed');
    if (child.nodeType === PROCESSING_INSTRUCTION && (child as unknown as { target: string }).target.toLowerCase() !== 'xml') {
      throw new SamlValidationError('processing instructions are not allowed in a SAML message');
    }
    if (child.nodeType === ELEMENT) refuseHiddenNodes(child, allowComments);
  }
}

/** Direct children of an element with a namespace and local name. */
export function children(parent: Element | Document, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  const nodes = parent.childNodes;
  for (let i = 0; nodes && i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.nodeType === ELEMENT && (n as Element).namespaceURI === ns && (n as Element).localName === localName) out.push(n as Element);
  }
  return out;
}

/** Exactly one direct child, or a validation error naming it. */
export function onlyChild(parent: Element, ns: string, localName: string, optional: true): Element | undefined;
export function onlyChild(parent: Element, ns: string, localName: string, optional?: false): Element;
export function onlyChild(parent: Element, ns: string, localName: string, optional = false): Element | undefined {
  const found = children(parent, ns, localName);
  if (found.length > 1) throw new SamlValidationError(`more than one ${localName}`);
  if (found.length === 0 && !optional) throw new SamlValidationError(`${localName} is missing`);
  return found[0];
}

/** Every descendant with a namespace and local name, in document order. */
export function descendants(root: Element | Document, ns: string, localName: string): Element[] {
  return Array.from((root as Element).getElementsByTagNameNS(ns, localName) as unknown as ArrayLike<Element>);
}

/** Text of an element that must hold only text. */
export function textOf(element: Element): string {
  const nodes = element.childNodes;
  let text = '';
  for (let i = 0; nodes && i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.nodeType === 3 || n.nodeType === 4) text += (n as unknown as { data: string }).data;
    else if (n.nodeType === ELEMENT) throw new SamlValidationError(`${element.localName} must hold text only`);
  }
  return text.trim();
}

export function attr(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? element.getAttribute(name) ?? undefined : undefined;
}

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export type XmlDocument = Document;
export type XmlElement = Element;
