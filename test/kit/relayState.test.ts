import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { relayState } from '../../src/kit/saml/relayState.js';
import { AgentError, ExitCode } from '../../src/errors.js';

const base = { account: '1234-5678-9012', stack: 'Sales' };

const usage = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (error: unknown) => error instanceof AgentError && error.exitCode === ExitCode.usage && pattern.test(error.message));
};

describe('saml relay-state', () => {
  test('standard region', () => {
    assert.equal(
      relayState({ ...base, region: 'eu-central-1' }).url,
      'https://appstream2.eu-central-1.aws.amazon.com/saml?stack=Sales&accountId=123456789012',
    );
  });

  test('FIPS endpoints in us-east-1 and us-west-2', () => {
    assert.equal(
      relayState({ ...base, region: 'us-east-1', fips: true }).url,
      'https://appstream2-fips.us-east-1.aws.amazon.com/saml?stack=Sales&accountId=123456789012',
    );
    assert.equal(
      relayState({ ...base, region: 'us-west-2', fips: true }).url,
      'https://appstream2-fips.us-west-2.aws.amazon.com/saml?stack=Sales&accountId=123456789012',
    );
  });

  test('GovCloud, standard and FIPS', () => {
    assert.equal(
      relayState({ ...base, region: 'us-gov-west-1' }).url,
      'https://appstream2.us-gov-west-1.amazonaws-us-gov.com/saml?stack=Sales&accountId=123456789012',
    );
    assert.equal(
      relayState({ ...base, region: 'us-gov-west-1', fips: true }).url,
      'https://appstream2-fips.us-gov-west-1.amazonaws-us-gov.com/saml?stack=Sales&accountId=123456789012',
    );
  });

  test('--app is URL-encoded; --desktop sends app=Desktop', () => {
    assert.equal(
      relayState({ ...base, region: 'us-east-1', app: 'Excel 2016 & Co' }).url,
      'https://appstream2.us-east-1.aws.amazon.com/saml?stack=Sales&accountId=123456789012&app=Excel%202016%20%26%20Co',
    );
    const desktop = relayState({ ...base, region: 'us-east-1', desktop: true });
    assert.equal(desktop.url, 'https://appstream2.us-east-1.aws.amazon.com/saml?stack=Sales&accountId=123456789012&app=Desktop');
    assert.equal(desktop.app, 'Desktop');
  });

  test('errors are usage errors with a clear message', () => {
    usage(() => relayState({ ...base, region: 'us-east-1', account: '12345' }), /--account: "12345" is not an AWS account ID/);
    usage(() => relayState({ ...base, region: 'mars-north-1' }), /AppStream 2.0 is not offered in "mars-north-1"/);
    // AppStream is not offered in N. California.
    usage(() => relayState({ ...base, region: 'us-west-1' }), /not offered/);
    usage(() => relayState({ ...base, region: 'eu-west-1', fips: true }), /no FIPS relay-state endpoint in eu-west-1/);
    usage(() => relayState({ ...base, region: 'us-east-2', fips: true }), /no FIPS/);
    usage(() => relayState({ ...base, region: 'us-east-1', app: 'Excel', desktop: true }), /--app and --desktop/);
  });
});
