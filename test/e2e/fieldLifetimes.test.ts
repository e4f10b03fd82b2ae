/**
 * Lifetimes that match current AWS docs (1 h validity, 15 min expiry warning), through the
 * built CLI with its default settings: a static profile is never served past its file time
 * + 1 h, and a credential_process whose newest credentials have under 15 min left is run
 * again (with backoff) instead of waiting for the hourly refresh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startCli, waitFor, type Discovery } from '../helpers/daemon.js';
import { withSandbox } from '../helpers/sandbox.js';
import { H, M } from '../helpers/timings.js';

const KEY = 'ASIAFIELDLIFETIME001';
const SECRET = 'FieldLifetimeSecretFieldLifetimeSecret01';

async function startAgent(dir: string, env: Record<string, string>) {
  const stateDir = path.join(dir, 'state');
  const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0'], env);
  let discovery: Discovery | undefined;
  await waitFor(
    async () => {
      discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | undefined;
      return Boolean(discovery && discovery.pid === agent.child.pid);
    },
    20_000,
    () => `agent did not publish agent.json: ${agent.output()}`,
  ).catch(async (error: unknown) => {
    await agent.stop('SIGKILL');
    throw error;
  });
  const token = (await readFile(discovery!.tokenFile, 'utf8')).trim();
  return { agent, discovery: discovery!, token, stateDir };
}

test('a static profile is served with Expiration = file time + 1 h by default (direct and through the agent)', async () => {
  await withSandbox(async (dir) => {
    await mkdir(path.join(dir, '.aws'));
    const credentials = path.join(dir, '.aws', 'credentials');
    await writeFile(credentials, `[appstream_machine_role]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\naws_session_token = field-session-token\n`, { mode: 0o600 });
    // Written 10 minutes ago, as AppStream would have at its last hourly refresh.
    const written = new Date(Date.now() - 10 * M);
    await utimes(credentials, written, written);
    const fileTime = (await stat(credentials)).mtimeMs;
    const env = { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') };

    const direct = await runCli(['credential-process', '--state-dir', path.join(dir, 'none')], { env });
    assert.equal(direct.code, 0, direct.stderr);
    const directExpiry = Date.parse((JSON.parse(direct.stdout) as { Expiration: string }).Expiration);
    assert.ok(directExpiry <= fileTime + H, `direct Expiration ${new Date(directExpiry).toISOString()} is past file time + 1 h`);
    assert.ok(directExpiry > fileTime + H - 1_000, 'Expiration is the file time + 1 h, not earlier');

    const { agent, discovery, token } = await startAgent(dir, env);
    try {
      let body: { Expiration?: string } = {};
      await waitFor(
        async () => {
          const response = await fetch(discovery.credentialsUrl, { headers: { authorization: token } });
          body = (await response.json()) as { Expiration?: string };
          return response.status === 200;
        },
        20_000,
        () => `agent never served credentials: ${agent.output()}`,
      );
      const served = Date.parse(body.Expiration!);
      assert.ok(served <= fileTime + H, `served Expiration ${body.Expiration} is past file time + 1 h (${new Date(fileTime + H).toISOString()})`);
      const status = await runCli(['status', '--json', '--state-dir', path.dirname(discovery.tokenFile)], { env });
      assert.equal(status.code, 0, status.stderr);
      const report = JSON.parse(status.stdout) as { state: string };
      assert.equal(report.state, 'ready', '50 min left is more than the 15 min expiry warning');
    } finally {
      await agent.stop();
    }
  });
});

test('a credential_process whose credentials have under 15 min left is run again, with backoff, not an hour later', async () => {
  await withSandbox(async (dir) => {
    await mkdir(path.join(dir, '.aws'));
    const runs = path.join(dir, 'runs.log');
    const script = path.join(dir, 'machine-role-helper.sh');
    // Like AppStream's helper when it has nothing fresher: the same credentials, 14 min left.
    await writeFile(
      script,
      `#!/bin/sh\necho run >> '${runs}'\n` +
        `printf '{"Version":1,"AccessKeyId":"${KEY}","SecretAccessKey":"${SECRET}","SessionToken":"field-token","Expiration":"%s"}\\n' "$(date -u -d '+14 minutes' +%Y-%m-%dT%H:%M:%SZ)"\n`,
      { mode: 0o700 },
    );
    const config = path.join(dir, '.aws', 'config');
    await writeFile(config, `[profile appstream_machine_role]\ncredential_process = ${script}\n`, { mode: 0o600 });
    const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: config };
    const { agent } = await startAgent(dir, env);
    try {
      const count = async () => (await readFile(runs, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
      // Start-up run, then 1 s and 2 s later: three runs within seconds, where the hourly
      // refreshInterval alone would give one.
      await waitFor(async () => (await count()) >= 3, 30_000, () => `credential_process did not run 3 times; agent output: ${agent.output()}`);
      assert.ok((await count()) >= 3);
      assert.match(agent.output(), /expiring/, 'the state with 14 min left is expiring (15 min warning)');
    } finally {
      await agent.stop();
    }
  });
});
