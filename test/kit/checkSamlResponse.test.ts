import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSamlResponse, type SamlCheckOptions } from '../../src/kit/saml/checkSamlResponse.js';
import type { Finding } from '../../src/findings.js';
import { readIdpMetadata, type IdpMetadata } from '../../src/kit/saml/idpMetadata.js';
import { decodeSamlInput } from '../../src/kit/saml/samlInput.js';
import {
  assertionXml,
  idpMetadataXml,
  ISSUED_AT,
  makeIdpKeys,
  PROVIDER_ARN,
  responseXml,
  ROLE_ARN,
  signAssertion,
  signedResponse,
  signResponse,
  toBase64,
  validFields,
  type IdpKeys,
} from './samlFixture.js';

let keys: IdpKeys;
let otherKeys: IdpKeys;
let metadata: IdpMetadata;

before(() => {
  keys = makeIdpKeys();
  otherKeys = makeIdpKeys();
  metadata = readIdpMetadata(idpMetadataXml(keys.certBase64), 'idp.xml');
});
after(() => {
  keys.cleanup();
  otherKeys.cleanup();
});

const check = (xml: string, options: Partial<SamlCheckOptions> = {}): Finding[] =>
  checkSamlResponse({ xml }, { metadata, now: ISSUED_AT, skewMs: 5 * 60_000, ...options });

/** Error codes only: infos and warnings do not change the exit code. */
const errorCodes = (findings: Finding[]): string[] => findings.filter((f) => f.severity === 'error').map((f) => f.code).sort();

describe('saml check: valid responses', () => {
  test('a response with a signed assertion passes with no findings', () => {
    assert.deepEqual(check(signedResponse(keys)), []);
  });

  test('a signed Response (rather than Assertion) passes too', () => {
    assert.deepEqual(check(signResponse(responseXml(assertionXml(validFields())), keys)), []);
  });

  test('the Role pair may be provider first', () => {
    assert.deepEqual(check(signedResponse(keys, (f) => (f.roles = [`${PROVIDER_ARN},${ROLE_ARN}`]))), []);
  });

  test('base64 as posted and a captured form body decode to the same response', () => {
    const xml = signedResponse(keys);
    const wrapped = toBase64(xml).replace(/(.{76})/g, '$1\n');
    assert.equal(decodeSamlInput(wrapped).xml, xml);
    const form = `SAMLResponse=${encodeURIComponent(toBase64(xml))}&RelayState=${encodeURIComponent('https://appstream2.us-east-1.aws.amazon.com/saml?stack=Sales&accountId=123456789012')}`;
    const input = decodeSamlInput(form);
    assert.equal(input.xml, xml);
    assert.deepEqual(checkSamlResponse(input, { metadata, now: ISSUED_AT, skewMs: 0, stack: 'Sales' }), []);
  });
});

