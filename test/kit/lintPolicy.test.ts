import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lintPolicy } from '../../src/kit/iam/lintPolicy.js';
import { canWrite } from '../../src/kit/iam/actionAccess.js';
import { hasErrors, type Finding } from '../../src/findings.js';
import { cleanS3Policy } from './policyFixtures.js';

const lint = (policy: unknown): Finding[] => lintPolicy(JSON.stringify(policy, null, 2));
const codes = (findings: Finding[]): string[] => findings.map((f) => f.code);
const only = (findings: Finding[], code: string): Finding => {
  const matches = findings.filter((f) => f.code === code);
  assert.equal(matches.length, 1, `expected one ${code} finding in ${JSON.stringify(findings)}`);
  return matches[0]!;
};

describe('policy lint', () => {
  test('a least-privilege S3 policy behind a VPC endpoint is clean', () => {
    assert.deepEqual(lint(cleanS3Policy), []);
  });

  test('s3:* on * is an error on the action and on the resource (Statement as one object)', () => {
    const findings = lint({
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } },
    });
    assert.ok(hasErrors(findings));
    assert.equal(only(findings, 'action-service-wildcard').path, '$.Statement.Action');
    const resource = only(findings, 'resource-wildcard-write');
    assert.equal(resource.severity, 'error');
    assert.equal(resource.path, '$.Statement.Resource');
    assert.match(resource.fix, /name the/);
  });

  test('wildcards inside arrays are found with their index', () => {
    const findings = lint({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } } },
        { Effect: 'Allow', Action: ['sqs:SendMessage', '*'], Resource: ['arn:aws:sqs:us-east-1:123456789012:q', '*'], Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } } },
      ],
    });
    assert.equal(only(findings, 'action-wildcard').path, '$.Statement[1].Action[1]');
    assert.equal(only(findings, 'resource-wildcard-write').path, '$.Statement[1].Resource[1]');
  });

  test('NotAction and NotResource with Allow are errors', () => {
    const findings = lint({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', NotAction: 'iam:*', NotResource: 'arn:aws:s3:::secret/*', Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } }],
    });
    assert.equal(only(findings, 'not-action-allow').severity, 'error');
    assert.equal(only(findings, 'not-action-allow').path, '$.Statement[0].NotAction');
    assert.equal(only(findings, 'not-resource-allow').severity, 'error');
  });

  test('a Deny with NotAction is not flagged', () => {
    const findings = lint({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', NotAction: 's3:GetObject', Resource: '*' }],
    });
    assert.deepEqual(findings, []);
  });

  test('an Allow without a network condition is a warning, not an error', () => {
    const findings = lint({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/k' }],
    });
    const warning = only(findings, 'network-condition-missing');
    assert.equal(warning.severity, 'warning');
    assert.equal(hasErrors(findings), false);
  });

  test('Resource * on read-only actions is only informational', () => {
    const findings = lint({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:ListAllMyBuckets', 'ec2:Describe*'], Resource: '*', Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } } }],
    });
    assert.deepEqual(codes(findings), ['resource-wildcard-read']);
    assert.equal(findings[0]!.severity, 'info');
  });

  test('Version: missing is an error, 2008-10-17 a warning, anything else an error', () => {
    const statement = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/k', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } };
    assert.equal(only(lint({ Statement: [statement] }), 'version-missing').severity, 'error');
    assert.equal(only(lint({ Version: '2008-10-17', Statement: [statement] }), 'version-old').severity, 'warning');
    assert.equal(only(lint({ Version: '2012-10-18', Statement: [statement] }), 'version-invalid').severity, 'error');
  });

  test('malformed JSON is one error finding with line and column', () => {
    const findings = lintPolicy('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}\n');
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.code, 'json-invalid');
    assert.equal(findings[0]!.severity, 'error');
    assert.match(findings[0]!.message, /line 4, column 24/);
    // V8 gives no position for an unexpected token: the scanner finds it.
    const token = lintPolicy('{\n  "Version": "2012-10-17",\n  "Statement": x\n}\n');
    assert.equal(token.length, 1);
    assert.match(token[0]!.message, /line 3, column 16/);
  });

  test('a Principal in a permission policy is an error', () => {
    const findings = lint({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/k', Condition: { StringEquals: { 'aws:SourceVpce': 'v' } } }],
    });
    assert.deepEqual(codes(findings), ['principal-in-identity-policy']);
  });
});

describe('write classification', () => {
  test('verbs that change things, and wildcards that can reach them', () => {
    for (const action of ['s3:PutObject', 'iam:PassRole', 'ec2:TerminateInstances', 's3:*', 's3:P*', 's3:*Object', 'dynamodb:BatchWriteItem', 'sns:Publish', '*']) {
      assert.equal(canWrite(action), true, action);
    }
    for (const action of ['s3:GetObject', 's3:Get*', 'ec2:Describe*', 's3:ListBucket', 'sts:GetCallerIdentity', 'logs:Filter*']) {
      assert.equal(canWrite(action), false, action);
    }
  });
});
