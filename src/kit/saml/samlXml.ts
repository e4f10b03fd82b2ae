import { DOMParser, onErrorStopParsing, type Document, type Element, type Node } from '@xmldom/xmldom';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
} as const;

/**
 * Entity declarations are how XXE and "billion laughs" payloads work, and SAML never needs
 * them, so any DOCTYPE is refused before a parser sees the text.
 */
export const hasDoctype = (xml: string): boolean => /<!DOCTYPE|<!ENTITY/i.test(xml);

/** Strict parse: the first warning or error stops it, so a half-parsed tree is never checked. */
export function parseXml(xml: string): Document {
  if (hasDoctype(xml)) throw new Error('the XML contains a DOCTYPE');
  return new DOMParser({ onError: onErrorStopParsing }).parseFromString(xml, 'text/xml');
}

const ELEMENT_NODE = 1;

/** Direct children only: SAML's structure is positional, and a deep search is what wrapping attacks exploit. */
export function children(parent: Node, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let i = 0; i < parent.childNodes.length; i += 1) {
    const node = parent.childNodes.item(i);
    if (node && node.nodeType === ELEMENT_NODE) {
      const element = node as Element;
      if (element.namespaceURI === ns && element.localName === localName) out.push(element);
    }
  }
  return out;
}

export const child = (parent: Node, ns: string, localName: string): Element | undefined =>
  children(parent, ns, localName)[0];

/** Follows a path of direct children in the SAML assertion namespace. */
export function descend(parent: Node, ...path: string[]): Element | undefined {
  let current: Node | undefined = parent;
  for (const name of path) {
    if (!current) return undefined;
    current = child(current, NS.assertion, name);
  }
  return current as Element | undefined;
}

export const textOf = (element: Element | undefined): string => (element?.textContent ?? '').trim();

export const attr = (element: Element | undefined, name: string): string | undefined =>
  element?.hasAttribute(name) ? (element.getAttribute(name) ?? undefined) : undefined;
