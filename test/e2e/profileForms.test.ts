/**
 * Acceptance point 2: both profile forms, through real clients. moto's server is STS; the
 * simulator mints real AssumeRole credentials into a sandbox in either form, and the AWS CLI,
 * boto3, `exec` and `env` must all reach moto as the assumed role.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { ASSUMED_ROLE_PREFIX, startMoto, type MotoServer } from '../helpers/moto.js';
import { withSandbox } from '../helpers/sandbox.js';
import { awsCallerArn, boto3CallerArn, capture, clientEnv, simulateOnce, writeClientConfig } from '../helpers/secrets.js';

// The simulator names generation 1's session appstream-sim-1; moto echoes it in the ARN, so
// the ARN proves the client used exactly the simulated generation.
const EXPECTED_ARN = `${ASSUMED_ROLE_PREFIX}appstream-sim-1`;

let moto: MotoServer;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto?.stop();
});

/** Our tool's own environment: the sandbox files, the sandbox state dir, moto. */
const toolEnv = (dir: string): Record<string, string> => ({
  AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
  AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
  APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
  AWS_ENDPOINT_URL_STS: moto.url,
  // The AWS CLI v1 reads AWS_DEFAULT_REGION, not AWS_REGION.
  AWS_DEFAULT_REGION: 'us-east-1',
});

const currentGeneration = async (dir: string): Promise<{ AccessKeyId: string; Expiration: string }> =>
  JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as { AccessKeyId: string; Expiration: string };

async function assertProfileForm(dir: string, form: 'static' | 'process'): Promise<void> {
  const credentials = await readFile(path.join(dir, '.aws', 'credentials'), 'utf8');
  const config = await readFile(path.join(dir, '.aws', 'config'), 'utf8');
  if (form === 'static') {
    assert.match(credentials, /^\[appstream_machine_role\]\naws_access_key_id = ASIA/m);
    assert.equal(config.trim(), '', 'static form leaves the config file empty');
  } else {
    assert.match(config, /^\[profile appstream_machine_role\]\ncredential_process = .*simulate --emit --dir/m);
    assert.equal(credentials.trim(), '', 'process form leaves the credentials file empty');
  }
}

for (const form of ['static', 'process'] as const) {
  describe(`${form} form`, () => {
    test('credential-process prints Version 1 JSON with the simulated key and an Expiration', () =>
      withSandbox(async (dir) => {
        await simulateOnce(dir, form, moto.url);
        await assertProfileForm(dir, form);
        const run = await runCli(['credential-process'], { env: toolEnv(dir) });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, '');
        const json = JSON.parse(run.stdout) as Record<string, unknown>;
        const current = await currentGeneration(dir);
        assert.equal(json.Version, 1);
        assert.equal(json.AccessKeyId, current.AccessKeyId);
        assert.equal(typeof json.SecretAccessKey, 'string');
        assert.equal(typeof json.SessionToken, 'string');
        assert.ok(Date.parse(String(json.Expiration)) > Date.now(), `Expiration in the future: ${String(json.Expiration)}`);
        if (form === 'process') assert.equal(json.Expiration, new Date(current.Expiration).toISOString(), 'the process form passes its Expiration through');
      }));

    test('AWS CLI and boto3 get the assumed role through a credential_process profile', () =>
      withSandbox(async (dir) => {
        await simulateOnce(dir, form, moto.url);
        await writeClientConfig(dir);
        const env = clientEnv(dir, moto.url);
        assert.equal(await awsCallerArn(env), EXPECTED_ARN);
        assert.equal(await boto3CallerArn(env), EXPECTED_ARN);
      }));

    test('exec -- aws sts get-caller-identity runs the CLI as the assumed role and passes its exit code', () =>
      withSandbox(async (dir) => {
        await simulateOnce(dir, form, moto.url);
        const env = { ...toolEnv(dir), HOME: dir };
        const run = await runCli(['exec', '--', 'aws', 'sts', 'get-caller-identity', '--output', 'json'], { env });
        assert.equal(run.code, 0, run.stderr);
        assert.equal((JSON.parse(run.stdout) as { Arn: string }).Arn, EXPECTED_ARN);
        // The child's exit code comes back unchanged.
        const failing = await runCli(['exec', '--', 'sh', '-c', 'exit 7'], { env });
        assert.equal(failing.code, 7, failing.stderr);
      }));

    test('env --format bash, sourced in bash, lets aws reach STS as the assumed role', () =>
      withSandbox(async (dir) => {
        await simulateOnce(dir, form, moto.url);
        const run = await runCli(['env', '--format', 'bash'], { env: toolEnv(dir) });
        assert.equal(run.code, 0, run.stderr);
        const current = await currentGeneration(dir);
        assert.match(run.stdout, new RegExp(`^export AWS_ACCESS_KEY_ID='${current.AccessKeyId}'$`, 'm'));
        assert.match(run.stdout, /^export AWS_SESSION_TOKEN='.+'$/m);
        assert.match(run.stdout, /^export AWS_CREDENTIAL_EXPIRATION='\d{4}-\d\d-\d\dT[\d:.]+Z'$/m);
        const script = path.join(dir, 'creds.sh');
        await writeFile(script, run.stdout);
        const client = await capture('bash', ['-c', `. "${script}" && exec aws sts get-caller-identity --output json`], {
          AWS_ENDPOINT_URL_STS: moto.url,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: path.join(dir, 'no-client-config'),
          AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-client-credentials'),
        });
        assert.equal(client.code, 0, client.stderr);
        assert.equal((JSON.parse(client.stdout) as { Arn: string }).Arn, EXPECTED_ARN);
      }));
  });
}

test('control: with the profile gone the client fails and shows our one-line reason', () =>
  withSandbox(async (dir) => {
    await simulateOnce(dir, 'static', moto.url);
    await writeClientConfig(dir);
    await rm(path.join(dir, '.aws', 'credentials'));
    const run = await capture('aws', ['sts', 'get-caller-identity'], clientEnv(dir, moto.url));
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(run.stderr, /appstream-creds: profile appstream_machine_role (\(nor workspaces_machine_role\) )?not found; searched .*\.aws\/credentials/);
    assert.doesNotMatch(run.stderr, /assumed-role/);
  }));