describe('saml check: each problem has its own finding', () => {
  test('an attribute changed after signing breaks the signature, and nothing else is read', () => {
    const tampered = signedResponse(keys).replace('jdoe@example.com', 'admin@example.com');
    const findings = check(tampered);
    assert.deepEqual(errorCodes(findings), ['signature-invalid']);
    assert.ok(findings.some((f) => f.code === 'checks-skipped' && f.severity === 'info'));
  });

  test('an expired assertion', () => {
    const later = new Date(ISSUED_AT.getTime() + 60 * 60_000);
    assert.deepEqual(errorCodes(check(signedResponse(keys), { now: later })), ['conditions-expired', 'confirmation-expired']);
  });

  test('a wrong audience', () => {
    const findings = check(signedResponse(keys, (f) => (f.audience = 'https://example.test/sp')));
    assert.deepEqual(errorCodes(findings), ['audience-mismatch']);
    assert.match(findings[0]!.fix, /urn:amazon:webservices/);
  });

  test('a RoleSessionName with a space', () => {
    const findings = check(signedResponse(keys, (f) => (f.roleSessionName = 'John Doe')));
    assert.deepEqual(errorCodes(findings), ['role-session-name-invalid']);
    assert.match(findings[0]!.message, /contains a space/);
  });

  test('a SessionDuration of 50000', () => {
    assert.deepEqual(errorCodes(check(signedResponse(keys, (f) => (f.sessionDuration = '50000')))), ['session-duration-out-of-range']);
  });

  test('a transient NameID', () => {
    const transient = signedResponse(keys, (f) => (f.nameIdFormat = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient'));
    assert.deepEqual(errorCodes(check(transient)), ['nameid-not-persistent']);
  });

  test('a second, unsigned assertion (signature wrapping)', () => {
    const signed = signedResponse(keys);
    const evil = assertionXml({ ...validFields(), assertionId: '_evil', nameId: 'admin', roleSessionName: 'admin' });
    const wrapped = signed.replace('<saml:Assertion ', `${evil}<saml:Assertion `);
    assert.deepEqual(errorCodes(check(wrapped)), ['assertion-multiple']);
  });

  test('wrapping that hides the signed assertion in Extensions and puts an unsigned one in its place', () => {
    const signed = signedResponse(keys);
    const start = signed.indexOf('<saml:Assertion ');
    const end = signed.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
    const original = signed.slice(start, end);
    const evil = assertionXml({ ...validFields(), assertionId: '_evil', nameId: 'admin' });
    const moved = `${signed.slice(0, start)}<samlp:Extensions>${original}</samlp:Extensions>${evil}${signed.slice(end)}`;
    const codes = errorCodes(check(moved));
    assert.ok(codes.includes('assertion-multiple'), codes.join());
    assert.ok(codes.includes('signature-missing'), codes.join());
  });

  test('an unsigned copy that reuses the signed assertion\'s ID', () => {
    const signed = signedResponse(keys);
    const twin = assertionXml({ ...validFields(), nameId: 'admin' });
    const codes = errorCodes(check(signed.replace('<samlp:Status>', `${twin}<samlp:Status>`)));
    assert.ok(codes.includes('assertion-multiple'), codes.join());
    assert.ok(codes.includes('signature-invalid'), codes.join());
  });

  test('an XXE payload is refused before parsing', () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
      signedResponse(keys).replace('jdoe@example.com', '&x;');
    const findings = check(xxe);
    assert.deepEqual(errorCodes(findings), ['xml-doctype']);
    assert.equal(findings.length, 1);
  });

  test('signed with another key, even with that key\'s certificate in KeyInfo', () => {
    assert.deepEqual(errorCodes(check(signedResponse(otherKeys))), ['signature-invalid']);
  });

  test('an unsigned response', () => {
    assert.deepEqual(errorCodes(check(responseXml(assertionXml(validFields())))), ['signature-missing']);
  });

  test('without metadata the signature is not verified and no assertion content is trusted', () => {
    const findings = checkSamlResponse({ xml: signedResponse(keys, (f) => (f.audience = 'wrong')) }, { now: ISSUED_AT, skewMs: 0 });
    assert.deepEqual(errorCodes(findings), ['signature-not-verified']);
    assert.ok(!findings.some((f) => f.code === 'audience-mismatch'));
  });
});

describe('saml check: times, subjects and roles', () => {
  const fourMinutesLate = new Date(ISSUED_AT.getTime() + 9 * 60_000);

  test('the skew allowance covers a small clock difference, and only that', () => {
    assert.deepEqual(check(signedResponse(keys), { now: fourMinutesLate, skewMs: 5 * 60_000 }), []);
    assert.deepEqual(errorCodes(check(signedResponse(keys), { now: fourMinutesLate, skewMs: 0 })), ['conditions-expired', 'confirmation-expired']);
  });

  test('not valid yet', () => {
    const early = new Date(ISSUED_AT.getTime() - 20 * 60_000);
    assert.ok(errorCodes(check(signedResponse(keys), { now: early })).includes('conditions-not-yet-valid'));
  });

  test('domain-joined fleets need DOMAIN\\user or a UPN', () => {
    assert.deepEqual(errorCodes(check(signedResponse(keys), { domainJoined: true })), ['nameid-not-domain-user']);
    assert.deepEqual(check(signedResponse(keys, (f) => (f.nameId = 'CORP\\jdoe')), { domainJoined: true }), []);
    assert.deepEqual(check(signedResponse(keys, (f) => (f.nameId = 'jdoe@corp.example.com')), { domainJoined: true }), []);
  });

  test('a malformed Role value and a wrong Recipient', () => {
    const findings = check(
      signedResponse(keys, (f) => {
        f.roles = [`${ROLE_ARN}`];
        f.recipient = 'https://idp.example.test/acs';
      }),
    );
    assert.deepEqual(errorCodes(findings), ['recipient-mismatch', 'role-value-invalid']);
  });

  test('the RelayState stack is compared case-sensitively', () => {
    const relay = 'https://appstream2.us-east-1.aws.amazon.com/saml?stack=sales&accountId=123456789012';
    const findings = checkSamlResponse({ xml: signedResponse(keys), relayState: relay }, { metadata, now: ISSUED_AT, skewMs: 0, stack: 'Sales' });
    assert.deepEqual(errorCodes(findings), ['relay-state-stack']);
    assert.match(findings[0]!.message, /case-sensitive/);
  });

  test('findings never repeat the assertion', () => {
    const findings = check(signedResponse(keys, (f) => (f.roleSessionName = 'x'.repeat(200))));
    for (const f of findings) {
      assert.ok(!/<saml|SignatureValue/.test(`${f.message}${f.fix}`));
      assert.ok(f.message.length < 300);
    }
  });
});
