import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startCli, startSandboxAgent, waitFor } from '../helpers/daemon.js';

async function simulated(dir: string) {
  const run = await runCli(['simulate', '--dir', dir, '--rotations', '1', '--validity', '6h']);
  assert.equal(run.code, 0, run.stderr);
  const current = JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as Record<string, string>;
  return {
    current,
    env: { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state') },
  };
}

const printEnv = `process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('AWS_')))))`;

test('exec (direct mode): static variables plus AWS_CREDENTIAL_EXPIRATION; the exit code passes through', async () => {
  await withSandbox(async (dir) => {
    const { current, env } = await simulated(dir);
    const run = await runCli(['exec', '--', process.execPath, '-e', printEnv], { env: { ...env, AWS_PROFILE: 'someone-else' } });
    assert.equal(run.code, 0, run.stderr);
    const childEnv = JSON.parse(run.stdout) as Record<string, string>;
    assert.equal(childEnv.AWS_ACCESS_KEY_ID, current.AccessKeyId);
    assert.equal(childEnv.AWS_SECRET_ACCESS_KEY, current.SecretAccessKey);
    assert.equal(childEnv.AWS_SESSION_TOKEN, current.SessionToken);
    assert.ok(!Number.isNaN(Date.parse(childEnv.AWS_CREDENTIAL_EXPIRATION!)));
    assert.equal(childEnv.AWS_PROFILE, undefined, 'AWS_PROFILE would make the SDK skip the variables');
    const failing = await runCli(['exec', '--', 'sh', '-c', 'exit 7'], { env });
    assert.equal(failing.code, 7);
  });
});

test('exec (agent mode): the child gets the endpoint variables and no static keys', async () => {
  await withSandbox(async (dir) => {
    const agent = await startSandboxAgent({ dir, refreshInterval: '1h', validity: '6h', rotations: 1 });
    try {
      // The inline token (for clients older than the token file) is compared with the file, never printed.
      const printChecked = `const e = { ...process.env }; if (e.AWS_CONTAINER_AUTHORIZATION_TOKEN !== undefined) e.AWS_CONTAINER_AUTHORIZATION_TOKEN = e.AWS_CONTAINER_AUTHORIZATION_TOKEN === require('fs').readFileSync(e.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8') ? 'the token file content' : 'something else'; process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(e).filter(([k]) => k.startsWith('AWS_')))))`;
      const run = await runCli(['exec', '--state-dir', agent.stateDir, '--', process.execPath, '-e', printChecked], {
        env: { AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_ACCESS_KEY_ID: 'AKIASTALEFROMPARENT0' },
      });
      assert.equal(run.code, 0, run.stderr);
      const childEnv = JSON.parse(run.stdout) as Record<string, string>;
      assert.equal(childEnv.AWS_CONTAINER_CREDENTIALS_FULL_URI, agent.discovery.credentialsUrl);
      assert.equal(childEnv.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, agent.discovery.tokenFile);
      assert.equal(childEnv.AWS_CONTAINER_AUTHORIZATION_TOKEN, 'the token file content');
      assert.equal(childEnv.AWS_ACCESS_KEY_ID, undefined);
      assert.equal(childEnv.AWS_SECRET_ACCESS_KEY, undefined);
    } finally {
      await agent.stop();
    }
  });
});

test('exec forwards SIGTERM to the child and returns its exit code', async () => {
  await withSandbox(async (dir) => {
    const { env } = await simulated(dir);
    const childScript = `process.on('SIGTERM', () => { process.stdout.write('child got SIGTERM'); process.exit(42); }); process.stdout.write('ready'); setInterval(() => {}, 1000);`;
    const parent = startCli(['exec', '--', process.execPath, '-e', childScript], env);
    await waitFor(async () => parent.stdout().includes('ready'), 15_000, () => `the child never started: ${parent.output()}`);
    const code = await parent.stop('SIGTERM');
    assert.match(parent.stdout(), /child got SIGTERM/);
    assert.equal(code, 42);
  });
});

test('exec with an unknown command: exit 127 (as shells) and one line', async () => {
  await withSandbox(async (dir) => {
    const { env } = await simulated(dir);
    const run = await runCli(['exec', '--', 'no-such-command-xyz'], { env });
    assert.equal(run.code, 127);
    assert.equal(run.stderr.trim(), 'appstream-creds: exec: command not found: no-such-command-xyz');
  });
});

test('env prints each format so the shell sets the exact values', async () => {
  await withSandbox(async (dir) => {
    const { current, env } = await simulated(dir);
    const bash = await runCli(['env', '--format', 'bash'], { env });
    assert.equal(bash.code, 0, bash.stderr);
    const { execFileSync } = await import('node:child_process');
    const echoed = execFileSync('bash', ['-c', `${bash.stdout}\nprintf '%s|%s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"`], { encoding: 'utf8' });
    assert.equal(echoed, `${current.AccessKeyId}|${current.SecretAccessKey}`);
    const ps = await runCli(['env', '--format', 'powershell'], { env });
    assert.match(ps.stdout, new RegExp(`^\\$Env:AWS_ACCESS_KEY_ID = '${current.AccessKeyId}'$`, 'm'));
    const dotenv = await runCli(['env', '--format', 'dotenv'], { env });
    assert.match(dotenv.stdout, /^AWS_CREDENTIAL_EXPIRATION='\d{4}-\d\d-\d\dT/m);
    const bad = await runCli(['env', '--format', 'zsh'], { env });
    assert.equal(bad.code, 2);
  });
});
