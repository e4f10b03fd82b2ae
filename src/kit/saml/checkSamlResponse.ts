import type { Document } from '@xmldom/xmldom';
import { checkAssertion } from './checkAssertion.js';
import { checkAttributes, type RoleMapping } from './checkAttributes.js';
import { finding, type Finding } from '../../findings.js';
import type { IdpMetadata } from './idpMetadata.js';
import type { SamlInput } from './samlInput.js';
import { hasDoctype, parseXml } from './samlXml.js';
import { verifySignedAssertion } from './verifySignedAssertion.js';

export interface SamlCheckOptions {
  metadata?: IdpMetadata;
  /** The stack the relay state should open (case-sensitive). */
  stack?: string;
  domainJoined?: boolean;
  now: Date;
  skewMs: number;
}

/**
 * Every check of a SAMLResponse, reported together so one run shows everything the IdP must
 * change. Findings name the problem, never echo the assertion.
 */
export function checkSamlResponse(input: SamlInput, options: SamlCheckOptions): Finding[] {
  if (hasDoctype(input.xml)) {
    return [finding(
      'error',
      'xml-doctype',
      '/',
      'the response contains a DOCTYPE; it was refused unparsed, because DTDs carry XML external entity and entity-expansion attacks',
      'a genuine IdP never sends a DOCTYPE: find what produced this response',
    )];
  }
  let doc: Document;
  try {
    doc = parseXml(input.xml);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return [finding(
      'error',
      'xml-invalid',
      '/',
      `the response is not well-formed XML (${reason})`,
      'capture the SAMLResponse again, complete and unmodified',
    )];
  }

  const signed = verifySignedAssertion(doc, input.xml, options.metadata?.certificates);
  const findings = [...signed.findings];
  if (signed.assertion) {
    findings.push(
      ...checkAssertion(signed.assertion, {
        now: options.now,
        skewMs: options.skewMs,
        domainJoined: options.domainJoined ?? false,
        ...(options.metadata?.entityId ? { issuer: options.metadata.entityId } : {}),
      }),
    );
    const attributes = checkAttributes(signed.assertion);
    findings.push(...attributes.findings);
    if (options.stack !== undefined) {
      findings.push(...checkRelayState(input.relayState, options.stack, attributes.roles));
    }
  }
  return findings;
}

/**
 * The stack is not in the assertion: it travels in the RelayState posted beside it. When the
 * input is a captured form post, compare the two; otherwise say why nothing was compared.
 */
function checkRelayState(relayState: string | undefined, stack: string, roles: RoleMapping[]): Finding[] {
  if (relayState === undefined) {
    return [finding(
      'info',
      'relay-state-absent',
      'RelayState',
      `--stack ${stack} was not compared: the input holds no RelayState`,
      'pass the whole form post (SAMLResponse=…&RelayState=…) from a browser trace to compare it',
    )];
  }
  let url: URL;
  try {
    url = new URL(relayState);
  } catch {
    return [finding(
      'error',
      'relay-state-invalid',
      'RelayState',
      'the RelayState is not a URL',
      'set the relay state to the URL from: appstream-creds saml relay-state',
    )];
  }
  const findings: Finding[] = [];
  const posted = url.searchParams.get('stack');
  if (posted !== stack) {
    const hint = posted !== null && posted.toLowerCase() === stack.toLowerCase() ? ' (stack names are case-sensitive)' : '';
    findings.push(finding(
      'error',
      'relay-state-stack',
      'RelayState?stack',
      `the RelayState opens stack ${posted === null ? '(none)' : `"${posted}"`}, not "${stack}"${hint}`,
      'set the relay state to the URL from: appstream-creds saml relay-state',
    ));
  }
  const account = url.searchParams.get('accountId');
  if (account !== null && roles.length > 0 && !roles.some((r) => r.account === account)) {
    findings.push(finding(
      'error',
      'relay-state-account',
      'RelayState?accountId',
      `the RelayState names account ${account}, but no Role in the assertion is in it`,
      'map the user to a role in the stack\'s account',
    ));
  }
  return findings;
}
