/**
 * `saml check` against a signer that is not our own: Debian's `xmlsec1` (the libxmlsec1 command
 * many IdPs are built on) signs a SAML Response template with a throwaway key and certificate
 * made by openssl here. The real built CLI must accept what xmlsec1 signed and refuse it once a
 * signed element is changed. xmlsec1 itself verifies each file first, so a pass cannot come from
 * a broken template.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runCli, runProgram } from '../helpers/cli.js';
import {
  assertionXml,
  fixtureFiles,
  ISSUED_AT,
  makeIdpKeys,
  responseXml,
  validFields,
  type IdpKeys,
} from './samlFixture.js';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';

/** Why xmlsec1 tests cannot run here, or undefined when they can (installing it when root). */
function xmlsecSkipReason(): string | undefined {
  const has = (): boolean => spawnSync('xmlsec1', ['--version'], { stdio: 'ignore' }).status === 0;
  if (has()) return undefined;
  if (process.getuid?.() !== 0) return 'xmlsec1 is not installed and installing it needs root (apt-get install xmlsec1; .ci/run does this in CI)';
  spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1'], { stdio: 'ignore', timeout: 300_000 });
  // As root (CI), a missing xmlsec1 is a failure to set up, not a reason to skip.
  assert.ok(has(), 'xmlsec1 is missing and apt-get could not install it');
  return undefined;
}

/** A Signature template for xmlsec1: empty DigestValue/SignatureValue/X509Certificate to fill in. */
function signatureTemplate(referenceId: string, signatureMethod: string, digestMethod: string): string {
  return (
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
    `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
    `<ds:SignatureMethod Algorithm="${signatureMethod}"/>` +
    `<ds:Reference URI="#${referenceId}"><ds:Transforms>` +
    `<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
    `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${digestMethod}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>` +
    `<ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>`
  );
}

type Placement = 'assertion' | 'response';

/** A Response whose Assertion (or the Response itself) carries the template right after its Issuer. */
function template(placement: Placement, signatureMethod = RSA_SHA256, digestMethod = SHA256): string {
  const fields = validFields();
  let assertion = assertionXml(fields);
  if (placement === 'assertion') {
    assertion = assertion.replace('</saml:Issuer>', `</saml:Issuer>${signatureTemplate(fields.assertionId, signatureMethod, digestMethod)}`);
  }
  let response = responseXml(assertion);
  if (placement === 'response') {
    const id = /^<samlp:Response [^>]*ID="([^"]+)"/.exec(response)![1]!;
    response = response.replace('</saml:Issuer>', `</saml:Issuer>${signatureTemplate(id, signatureMethod, digestMethod)}`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${response}`;
}

const ID_ATTRS = ['--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion', '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:protocol:Response'];

let skip: string | undefined;
let keys: IdpKeys;
let files: ReturnType<typeof fixtureFiles>;

before(() => {
  skip = xmlsecSkipReason();
  if (skip) return;
  keys = makeIdpKeys();
  files = fixtureFiles(keys);
});
after(() => keys?.cleanup());

/** Signs a template with xmlsec1 and checks xmlsec1 accepts its own output; returns the signed XML's file. */
async function xmlsecSign(name: string, xml: string): Promise<string> {
  const unsigned = files.write(`${name}.template.xml`, xml);
  const signed = unsigned.replace('.template.xml', '.signed.xml');
  const key = `${keys.dir}/key.pem,${keys.dir}/cert.pem`;
  const sign = await runProgram('xmlsec1', ['--sign', '--privkey-pem', key, ...ID_ATTRS, '--output', signed, unsigned]);
  assert.equal(sign.code, 0, `xmlsec1 --sign: ${sign.stderr}`);
  const verify = await runProgram('xmlsec1', ['--verify', '--pubkey-cert-pem', `${keys.dir}/cert.pem`, ...ID_ATTRS, signed]);
  assert.equal(verify.code, 0, `xmlsec1 --verify of its own output: ${verify.stderr}`);
  return signed;
}

const check = (file: string, extra: string[] = []) =>
  runCli(['saml', 'check', file, '--idp-metadata', files.metadata, '--at', ISSUED_AT.toISOString(), '--json', ...extra]);

interface Report {
  findings: Array<{ severity: string; code: string; message: string }>;
  errors: number;
}

for (const [placement, signatureMethod, digestMethod, label] of [
  ['assertion', RSA_SHA256, SHA256, 'an Assertion signed with RSA-SHA256'],
  ['response', RSA_SHA256, SHA256, 'a Response signed with RSA-SHA256'],
  ['assertion', RSA_SHA1, SHA1, 'an Assertion signed with RSA-SHA1'],
] as const) {
  test(`saml check accepts ${label} by xmlsec1 (exit 0) and refuses it tampered after signing (exit 6)`, async (t) => {
    if (skip) return t.skip(skip);
    const signed = await xmlsecSign(`${placement}-${digestMethod === SHA1 ? 'sha1' : 'sha256'}`, template(placement, signatureMethod, digestMethod));
    const signedXml = readFileSync(signed, 'utf8');
    assert.match(signedXml, /<ds:SignatureValue>[A-Za-z0-9+/=\s]{100,}<\/ds:SignatureValue>/, 'xmlsec1 filled in the signature');

    const ok = await check(signed);
    const report = JSON.parse(ok.stdout) as Report;
    if (signatureMethod === RSA_SHA1) {
      // SHA-1 still verifies; the checker may warn about it, but must not call it an error.
      assert.equal(report.errors, 0, ok.stdout);
    } else {
      assert.deepEqual(report.findings.filter((f) => f.severity !== 'info'), [], ok.stdout);
    }
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);

    // The same bytes with one signed value changed: the NameID, which AWS maps to saml:sub.
    assert.ok(signedXml.includes('>jdoe</saml:NameID>'));
    const tampered = files.write(`${placement}-tampered.xml`, signedXml.replace('>jdoe</saml:NameID>', '>admin</saml:NameID>'));
    const bad = await check(tampered);
    assert.equal(bad.code, 6, bad.stdout + bad.stderr);
    const badReport = JSON.parse(bad.stdout) as Report;
    assert.ok(
      badReport.findings.some((f) => f.severity === 'error' && /signature|digest/i.test(`${f.code} ${f.message}`)),
      `a signature finding is an error: ${bad.stdout}`,
    );
    // xmlsec1 agrees the tampered file no longer verifies.
    const verify = await runProgram('xmlsec1', ['--verify', '--pubkey-cert-pem', `${keys.dir}/cert.pem`, ...ID_ATTRS, tampered]);
    assert.notEqual(verify.code, 0, 'xmlsec1 also rejects the tampered response');
  });
}

test('saml check refuses an xmlsec1-signed response whose key is not the one in the IdP metadata (exit 6)', async (t) => {
  if (skip) return t.skip(skip);
  const stranger = makeIdpKeys();
  try {
    const unsigned = files.write('stranger.template.xml', template('assertion'));
    const signed = unsigned.replace('.template.xml', '.signed.xml');
    const sign = await runProgram('xmlsec1', ['--sign', '--privkey-pem', `${stranger.dir}/key.pem,${stranger.dir}/cert.pem`, ...ID_ATTRS, '--output', signed, unsigned]);
    assert.equal(sign.code, 0, sign.stderr);
    const run = await check(signed);
    assert.equal(run.code, 6, run.stdout + run.stderr);
    assert.ok((JSON.parse(run.stdout) as Report).errors > 0, run.stdout);
  } finally {
    stranger.cleanup();
  }
});
