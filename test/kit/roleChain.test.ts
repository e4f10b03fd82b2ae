import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { roleChain } from '../../src/kit/iam/roleChain.js';
import { lintPolicy } from '../../src/kit/iam/lintPolicy.js';
import { hasErrors, type Finding } from '../../src/findings.js';
import { runCli } from '../helpers/cli.js';

const MACHINE = 'arn:aws:iam::123456789012:role/FleetMachineRole';
const REPORTING = 'arn:aws:iam::123456789012:role/ReportingReadOnly';
const UPLOAD = 'arn:aws:iam::123456789012:role/path/UploadWriteOnly';
const lint = (policy: unknown): Finding[] => lintPolicy(JSON.stringify(policy));
const codes = (findings: Finding[]): string[] => findings.map((f) => f.code);

describe('policy role-chain', () => {
  test('plain chaining: sts:AssumeRole on the roles, each trusting the machine role', () => {
    const chain = roleChain({ machineRole: MACHINE, roles: [REPORTING, UPLOAD] });
    assert.deepEqual(chain.machineRolePermission.Statement, [{ Sid: 'AssumeNamedRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [REPORTING, UPLOAD] }]);
    assert.deepEqual(Object.keys(chain.trustPolicies), [REPORTING, UPLOAD]);
    assert.deepEqual(chain.trustPolicies[REPORTING]!.Statement, [{ Sid: 'TrustTheMachineRole', Effect: 'Allow', Principal: { AWS: MACHINE }, Action: 'sts:AssumeRole' }]);
  });

  test('source identity, session tags and an external id add their actions and conditions on both sides', () => {
    const chain = roleChain({ machineRole: MACHINE, roles: [REPORTING], sourceIdentity: 'as2-{user}', tagSession: true, externalId: 'fleet-a' });
    assert.deepEqual(chain.machineRolePermission.Statement[0]!.Action, ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession']);
    const trust = chain.trustPolicies[REPORTING]!.Statement[0]!;
    assert.deepEqual(trust.Action, ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession']);
    assert.deepEqual(trust.Condition, { StringEquals: { 'sts:ExternalId': 'fleet-a' }, StringLike: { 'sts:SourceIdentity': 'as2-*' } });
  });

  test('bad ARNs are usage errors naming the flag', () => {
    assert.throws(() => roleChain({ machineRole: 'FleetMachineRole', roles: [REPORTING] }), /--machine-role: not a role ARN/);
    assert.throws(() => roleChain({ machineRole: MACHINE, roles: ['arn:aws:s3:::bucket'] }), /--role: "arn:aws:s3:::bucket" is not a role ARN/);
    assert.throws(() => roleChain({ machineRole: MACHINE, roles: ['arn:aws-cn:iam::123456789012:role/X'] }), /another partition/);
  });

  test('policy lint passes both halves it writes (the permission only warns about a network condition)', () => {
    const chain = roleChain({ machineRole: MACHINE, roles: [REPORTING], sourceIdentity: '{user}', tagSession: true });
    assert.deepEqual(codes(lint(chain.machineRolePermission)), ['network-condition-missing']);
    assert.deepEqual(lint(chain.trustPolicies[REPORTING]), []);
  });

  test('policy lint knows the trust shape: wildcard principal, account principal, Resource, non-sts actions, open source identity', () => {
    const trust = (statement: object): Finding[] => lint({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: MACHINE }, Action: 'sts:AssumeRole', ...statement }] });
    assert.ok(hasErrors(trust({ Principal: { AWS: '*' } })));
    assert.deepEqual(codes(trust({ Principal: { AWS: '*' } })), ['trust-principal-wildcard']);
    assert.deepEqual(codes(trust({ Principal: { AWS: 'arn:aws:iam::123456789012:root' } })), ['trust-principal-account']);
    assert.deepEqual(codes(trust({ Resource: '*' })), ['trust-resource']);
    assert.deepEqual(codes(trust({ Action: ['sts:AssumeRole', 's3:GetObject'] })), ['trust-action-invalid']);
    assert.deepEqual(codes(trust({ Action: 'sts:*' })), ['trust-action-wildcard']);
    assert.deepEqual(codes(trust({ Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'] })), ['trust-source-identity-open']);
  });

  test('policy lint: the machine side must name role ARNs', () => {
    const findings = lint({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:s3:::bucket', Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } }] });
    assert.deepEqual(codes(findings), ['assume-role-resource']);
  });

  test('the CLI prints both halves as JSON; a bad ARN exits 2', async () => {
    const run = await runCli(['policy', 'role-chain', '--machine-role', MACHINE, '--role', REPORTING, UPLOAD, '--source-identity', '{user}']);
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout) as { machineRolePermission: unknown; trustPolicies: Record<string, unknown> };
    assert.deepEqual(Object.keys(printed.trustPolicies), [REPORTING, UPLOAD]);
    const bad = await runCli(['policy', 'role-chain', '--machine-role', 'nope', '--role', REPORTING]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--machine-role: not a role ARN/);
  });
});
