/**
 * moto runs with authentication on (test/helpers/moto.ts), so a client's success proves the
 * whole triple. These are the negative controls: one per exposure path, each serving a
 * deliberately corrupted secret (or session token) of real moto credentials, and each must fail
 * at STS with the error that names the corrupted part.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startSandboxAgent, getCredentials } from '../helpers/daemon.js';
import { awsCliIdentity, baseClientEnv, containerVars, runProgram } from '../helpers/clients.js';
import { clientEnv, writeClientConfig } from '../helpers/secrets.js';

const BAD_SECRET = /SignatureDoesNotMatch/;
const BAD_TOKEN = /InvalidClientTokenId|security token included in the request is invalid/;

interface Triple {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
}

let moto: MotoServer;
let good: Triple;

before(async () => {
  moto = await startMoto();
  good = await assumeMachineRole(moto);
});
after(async () => {
  await moto?.stop();
});

const BOTO3_ASSUME = `
import boto3, json, os, sys
sts = boto3.client('sts', endpoint_url=os.environ['STS_URL'])
c = sts.assume_role(RoleArn=os.environ['ROLE_ARN'], RoleSessionName='corruption-test', DurationSeconds=3600)['Credentials']
print(json.dumps({k: c[k] for k in ('AccessKeyId', 'SecretAccessKey', 'SessionToken')}))
`;

/** Real machine-role credentials, minted by the admin with a signed AssumeRole. */
async function assumeMachineRole(server: MotoServer): Promise<Triple> {
  const run = await runProgram('python3', ['-c', BOTO3_ASSUME], { ...server.callerEnv, AWS_DEFAULT_REGION: 'us-east-1', STS_URL: server.url, ROLE_ARN: server.roleArn });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Triple;
}

/** The same value with one character changed: same length and alphabet, so it parses as valid. */
function corrupt(value: string): string {
  const at = Math.floor(value.length / 2);
  return value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1);
}

const corrupted = (part: 'secret' | 'token'): Triple =>
  part === 'secret' ? { ...good, SecretAccessKey: corrupt(good.SecretAccessKey) } : { ...good, SessionToken: corrupt(good.SessionToken) };

