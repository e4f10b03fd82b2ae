import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { machineRoleTrust } from '../../src/kit/iam/machineRoleTrust.js';
import { renderPolicy } from '../../src/kit/policyDocument.js';
import { samlTrustPolicy, streamPolicy } from '../../src/kit/saml/samlPolicies.js';
import { AgentError, ExitCode } from '../../src/errors.js';

/** Round-trips through the printed text, so the golden objects also prove the output is JSON. */
const printed = (document: Parameters<typeof renderPolicy>[0]): unknown => JSON.parse(renderPolicy(document));

const usage = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (error: unknown) => error instanceof AgentError && error.exitCode === ExitCode.usage && pattern.test(error.message));
};

describe('policy machine-role-trust', () => {
  test('without conditions it trusts AppStream and warns about the confused deputy', () => {
    const trust = machineRoleTrust({});
    assert.deepEqual(printed(trust.document), {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: ['appstream.amazonaws.com'] }, Action: 'sts:AssumeRole' }],
    });
    assert.equal(trust.warnings.length, 1);
  });

  test('--source-account adds StringEquals aws:SourceAccount, with hyphens removed', () => {
    assert.deepEqual(printed(machineRoleTrust({ sourceAccount: '1234-5678-9012' }).document), {
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

  test('--source-arn adds ArnLike aws:SourceArn; both together keep both', () => {
    const arn = 'arn:aws:appstream:us-east-1:123456789012:fleet/*';
    const trust = machineRoleTrust({ sourceAccount: '123456789012', sourceArn: arn });
    assert.deepEqual(printed(trust.document), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: ['appstream.amazonaws.com'] },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnLike: { 'aws:SourceArn': arn } },
        },
      ],
    });
    assert.deepEqual(trust.warnings, []);
  });

  test('an ARN with a wildcard account asks for --source-account', () => {
    const trust = machineRoleTrust({ sourceArn: 'arn:aws:appstream:us-east-1:*:fleet/Sales' });
    assert.match(trust.warnings.join('\n'), /--source-account/);
  });

  test('bad input is a usage error', () => {
    usage(() => machineRoleTrust({ sourceAccount: '12345' }), /--source-account: "12345" is not an AWS account ID/);
    usage(() => machineRoleTrust({ sourceArn: 'arn:aws:s3:::bucket' }), /--source-arn: .* not an AppStream fleet/);
    usage(
      () => machineRoleTrust({ sourceAccount: '111111111111', sourceArn: 'arn:aws:appstream:us-east-1:222222222222:fleet/x' }),
      /must match/,
    );
  });
});

describe('saml trust-policy', () => {
  const provider = 'arn:aws:iam::123456789012:saml-provider/ExampleIdP';

  test('trusts the provider for AssumeRoleWithSAML with persistent subjects only', () => {
    assert.deepEqual(printed(samlTrustPolicy({ providerArn: provider })), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: provider },
          Action: 'sts:AssumeRoleWithSAML',
          Condition: { StringEquals: { 'SAML:sub_type': 'persistent' } },
        },
      ],
    });
  });

  test('--entitlements adds sts:TagSession', () => {
    assert.deepEqual(printed(samlTrustPolicy({ providerArn: provider, entitlements: true })), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: provider },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
          Condition: { StringEquals: { 'SAML:sub_type': 'persistent' } },
        },
      ],
    });
  });

  test('a GovCloud provider is accepted; a role ARN or a short account is not', () => {
    const gov = 'arn:aws-us-gov:iam::123456789012:saml-provider/Adfs';
    assert.equal(samlTrustPolicy({ providerArn: gov }).Statement[0]!.Principal!.Federated, gov);
    usage(() => samlTrustPolicy({ providerArn: 'arn:aws:iam::123456789012:role/X' }), /not a SAML provider ARN/);
    usage(() => samlTrustPolicy({ providerArn: 'arn:aws:iam::12345:saml-provider/X' }), /not a SAML provider ARN/);
  });
});

describe('saml stream-policy', () => {
  const expected = (arn: string): unknown => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'appstream:Stream',
        Resource: arn,
        Condition: { StringEquals: { 'appstream:userId': '${saml:sub}' } },
      },
    ],
  });

  test('allows appstream:Stream on the stack, as the SAML subject', () => {
    assert.deepEqual(
      printed(streamPolicy({ region: 'eu-west-1', account: '1234-5678-9012', stack: 'Sales' })),
      expected('arn:aws:appstream:eu-west-1:123456789012:stack/Sales'),
    );
  });

  test('uses the partition of the region', () => {
    assert.deepEqual(
      printed(streamPolicy({ region: 'us-gov-west-1', account: '123456789012', stack: 'Ops' })),
      expected('arn:aws-us-gov:appstream:us-gov-west-1:123456789012:stack/Ops'),
    );
    assert.deepEqual(
      printed(streamPolicy({ region: 'cn-north-1', account: '123456789012', stack: 'Ops' })),
      expected('arn:aws-cn:appstream:cn-north-1:123456789012:stack/Ops'),
    );
  });

  test('bad region, account or stack name is a usage error', () => {
    usage(() => streamPolicy({ region: 'useast1', account: '123456789012', stack: 'S' }), /--region/);
    usage(() => streamPolicy({ region: 'us-east-1', account: '12345678901a', stack: 'S' }), /--account/);
    usage(() => streamPolicy({ region: 'us-east-1', account: '123456789012', stack: 'My Stack' }), /--stack/);
  });
});
