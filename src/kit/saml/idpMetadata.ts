import { X509Certificate } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { usageError } from '../../errors.js';
import { children, NS, parseXml, textOf } from './samlXml.js';

export interface IdpMetadata {
  entityId: string | undefined;
  /** PEM certificates the IdP signs with; a response must verify against one of them. */
  certificates: string[];
}

/**
 * Reads the signing certificates out of the IdP's federation metadata (the same file uploaded
 * to IAM when the SAML provider was created). KeyDescriptors marked `use="encryption"` are
 * skipped: a key published for encryption is not a signing key.
 */
export function readIdpMetadata(xml: string, source: string): IdpMetadata {
  let root: Element | null;
  try {
    root = parseXml(xml).documentElement;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw usageError(`--idp-metadata ${source}: not readable XML metadata (${reason})`, 'bad-metadata');
  }
  const entities = !root
    ? []
    : root.namespaceURI === NS.metadata && root.localName === 'EntityDescriptor'
      ? [root]
      : root.namespaceURI === NS.metadata && root.localName === 'EntitiesDescriptor'
        ? children(root, NS.metadata, 'EntityDescriptor')
        : [];
  const idps = entities.flatMap((entity) => children(entity, NS.metadata, 'IDPSSODescriptor').map((idp) => ({ entity, idp })));
  if (idps.length === 0) {
    throw usageError(`--idp-metadata ${source}: no EntityDescriptor with an IDPSSODescriptor`, 'bad-metadata');
  }
  const certificates: string[] = [];
  for (const { idp } of idps) {
    for (const key of children(idp, NS.metadata, 'KeyDescriptor')) {
      if (key.getAttribute('use') === 'encryption') continue;
      for (const keyInfo of children(key, NS.dsig, 'KeyInfo')) {
        for (const data of children(keyInfo, NS.dsig, 'X509Data')) {
          for (const cert of children(data, NS.dsig, 'X509Certificate')) certificates.push(toPem(textOf(cert), source));
        }
      }
    }
  }
  if (certificates.length === 0) {
    throw usageError(`--idp-metadata ${source}: the IDPSSODescriptor has no signing X509Certificate`, 'bad-metadata');
  }
  return { entityId: idps[0]?.entity.getAttribute('entityID') ?? undefined, certificates };
}

function toPem(base64: string, source: string): string {
  const body = base64.replace(/\s+/g, '');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw usageError(`--idp-metadata ${source}: an X509Certificate is not a valid certificate`, 'bad-metadata');
  }
  return pem;
}
