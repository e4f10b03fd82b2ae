/**
 * The setup kit through the shipped bundle: exit codes, stdout JSON, one-line errors, help.
 * Needs `node scripts/build.mjs` first (npm test does it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fixtureFiles, ISSUED_AT, makeIdpKeys, signedResponse, toBase64, type IdpKeys } from './samlFixture.js';
import { cleanS3Policy } from './policyFixtures.js';

let keys: IdpKeys;
let files: ReturnType<typeof fixtureFiles>;
before(() => {
  keys = makeIdpKeys();
  files = fixtureFiles(keys);
});
after(() => keys.cleanup());

const json = (text: string): unknown => JSON.parse(text);
const oneLineError = (stderr: string, pattern: RegExp): void => {
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
};

describe('policy (CLI)', () => {
  test('machine-role-trust prints the trust policy as JSON', async () => {
    const run = await runCli(['policy', 'machine-role-trust', '--source-account', '1234-5678-9012']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(json(run.stdout), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: ['appstream.amazonaws.com'] },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        },
      ],
    });
  });

  test('machine-role-trust with a bad ARN exits 2 with one line', async () => {
    const run = await runCli(['policy', 'machine-role-trust', '--source-arn', 'arn:aws:ec2:::x']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    oneLineError(run.stderr, /--source-arn/);
  });

  test('lint: a clean policy exits 0; s3:* on * exits 6 with JSON findings', async () => {
    const clean = files.write('clean.json', JSON.stringify(cleanS3Policy));
    const ok = await runCli(['policy', 'lint', clean, '--json']);
    assert.equal(ok.code, 0, ok.stdout);
    assert.deepEqual(json(ok.stdout), { findings: [], errors: 0, warnings: 0 });

    const broad = files.write('broad.json', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }));
    const bad = await runCli(['policy', 'lint', broad, '--json']);
    assert.equal(bad.code, 6);
    const report = json(bad.stdout) as { findings: { code: string; severity: string; path: string }[]; errors: number; warnings: number };
    assert.equal(report.errors, 2);
    assert.equal(report.warnings, 1);
    assert.deepEqual(
      report.findings.map((f) => [f.severity, f.path, f.code]),
      [
        ['error', '$.Statement[0].Action', 'action-service-wildcard'],
        ['error', '$.Statement[0].Resource', 'resource-wildcard-write'],
        ['warning', '$.Statement[0].Condition', 'network-condition-missing'],
      ],
    );
  });

  test('lint: text output has each finding with its fix; NotAction exits 6', async () => {
    const file = files.write('notaction.json', JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' } }));
    const run = await runCli(['policy', 'lint', file]);
    assert.equal(run.code, 6);
    assert.match(run.stdout, /^ERROR +\$\.Statement\.NotAction: Allow with NotAction/m);
    assert.match(run.stdout, /^ +fix: replace NotAction/m);
  });

  test('lint: malformed JSON is a finding (exit 6); a missing file is a usage error (exit 2)', async () => {
    const file = files.write('broken.json', '{"Version": "2012-10-17", "Statement": [}');
    const broken = await runCli(['policy', 'lint', file, '--json']);
    assert.equal(broken.code, 6);
    const report = json(broken.stdout) as { findings: { code: string; message: string }[] };
    assert.equal(report.findings[0]!.code, 'json-invalid');
    assert.match(report.findings[0]!.message, /line 1, column/);

    const missing = await runCli(['policy', 'lint', path.join(keys.dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    oneLineError(missing.stderr, /cannot read policy file .*nope\.json: no such file/);
  });
});

describe('saml (CLI)', () => {
  test('relay-state prints the URL; --json gives its parts', async () => {
    const run = await runCli(['saml', 'relay-state', '--region', 'us-west-2', '--account', '1234-5678-9012', '--stack', 'Sales', '--fips', '--desktop']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'https://appstream2-fips.us-west-2.aws.amazon.com/saml?stack=Sales&accountId=123456789012&app=Desktop\n');
    const asJson = await runCli(['saml', 'relay-state', '--region', 'us-gov-west-1', '--account', '123456789012', '--stack', 'Ops', '--app', 'Word', '--json']);
    assert.equal(asJson.code, 0);
    assert.deepEqual(json(asJson.stdout), {
      url: 'https://appstream2.us-gov-west-1.amazonaws-us-gov.com/saml?stack=Ops&accountId=123456789012&app=Word',
      endpoint: 'https://appstream2.us-gov-west-1.amazonaws-us-gov.com/saml',
      region: 'us-gov-west-1',
      accountId: '123456789012',
      stack: 'Ops',
      app: 'Word',
      fips: false,
    });
  });

  for (const [name, args, pattern] of [
    ['a bad account', ['--region', 'us-east-1', '--account', '12345678901'], /--account/],
    ['an unknown region', ['--region', 'xx-nowhere-1', '--account', '123456789012'], /not offered in "xx-nowhere-1"/],
    ['--fips where there is no FIPS endpoint', ['--region', 'ap-northeast-1', '--account', '123456789012', '--fips'], /no FIPS/],
    ['--app with --desktop', ['--region', 'us-east-1', '--account', '123456789012', '--app', 'X', '--desktop'], /--app and --desktop/],
  ] as const) {
    test(`relay-state with ${name} exits 2`, async () => {
      const run = await runCli(['saml', 'relay-state', '--stack', 'Sales', ...args]);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      oneLineError(run.stderr, pattern);
    });
  }

  test('trust-policy and stream-policy print JSON; stream-policy warns about case on stderr', async () => {
    const trust = await runCli(['saml', 'trust-policy', '--provider-arn', 'arn:aws:iam::123456789012:saml-provider/Okta']);
    assert.equal(trust.code, 0, trust.stderr);
    assert.equal((json(trust.stdout) as { Version: string }).Version, '2012-10-17');
    const stream = await runCli(['saml', 'stream-policy', '--region', 'us-east-1', '--account', '123456789012', '--stack', 'Sales']);
    assert.equal(stream.code, 0, stream.stderr);
    assert.match(stream.stderr, /case-sensitive/);
    assert.deepEqual(json(stream.stdout), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'appstream:Stream',
          Resource: 'arn:aws:appstream:us-east-1:123456789012:stack/Sales',
          Condition: { StringEquals: { 'appstream:userId': '${saml:sub}' } },
        },
      ],
    });
  });

  test('check: a valid signed response (base64 from stdin) exits 0', async () => {
    const run = await runCli(['saml', 'check', '-', '--idp-metadata', files.metadata, '--at', ISSUED_AT.toISOString(), '--json'], {
      input: toBase64(signedResponse(keys)),
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(json(run.stdout), { findings: [], errors: 0, warnings: 0 });
  });

  test('check: several problems are reported at once, exit 6, without printing the assertion', async () => {
    const file = files.write(
      'bad.b64',
      toBase64(
        signedResponse(keys, (f) => {
          f.roleSessionName = 'John Doe';
          f.sessionDuration = '50000';
          f.audience = 'urn:example';
        }),
      ),
    );
    const run = await runCli(['saml', 'check', file, '--idp-metadata', files.metadata, '--at', ISSUED_AT.toISOString(), '--json']);
    assert.equal(run.code, 6);
    const report = json(run.stdout) as { findings: { code: string }[]; errors: number };
    assert.deepEqual(report.findings.map((f) => f.code).sort(), ['audience-mismatch', 'role-session-name-invalid', 'session-duration-out-of-range']);
    assert.equal(report.errors, 3);
    assert.doesNotMatch(run.stdout, /SignatureValue|<saml/);
  });

  test('check: terminal escapes and line breaks in the input reach the terminal only as visible escapes (text and --json)', async () => {
    const file = files.write(
      'escapes.b64',
      toBase64(
        signedResponse(keys, (f) => {
          f.roleSessionName = 'x\u001b[2J\u001b[H\u009b1m\nSAML response: 0 errors, 0 warnings';
        }),
      ),
    );
    const text = await runCli(['saml', 'check', file, '--idp-metadata', files.metadata, '--at', ISSUED_AT.toISOString()]);
    assert.equal(text.code, 6, text.stdout + text.stderr);
    assert.doesNotMatch(text.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control character but newlines');
    assert.match(text.stdout, /\\x1b\[2J/, 'the escape is shown, not sent');
    assert.doesNotMatch(text.stdout, /^SAML response: 0 errors/m, 'input cannot start a line of its own');
    const json = await runCli(['saml', 'check', file, '--idp-metadata', files.metadata, '--at', ISSUED_AT.toISOString(), '--json']);
    assert.equal(json.code, 6);
    assert.doesNotMatch(json.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.match(JSON.stringify(JSON.parse(json.stdout)), /role-session-name-invalid/);
  });

  test('check: an XXE payload exits 6 with the DOCTYPE finding', async () => {
    const file = files.write('xxe.xml', '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>');
    const run = await runCli(['saml', 'check', file, '--idp-metadata', files.metadata]);
    assert.equal(run.code, 6);
    assert.match(run.stdout, /^ERROR +\/: the response contains a DOCTYPE/m);
    assert.doesNotMatch(run.stdout, /root:/);
  });

  test('check: without metadata it exits 6 (signature not verified); unreadable input exits 2', async () => {
    const file = files.write('ok.b64', toBase64(signedResponse(keys)));
    const unverified = await runCli(['saml', 'check', file, '--at', ISSUED_AT.toISOString()]);
    assert.equal(unverified.code, 6);
    assert.match(unverified.stdout, /signature not verified/);

    const garbage = files.write('garbage.txt', 'this is not a SAML response!');
    const unreadable = await runCli(['saml', 'check', garbage]);
    assert.equal(unreadable.code, 2);
    oneLineError(unreadable.stderr, /neither SAML XML nor a base64 SAMLResponse/);

    const badAt = await runCli(['saml', 'check', file, '--at', 'yesterday']);
    assert.equal(badAt.code, 2);
    oneLineError(badAt.stderr, /--at/);
  });

  test('every command has --help with an example', async () => {
    for (const command of [
      ['policy'],
      ['policy', 'machine-role-trust'],
      ['policy', 'lint'],
      ['saml'],
      ['saml', 'trust-policy'],
      ['saml', 'stream-policy'],
      ['saml', 'relay-state'],
      ['saml', 'check'],
    ]) {
      const run = await runCli([...command, '--help']);
      assert.equal(run.code, 0, command.join(' '));
      assert.match(run.stdout, /Examples?:\n {2}appstream-creds /, command.join(' '));
      if (['lint', 'check'].includes(command[1] ?? '')) assert.match(run.stdout, /--json/);
    }
  });
});
