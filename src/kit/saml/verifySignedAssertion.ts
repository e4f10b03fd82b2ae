import { SignedXml } from 'xml-crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { finding, type Finding } from '../../findings.js';
import { child, children, NS, parseXml } from './samlXml.js';

export interface SignedAssertion {
  findings: Finding[];
  /**
   * The assertion re-parsed from the bytes the verified signature covers. Every later check
   * reads this element and nothing else from the response, so content outside the signature
   * (a second assertion, an edited attribute) can never reach a check.
   */
  assertion?: Element;
}

const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

/**
 * Finds the signature on the Response or on its Assertion, verifies it against the IdP's
 * certificates only (a certificate inside the response's own KeyInfo proves nothing), and
 * returns the signed assertion.
 */
export function verifySignedAssertion(doc: Document, xml: string, certificates: readonly string[] | undefined): SignedAssertion {
  const findings: Finding[] = [];
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    findings.push(finding(
      'error',
      'response-root',
      '/',
      `the document is a ${root?.localName ?? 'nothing'}, not a samlp:Response`,
      'give the SAMLResponse your IdP posts to https://signin.aws.amazon.com/saml',
    ));
    return { findings };
  }
  if (children(root, NS.assertion, 'EncryptedAssertion').length > 0) {
    findings.push(finding(
      'error',
      'assertion-encrypted',
      'Response/EncryptedAssertion',
      'the assertion is encrypted, so it cannot be checked here',
      'capture a response with assertion encryption turned off at the IdP while testing',
    ));
  }
  const direct = children(root, NS.assertion, 'Assertion');
  const everywhere = doc.getElementsByTagNameNS(NS.assertion, 'Assertion').length;
  if (everywhere > 1) {
    // Counted over the whole document (never read from): signature wrapping hides a second
    // assertion anywhere, one signed for the verifier and another for a careless reader.
    findings.push(finding(
      'error',
      'assertion-multiple',
      'Response/Assertion',
      `the response holds ${everywhere} assertions; AWS accepts exactly one, and an extra unsigned assertion is a signature-wrapping attack`,
      'send exactly one signed Assertion; if your IdP adds another, find out what injected it',
    ));
  }
  if (direct.length === 0 && children(root, NS.assertion, 'EncryptedAssertion').length === 0) {
    findings.push(finding(
      'error',
      'assertion-missing',
      'Response/Assertion',
      'the response has no Assertion',
      'check the IdP\'s AWS application: it must issue an assertion for the user',
    ));
  }
  if (direct.length === 0) return { findings };

  if (!certificates || certificates.length === 0) {
    findings.push(finding(
      'error',
      'signature-not-verified',
      'Response/Signature',
      'signature not verified: no IdP metadata was given, so nothing in the response can be trusted',
      'pass --idp-metadata FILE with the metadata you uploaded to the IAM SAML provider',
    ));
    findings.push(skipped('pass --idp-metadata FILE to run them'));
    return { findings };
  }

  const candidates: Element[] = [root, ...direct];
  const signatures = candidates.flatMap((owner) =>
    children(owner, NS.dsig, 'Signature').map((signature) => ({ owner, signature })),
  );
  if (signatures.length === 0) {
    findings.push(finding(
      'error',
      'signature-missing',
      'Response/Assertion/Signature',
      'neither the Response nor the Assertion is signed',
      'turn on assertion (or response) signing in the IdP\'s AWS application',
    ));
    findings.push(skipped('fix the signature first'));
    return { findings };
  }

  let assertion: Element | undefined;
  for (const { owner, signature } of signatures) {
    const where = owner === root ? 'Response/Signature' : 'Response/Assertion/Signature';
    const outcome = verifyOne(xml, owner, signature, certificates);
    if (outcome.kind === 'invalid') {
      findings.push(finding(
        'error',
        'signature-invalid',
        where,
        `the ${owner.localName} signature does not verify with the IdP certificate (${outcome.reason})`,
        'the response was changed after signing, or the IdP signs with a key that is not in --idp-metadata; export fresh metadata and update the IAM SAML provider',
      ));
      continue;
    }
    if (outcome.sha1) {
      findings.push(finding(
        'warning',
        'signature-sha1',
        `${where}/SignedInfo/SignatureMethod`,
        'the response is signed with RSA-SHA1',
        'configure the IdP to sign with RSA-SHA256',
      ));
    }
    const signed = signedAssertionOf(outcome.signedRoot);
    if (!signed) {
      findings.push(finding(
        'error',
        'assertion-not-signed',
        where,
        'the signed content holds no single Assertion',
        'sign the Assertion (or the Response that contains it)',
      ));
      continue;
    }
    assertion ??= signed;
  }
  if (!assertion) {
    findings.push(skipped('fix the signature first'));
    return { findings };
  }

  // The assertion a relying party would read must be the one that was signed.
  if (direct.length === 1 && direct[0]!.getAttribute('ID') !== assertion.getAttribute('ID')) {
    findings.push(finding(
      'error',
      'assertion-not-signed',
      'Response/Assertion',
      'the assertion in the response is not the one the signature covers',
      'send the signed Assertion unchanged',
    ));
    findings.push(skipped('fix the signature first'));
    return { findings };
  }
  return { findings, assertion };
}

