/**
 * `policy fleet-metrics` (issue 23 point 3) through the shipped bundle: the statement it prints
 * passes `policy lint`, and lint knows PutMetricData: scoped by cloudwatch:namespace it is fine,
 * unscoped it is an error naming the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { runCli } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';
import { lintPolicy } from '../../src/kit/iam/lintPolicy.js';

test('policy fleet-metrics prints PutMetricData conditioned on the namespace, and policy lint passes it (exit 0, no error)', async () => {
  const run = await runCli(['policy', 'fleet-metrics', '--namespace', 'AppStreamCreds']);
  assert.equal(run.code, 0, run.stderr);
  const document = JSON.parse(run.stdout) as { Statement: Array<Record<string, unknown>> };
  assert.deepEqual(document.Statement, [
    { Sid: 'AppStreamCredsFleetMetrics', Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'AppStreamCreds' } } },
  ]);
  await withSandbox(async (dir) => {
    const file = path.join(dir, 'fleet-metrics.json');
    await writeFile(file, run.stdout);
    const lint = await runCli(['policy', 'lint', file, '--json']);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    const report = JSON.parse(lint.stdout) as { errors: number; findings: Array<{ code: string }> };
    assert.equal(report.errors, 0, lint.stdout);
    assert.ok(report.findings.some((f) => f.code === 'cloudwatch-namespace-scoped'), lint.stdout);
    assert.ok(!report.findings.some((f) => f.code === 'resource-wildcard-write'), 'PutMetricData has no resource-level permissions: Resource "*" is not its fault');
  });
  const vpce = await runCli(['policy', 'fleet-metrics', '--namespace', 'AppStreamCreds', '--source-vpce', 'vpce-0123456789abcdef0']);
  assert.equal(vpce.code, 0, vpce.stderr);
  const scoped = JSON.stringify(JSON.parse(vpce.stdout));
  assert.match(scoped, /"aws:SourceVpce":"vpce-0123456789abcdef0"/);
  assert.ok(!lintPolicy(vpce.stdout).some((f) => f.severity !== 'info'), 'with the VPC endpoint condition: not even a warning');
});

test('policy fleet-metrics refuses a namespace CloudWatch would refuse (exit 2, one line)', async () => {
  for (const bad of ['AWS/AppStream', 'has space', '']) {
    const run = await runCli(['policy', 'fleet-metrics', '--namespace', bad]);
    assert.equal(run.code, 2, `${bad}: ${run.stderr}`);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  }
});

test('lint: PutMetricData without a cloudwatch:namespace condition is an error; other writers with Resource "*" still are', () => {
  const unscoped = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: '*' }] });
  const findings = lintPolicy(unscoped);
  const error = findings.find((f) => f.code === 'cloudwatch-namespace-missing');
  assert.equal(error?.severity, 'error');
  assert.equal(error?.path, '$.Statement[0].Action[0]');
  assert.match(error!.fix, /policy fleet-metrics --namespace/);
  const mixed = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['cloudwatch:PutMetricData', 's3:PutObject'], Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'NS' } } }] });
  assert.ok(lintPolicy(mixed).some((f) => f.code === 'resource-wildcard-write' && /s3:PutObject/.test(f.message) && !/PutMetricData/.test(f.message)));
});
