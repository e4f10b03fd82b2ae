import type { Element } from '@xmldom/xmldom';
import { finding, type Finding } from '../../findings.js';
import { attr, children, descend, NS, textOf } from './samlXml.js';

export interface AssertionCheckOptions {
  now: Date;
  skewMs: number;
  domainJoined: boolean;
  /** The IdP's entityID from its metadata, when known. */
  issuer?: string;
}

/** AWS's audience (IAM guide, "Configuring SAML assertions for the authentication response"). */
const AUDIENCES = ['urn:amazon:webservices', 'urn:amazon:webservices:govcloud'];
/** The global sign-in endpoint, its regional forms, and GovCloud's. */
const RECIPIENT = /^https:\/\/([a-z]{2}(-gov)?-[a-z]+-\d\.)?signin\.(aws\.amazon\.com|amazonaws-us-gov\.com)\/saml$/;
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** Issuer, subject, confirmation, conditions: everything in the signed assertion except attributes. */
export function checkAssertion(assertion: Element, options: AssertionCheckOptions): Finding[] {
  return [
    ...checkIssuer(assertion, options),
    ...checkNameId(assertion, options),
    ...checkConfirmation(assertion, options),
    ...checkConditions(assertion, options),
  ];
}

function checkIssuer(assertion: Element, options: AssertionCheckOptions): Finding[] {
  const issuer = textOf(descend(assertion, 'Issuer'));
  if (options.issuer === undefined || issuer === options.issuer) return [];
  return [finding(
    'error',
    'issuer-mismatch',
    'Assertion/Issuer',
    `the Issuer "${issuer}" is not the metadata's entityID "${options.issuer}"`,
    'make the IdP issue assertions under the entityID in its metadata, or upload the matching metadata to IAM',
  )];
}

function checkNameId(assertion: Element, options: AssertionCheckOptions): Finding[] {
  const nameId = descend(assertion, 'Subject', 'NameID');
  if (!nameId) {
    return [finding(
      'error',
      'nameid-missing',
      'Assertion/Subject/NameID',
      'the assertion has no NameID',
      'send the user\'s persistent identifier as the Subject NameID',
    )];
  }
  const findings: Finding[] = [];
  const format = attr(nameId, 'Format');
  if (format !== PERSISTENT) {
    findings.push(finding(
      'error',
      'nameid-not-persistent',
      'Assertion/Subject/NameID/@Format',
      `the NameID format is ${format ?? 'not set'}, not persistent; the trust policy's SAML:sub_type = persistent condition will refuse it`,
      `set the NameID format to ${PERSISTENT}`,
    ));
  }
  const value = textOf(nameId);
  if (value === '') {
    findings.push(finding(
      'error',
      'nameid-empty',
      'Assertion/Subject/NameID',
      'the NameID is empty',
      'send a stable identifier for the user',
    ));
  } else if (options.domainJoined && !/^[^\\\s]+\\[^\\\s]+$/.test(value) && !/^[^@\s]+@[^@\s]+$/.test(value)) {
    findings.push(finding(
      'error',
      'nameid-not-domain-user',
      'Assertion/Subject/NameID',
      'for domain-joined fleets the NameID must be DOMAIN\\user (sAMAccountName) or user@domain (userPrincipalName)',
      'map the NameID to the user\'s sAMAccountName with its domain, or to the userPrincipalName',
    ));
  }
  return findings;
}

