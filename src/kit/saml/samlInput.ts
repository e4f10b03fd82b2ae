import { usageError } from '../../errors.js';

export interface SamlInput {
  xml: string;
  /** Present when the input was a captured form post (`SAMLResponse=…&RelayState=…`). */
  relayState?: string;
}

/**
 * Accepts what people actually paste: the base64 SAMLResponse as posted (line-wrapped or not),
 * the whole URL-encoded form body from a browser trace, or the decoded XML.
 */
export function decodeSamlInput(raw: string): SamlInput {
  const text = raw.replace(/^\uFEFF/, '').trim();
  if (text === '') throw usageError('the SAML response is empty', 'saml-input');
  if (text.startsWith('<')) return { xml: text };

  let encoded = text;
  let relayState: string | undefined;
  if (/(^|&)SAMLResponse=/.test(text)) {
    const form = new URLSearchParams(text);
    encoded = form.get('SAMLResponse') ?? '';
    relayState = form.get('RelayState') ?? undefined;
  } else if (/%[0-9A-Fa-f]{2}/.test(text)) {
    encoded = safeDecodeURIComponent(text);
  }
  const compact = encoded.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw usageError('the input is neither SAML XML nor a base64 SAMLResponse', 'saml-input');
  }
  const xml = Buffer.from(compact, 'base64').toString('utf8').replace(/^\uFEFF/, '').trim();
  if (!xml.startsWith('<')) {
    throw usageError('the base64 input does not decode to XML (a deflated SAMLRequest is not a response)', 'saml-input');
  }
  return relayState === undefined ? { xml } : { xml, relayState };
}

function safeDecodeURIComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