/** Writes the machine-role profile (static form) holding `triple` into DIR/.aws. */
async function writeProfile(dir: string, triple: Triple): Promise<Record<string, string>> {
  await mkdir(path.join(dir, '.aws'), { recursive: true, mode: 0o700 });
  const credentialsFile = path.join(dir, '.aws', 'credentials');
  await writeFile(
    credentialsFile,
    `[appstream_machine_role]\naws_access_key_id = ${triple.AccessKeyId}\naws_secret_access_key = ${triple.SecretAccessKey}\naws_session_token = ${triple.SessionToken}\n`,
    { mode: 0o600 },
  );
  await writeFile(path.join(dir, '.aws', 'config'), '', { mode: 0o600 });
  return {
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
    APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
    AWS_ENDPOINT_URL_STS: moto.url,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
}

test('moto checks signatures: the real triple passes, a wrong secret gets SignatureDoesNotMatch, a wrong session token InvalidClientTokenId', () =>
  withSandbox(async (dir) => {
    const identity = (triple: Triple) =>
      runProgram('aws', ['sts', 'get-caller-identity', '--output', 'json', '--endpoint-url', moto.url], {
        ...baseClientEnv(dir),
        AWS_ACCESS_KEY_ID: triple.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: triple.SecretAccessKey,
        AWS_SESSION_TOKEN: triple.SessionToken,
      });
    const ok = await identity(good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((JSON.parse(ok.stdout) as { Arn: string }).Arn.startsWith(moto.assumedRolePrefix), ok.stdout);
    const badSecret = await identity(corrupted('secret'));
    assert.notEqual(badSecret.code, 0);
    assert.match(badSecret.stderr, BAD_SECRET);
    const badToken = await identity(corrupted('token'));
    assert.notEqual(badToken.code, 0);
    assert.match(badToken.stderr, BAD_TOKEN);
    // A truncated secret is just as wrong.
    const truncated = await identity({ ...good, SecretAccessKey: good.SecretAccessKey.slice(0, -1) });
    assert.match(truncated.stderr, BAD_SECRET);
  }));

test('simulate --sts-endpoint without a caller key is refused by an STS that checks signatures, with a clear error (exit 1)', () =>
  withSandbox(async (dir) => {
    const run = await runCli(['simulate', '--dir', dir, '--rotations', '1', '--sts-endpoint', moto.url, '--role-arn', moto.roleArn]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /STS AssumeRole of .* failed \(.*\); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    assert.doesNotMatch(run.stderr, /internal error|\n\s+at /);
  }));

test('credential_process: the AWS CLI with a corrupted session token in the profile fails with InvalidClientTokenId', () =>
  withSandbox(async (dir) => {
    const toolEnv = await writeProfile(dir, corrupted('token'));
    await writeClientConfig(dir, toolEnv);
    const run = await runProgram('aws', ['sts', 'get-caller-identity', '--output', 'json'], { ...clientEnv(dir, moto.url), AWS_DEFAULT_REGION: 'us-east-1' });
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(run.stderr, BAD_TOKEN);
  }));

test('container endpoint and IMDSv2: the agent serves a corrupted secret and the AWS CLI fails with SignatureDoesNotMatch on both', () =>
  withSandbox(async (dir) => {
    const bad = corrupted('secret');
    await writeProfile(dir, bad);
    const agent = await startSandboxAgent({ dir, simulate: false, refreshInterval: '1h', validity: '30m', imds: true });
    try {
      const served = await getCredentials(agent);
      assert.equal(served.status, 200);
      assert.equal(served.body.SecretAccessKey, bad.SecretAccessKey, 'the agent serves exactly what the profile holds');
      const container = await awsCliIdentity(moto.url, baseClientEnv(dir, { ...containerVars(agent, 'token-file'), AWS_EC2_METADATA_DISABLED: 'true' }));
      assert.notEqual(container.code, 0, container.stdout);
      assert.match(container.stderr, BAD_SECRET);
      const imds = await awsCliIdentity(moto.url, baseClientEnv(dir, { AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: `${agent.discovery.imdsEndpoint!}/` }));
      assert.notEqual(imds.code, 0, imds.stdout);
      assert.match(imds.stderr, BAD_SECRET);
    } finally {
      await agent.stop();
    }
  }));

const BOTO3_FROM_ENV = `
import boto3, json, os
print(json.dumps(boto3.client('sts', endpoint_url=os.environ['STS_URL']).get_caller_identity()))
`;

test('env: boto3 with the variables `env --format dotenv` printed from a corrupted secret fails with SignatureDoesNotMatch', () =>
  withSandbox(async (dir) => {
    const bad = corrupted('secret');
    const env = await writeProfile(dir, bad);
    const printed = await runCli(['env', '--format', 'dotenv'], { env });
    assert.equal(printed.code, 0, printed.stderr);
    const vars = Object.fromEntries(printed.stdout.trim().split('\n').map((line) => {
      const [, key, value] = /^(\w+)='(.*)'$/.exec(line) ?? [];
      assert.ok(key, `dotenv line: ${line}`);
      return [key, value!];
    }));
    assert.equal(vars.AWS_SECRET_ACCESS_KEY, bad.SecretAccessKey);
    const run = await runProgram('python3', ['-c', BOTO3_FROM_ENV], { ...baseClientEnv(dir), ...vars, STS_URL: moto.url });
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(run.stderr, BAD_SECRET);
  }));

test('exec: aws sts get-caller-identity run by `exec` with a corrupted secret fails with SignatureDoesNotMatch and its exit code', () =>
  withSandbox(async (dir) => {
    const env = await writeProfile(dir, corrupted('secret'));
    const run = await runCli(['exec', '--', 'aws', 'sts', 'get-caller-identity', '--output', 'json'], { env });
    assert.equal(run.code, 255, `the child's exit code passes through: ${run.stderr}`);
    assert.match(run.stderr, BAD_SECRET);
  }));

test('wait --probe sts: a corrupted secret never passes the probe (exit 3, naming SignatureDoesNotMatch)', () =>
  withSandbox(async (dir) => {
    const env = await writeProfile(dir, corrupted('secret'));
    const run = await runCli(['wait', '--timeout', '3s', '--probe', 'sts'], { env });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /STS GetCallerIdentity failed \(SignatureDoesNotMatch/);
  }));

test("doctor: a corrupted session token makes the STS finding an error (exit 6, InvalidClientTokenId)", () =>
  withSandbox(async (dir) => {
    const env = await writeProfile(dir, corrupted('token'));
    const run = await runCli(['doctor', '--json'], { env });
    assert.equal(run.code, 6, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as { findings: Array<{ path: string; severity: string; message: string }> };
    const sts = report.findings.find((f) => f.path === 'sts');
    assert.ok(sts, run.stdout);
    assert.equal(sts.severity, 'error');
    assert.match(sts.message, BAD_TOKEN);
  }));