const skipped = (fix: string): Finding =>
  finding(
    'info',
    'checks-skipped',
    'Response/Assertion',
    'the assertion checks were skipped: they read only a verified, signed assertion',
    fix,
  );

type Outcome = { kind: 'invalid'; reason: string } | { kind: 'valid'; signedRoot: Element; sha1: boolean };

function verifyOne(xml: string, owner: Element, signature: Element, certificates: readonly string[]): Outcome {
  const ownerId = owner.getAttribute('ID') ?? '';
  const reference = child(child(signature, NS.dsig, 'SignedInfo') ?? signature, NS.dsig, 'Reference');
  const uri = reference?.getAttribute('URI') ?? '';
  // SAML (saml-core 5.4.2) requires the one Reference to point at the element the signature sits in.
  if (ownerId === '' || uri !== `#${ownerId}`) {
    return { kind: 'invalid', reason: `its Reference URI "${uri}" does not name its own ${owner.localName} (ID "${ownerId}")` };
  }
  let reason = 'the signature value does not match';
  for (const certificate of certificates) {
    const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
    try {
      // xml-crypto types its arguments with the DOM lib's Node; xmldom's node is the same shape.
      verifier.loadSignature(signature as unknown as globalThis.Node);
      if (!verifier.checkSignature(xml)) {
        reason = 'a digest or the signature value does not match';
        continue;
      }
    } catch (error) {
      reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      continue;
    }
    const signedReferences = verifier.getSignedReferences();
    if (signedReferences.length !== 1) {
      return { kind: 'invalid', reason: `it signs ${signedReferences.length} references, SAML allows one` };
    }
    const signedRoot = parseXml(signedReferences[0]!).documentElement;
    if (!signedRoot || signedRoot.getAttribute('ID') !== ownerId) {
      return { kind: 'invalid', reason: 'the signed content is not the element that holds the signature' };
    }
    return { kind: 'valid', signedRoot, sha1: verifier.signatureAlgorithm === RSA_SHA1 };
  }
  return { kind: 'invalid', reason };
}

/** From the signed bytes: the Assertion itself, or the single Assertion of a signed Response. */
function signedAssertionOf(signedRoot: Element): Element | undefined {
  if (signedRoot.namespaceURI === NS.assertion && signedRoot.localName === 'Assertion') return signedRoot;
  if (signedRoot.namespaceURI === NS.protocol && signedRoot.localName === 'Response') {
    const inner = children(signedRoot, NS.assertion, 'Assertion');
    return inner.length === 1 ? inner[0] : undefined;
  }
  return undefined;
}
