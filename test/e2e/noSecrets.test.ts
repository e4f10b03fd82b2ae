/**
 * Acceptance point 6: no secret in logs. Every flow runs at debug level; no secret access
 * key, session token or agent auth token may appear on stderr, nor on stdout except where the
 * credentials are the product (credential-process, env).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, type CliRun } from '../helpers/cli.js';
import { ASSUMED_ROLE_PREFIX, ROLE_ARN, startMoto, type MotoServer } from '../helpers/moto.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startSandboxAgent } from '../helpers/daemon.js';
import { assertNoSecrets, collectSecrets, Secrets, watchSecrets } from '../helpers/secrets.js';

let moto: MotoServer;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto?.stop();
});

const DEBUG = { APPSTREAM_CREDS_LOG_LEVEL: 'debug' };

const toolEnv = (dir: string): Record<string, string> => ({
  ...DEBUG,
  HOME: dir,
  AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
  AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
  APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
  AWS_ENDPOINT_URL_STS: moto.url,
  AWS_DEFAULT_REGION: 'us-east-1',
});

/** Runs a CLI command at debug level (flag and env) and checks its output for secrets. */
async function checked(args: string[], env: Record<string, string>, secrets: Secrets, stdoutIsProduct = false): Promise<CliRun> {
  const run = await runCli(['--log-level', 'debug', ...args], { env });
  const label = args.filter((a) => !a.startsWith('/')).slice(0, 3).join(' ');
  assertNoSecrets(run.stderr, secrets, `stderr of ${label}`);
  if (stdoutIsProduct) {
    // The product itself carries the secrets, which also proves the collector found the right ones.
    assert.ok(
      secrets.list().some((s) => run.stdout.includes(s.value)),
      `stdout of ${label} should carry the credentials (exit ${run.code}): ${run.stderr}`,
    );
  } else {
    assertNoSecrets(run.stdout, secrets, `stdout of ${label}`);
  }
  return run;
}

for (const form of ['static', 'process'] as const) {
  describe(`${form} form at debug level`, () => {
    test('simulate, credential-process, env, exec, status and wait never show a secret where it does not belong', () =>
      withSandbox(async (dir) => {
        // Two generations, so the watcher must keep the first one's secrets after it is replaced.
        const watcher = watchSecrets(dir, 100);
        const sim = await runCli(
          ['--log-level', 'debug', 'simulate', '--dir', dir, '--form', form, '--rotations', '2', '--refresh-interval', '1s', '--validity', '30m', '--sts-endpoint', moto.url, '--role-arn', ROLE_ARN],
          { env: { ...DEBUG, ...moto.callerEnv } },
        );
        const secrets = await watcher.stop();
        assert.equal(sim.code, 0, sim.stderr);
        assert.match(sim.stderr, /generation 2: key …\w{4}/);
        // SecretAccessKey + SessionToken of two generations at least.
        assert.ok(secrets.size >= 4, `collected ${secrets.size} secrets`);
        assertNoSecrets(sim.stderr + sim.stdout, secrets, 'simulate output');

        const env = toolEnv(dir);
        await checked(['credential-process'], env, secrets, true);
        await checked(['env', '--format', 'bash'], env, secrets, true);
        await checked(['env', '--format', 'dotenv'], env, secrets, true);

        const exec = await checked(['exec', '--', 'aws', 'sts', 'get-caller-identity', '--output', 'json'], env, secrets);
        assert.equal(exec.code, 0, exec.stderr);
        assert.ok((JSON.parse(exec.stdout) as { Arn: string }).Arn.startsWith(ASSUMED_ROLE_PREFIX));

        for (const args of [['status'], ['status', '--json']]) {
          const status = await checked(args, env, secrets);
          assert.equal(status.code, 0, status.stderr);
          assert.match(status.stdout, /…\w{4}/, 'status shows the masked key id');
        }
        for (const args of [['wait', '--timeout', '20s'], ['wait', '--timeout', '20s', '--json']]) {
          const wait = await checked(args, env, secrets);
          assert.equal(wait.code, 0, wait.stderr);
        }
      }));
  });
}

test('failure paths at debug level: a credential_process that prints secrets and then fails or prints garbage', () =>
  withSandbox(async (dir) => {
    const secrets = new Secrets().add('secret in broken output', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').add('token in broken output', 'IQoJb3JpZ2luX2VjEXAMPLETOKENvalue0123456789abcdefghij==');
    const [secret, token] = secrets.list().map((s) => s.value);
    const out = path.join(dir, 'out.txt');
    await writeFile(out, `{"Version": 1, "AccessKeyId": "ASIAEXAMPLEEXAMPLE00", "SecretAccessKey": "${secret}", "SessionToken": "${token}"`);
    const fail = path.join(dir, 'fail.sh');
    await writeFile(fail, `cat "${out}" >&2\necho\necho "token: ${token}" >&2\nexit 3\n`);
    const version2 = path.join(dir, 'v2.json');
    await writeFile(version2, JSON.stringify({ Version: 2, AccessKeyId: 'ASIAEXAMPLEEXAMPLE00', SecretAccessKey: secret, SessionToken: token }));
    for (const command of [`cat "${out}"`, `sh "${fail}"`, `cat "${version2}"`]) {
      const config = path.join(dir, 'config');
      await writeFile(config, `[profile appstream_machine_role]\ncredential_process = ${command}\n`);
      const env = { ...DEBUG, HOME: dir, AWS_CONFIG_FILE: config, APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state') };
      for (const args of [['credential-process'], ['env'], ['status', '--json'], ['exec', '--', 'true'], ['wait', '--timeout', '2s']]) {
        const run = await checked(args, env, secrets);
        assert.notEqual(run.code, 0, `${args[0]} with ${command} must fail`);
      }
    }
  }));

test('the running agent at debug level: its log, and the clients asking it, never show a secret or the auth token', async () =>
  withSandbox(async (dir) => {
    const watcher = watchSecrets(dir, 100);
    const agent = await startSandboxAgent({ dir, form: 'static', stsEndpoint: moto.url, roleArn: ROLE_ARN, refreshInterval: '2s', validity: '30m', agentEnv: DEBUG });
    let secrets: Secrets;
    try {
      const env = { ...toolEnv(dir), APPSTREAM_CREDS_STATE_DIR: agent.stateDir };
      // Let at least one rotation reach the agent.
      await new Promise((r) => setTimeout(r, 2_500));
      secrets = await collectSecrets(dir, { into: watcher.secrets, stateDir: agent.stateDir });
      assert.ok(secrets.list().some((s) => s.value === agent.token), 'the auth token is among the secrets checked');
      await checked(['credential-process'], env, secrets, true);
      const exec = await checked(['exec', '--', 'aws', 'sts', 'get-caller-identity', '--output', 'json'], env, secrets);
      assert.equal(exec.code, 0, exec.stderr);
      assert.ok((JSON.parse(exec.stdout) as { Arn: string }).Arn.startsWith(ASSUMED_ROLE_PREFIX));
      const status = await checked(['status', '--json'], env, secrets);
      assert.equal(status.code, 0, status.stderr);
    } finally {
      await agent.stop();
    }
    secrets = await watcher.stop();
    const log = agent.agent.output();
    assert.match(log, /"level":20/, 'the agent really logged at debug level');
    assertNoSecrets(log, secrets, 'agent log (stdout+stderr)');
    assertNoSecrets(agent.simulator.output(), secrets, 'simulator output');
  }));
