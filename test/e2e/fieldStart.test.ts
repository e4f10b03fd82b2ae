/**
 * Elastic fleets: `start` launches the agent detached and waits until it is ready, a second
 * `start` finds it, `stop` ends it; a serve that fails is reported with its own words. Through
 * the built CLI, with a static profile in a sandbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function profileEnv(dir: string): Promise<Record<string, string>> {
  await mkdir(path.join(dir, '.aws'), { recursive: true });
  const file = path.join(dir, '.aws', 'credentials');
  await writeFile(file, '[appstream_machine_role]\naws_access_key_id = ASIAFIELDSTART000001\naws_secret_access_key = FieldStartSecretFieldStartSecretFieldS01\naws_session_token = field-start-token\n', { mode: 0o600 });
  return { AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state') };
}

test('start launches a detached agent and waits for it; a second start finds it; stop ends it', async () => {
  await withSandbox(async (dir) => {
    const env = await profileEnv(dir);
    let pid = 0;
    try {
      const started = await runCli(['start', '--port', '0', '--imds', '--timeout', '30s', '--json'], { env, timeoutMs: 60_000 });
      assert.equal(started.code, 0, started.stderr);
      const info = JSON.parse(started.stdout) as { outcome: string; pid: number; url: string; credentialsUrl: string; tokenFile: string; imdsEndpoint: string };
      pid = info.pid;
      assert.equal(info.outcome, 'started');
      // `start` has exited; the agent it launched lives on and serves credentials.
      assert.ok(alive(pid), 'the agent outlives the start command');
      assert.equal((await fetch(`${info.url}/healthz`)).status, 200);
      const token = (await import('node:fs/promises')).readFile(info.tokenFile, 'utf8');
      const credentials = await fetch(info.credentialsUrl, { headers: { authorization: (await token).trim() } });
      assert.equal(credentials.status, 200);
      // --imds reaches serve with IMDS's own port (--imds-port, ephemeral with --port 0).
      assert.notEqual(new URL(info.imdsEndpoint).port, new URL(info.url).port);
      assert.equal((await fetch(`${info.imdsEndpoint}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).status, 200);

      const again = await runCli(['start', '--port', '0'], { env, timeoutMs: 60_000 });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^agent already running \\(pid ${pid}\\) at ${info.url}`));
      assert.match(again.stdout, new RegExp(`IMDSv2: +${info.imdsEndpoint}\n`));

      const text = await runCli(['stop'], { env });
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stdout, `agent stopped (pid ${pid})\n`);
      assert.equal(alive(pid), false);
      await assert.rejects(access(path.join(dir, 'state', 'agent.json')), 'agent.json removed by the clean shutdown');
      const none = await runCli(['stop'], { env });
      assert.equal(none.code, 0);
      assert.match(none.stdout, /^no agent running for /);
    } finally {
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

test('start reports a serve that fails (port in use) with its own message and exit 1', async () => {
  await withSandbox(async (dir) => {
    const env = await profileEnv(dir);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      const run = await runCli(['start', '--port', String(port), '--timeout', '30s'], { env, timeoutMs: 60_000 });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stderr, /the agent exited with code 1 before it was ready/);
      assert.match(run.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is (in use|held by)`));
      assert.match(run.stderr, /start\.log/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