function checkConfirmation(assertion: Element, options: AssertionCheckOptions): Finding[] {
  const subject = descend(assertion, 'Subject');
  const confirmations = subject ? children(subject, NS.assertion, 'SubjectConfirmation') : [];
  const bearer = confirmations.find((c) => attr(c, 'Method') === BEARER);
  const path = 'Assertion/Subject/SubjectConfirmation';
  if (!bearer) {
    return [finding(
      'error',
      'confirmation-missing',
      path,
      'no bearer SubjectConfirmation',
      `add a SubjectConfirmation with Method="${BEARER}"`,
    )];
  }
  const data = descend(bearer, 'SubjectConfirmationData');
  const findings: Finding[] = [];
  const recipient = attr(data, 'Recipient');
  if (recipient === undefined || !RECIPIENT.test(recipient)) {
    findings.push(finding(
      'error',
      'recipient-mismatch',
      `${path}/SubjectConfirmationData/@Recipient`,
      `the Recipient is ${recipient === undefined ? 'missing' : `"${recipient}"`}, not the AWS sign-in endpoint`,
      'set the ACS URL / Recipient to https://signin.aws.amazon.com/saml',
    ));
  }
  const notOnOrAfter = attr(data, 'NotOnOrAfter');
  if (notOnOrAfter === undefined) {
    findings.push(finding(
      'error',
      'confirmation-no-expiry',
      `${path}/SubjectConfirmationData/@NotOnOrAfter`,
      'the bearer confirmation has no NotOnOrAfter',
      'have the IdP set NotOnOrAfter a few minutes after issue',
    ));
  } else {
    const at = `${path}/SubjectConfirmationData/@NotOnOrAfter`;
    findings.push(...checkNotOnOrAfter(notOnOrAfter, at, 'confirmation-expired', options));
  }
  return findings;
}

function checkConditions(assertion: Element, options: AssertionCheckOptions): Finding[] {
  const conditions = descend(assertion, 'Conditions');
  const path = 'Assertion/Conditions';
  if (!conditions) {
    return [finding(
      'error',
      'conditions-missing',
      path,
      'the assertion has no Conditions, so no audience restriction',
      'add Conditions with an AudienceRestriction for urn:amazon:webservices',
    )];
  }
  const findings: Finding[] = [];
  const notBefore = attr(conditions, 'NotBefore');
  if (notBefore !== undefined) {
    const at = parseTime(notBefore);
    if (at === undefined) findings.push(badTime(`${path}/@NotBefore`, notBefore));
    else if (at - options.skewMs > options.now.getTime()) {
      findings.push(finding(
        'error',
        'conditions-not-yet-valid',
        `${path}/@NotBefore`,
        `the assertion is not valid before ${notBefore}, after the check time ${options.now.toISOString()} plus the allowed skew`,
        'fix the IdP server clock (NTP), or raise --skew if the difference is expected',
      ));
    }
  }
  const notOnOrAfter = attr(conditions, 'NotOnOrAfter');
  if (notOnOrAfter !== undefined) {
    findings.push(...checkNotOnOrAfter(notOnOrAfter, `${path}/@NotOnOrAfter`, 'conditions-expired', options));
  }

  const audiences = children(conditions, NS.assertion, 'AudienceRestriction').flatMap((restriction) =>
    children(restriction, NS.assertion, 'Audience').map(textOf),
  );
  if (!audiences.some((a) => AUDIENCES.includes(a))) {
    findings.push(finding(
      'error',
      'audience-mismatch',
      `${path}/AudienceRestriction/Audience`,
      `the audience is ${audiences.length === 0 ? 'missing' : audiences.map((a) => `"${a}"`).join(', ')}, not urn:amazon:webservices`,
      'set the audience (SP entity ID) to urn:amazon:webservices',
    ));
  }
  return findings;
}

function checkNotOnOrAfter(value: string, path: string, code: string, options: AssertionCheckOptions): Finding[] {
  const at = parseTime(value);
  if (at === undefined) return [badTime(path, value)];
  if (at + options.skewMs > options.now.getTime()) return [];
  return [finding(
    'error',
    code,
    path,
    `expired at ${value}, before the check time ${options.now.toISOString()} less the allowed skew`,
    'capture a fresh response (they are valid for minutes); if it is fresh, fix the IdP server clock',
  )];
}

const parseTime = (value: string): number | undefined => {
  // SAML times are xs:dateTime in UTC; Date.parse accepts far more, so check the shape first.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
};

const badTime = (path: string, value: string): Finding =>
  finding('error', 'time-invalid', path, `"${value}" is not an xs:dateTime`, 'send times like 2024-05-01T12:00:00Z');
