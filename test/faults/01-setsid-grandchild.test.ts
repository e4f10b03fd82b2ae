/**
 * Fault 1: credential_process starts a `setsid` grandchild that keeps stdout open, then prints
 * valid JSON and exits. Must be: the process's exit plus a complete JSON document is a result;
 * a timeout kills what it can and abandons the pipe; the refresher always schedules its next
 * attempt; lastError says what happened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemon.js';
import { mintTriple, startFaultAgent, type Triple } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const processJson = (c: Triple): string =>
  JSON.stringify({ Version: 1, AccessKeyId: c.id, SecretAccessKey: c.secret, SessionToken: c.token, Expiration: new Date(Date.now() + 3_600_000).toISOString() });

/** The grandchild leaves the process group (setsid) with stdout inherited; its pid is kept for cleanup. */
async function writeProcess(dir: string): Promise<string> {
  const script = path.join(dir, 'cp.sh');
  await writeFile(
    script,
    [
      '#!/bin/sh',
      `setsid sh -c 'echo $$ >> "${dir}/grandchildren"; exec sleep 300' &`,
      `if [ "$(cat "${dir}/mode")" = hang ]; then sleep 300; fi`,
      `cat "${dir}/out.json"`,
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  return script;
}

async function killGrandchildren(dir: string): Promise<void> {
  const pids = (await readFile(path.join(dir, 'grandchildren'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

test('fault 1: a setsid grandchild holding stdout open -> the exit plus complete JSON is a result; a timeout kills the group and abandons the pipe; the refresher keeps scheduling; lastError says why', async (t) => {
  if (process.platform === 'win32') return t.skip('POSIX process groups and setsid');
  await withSandbox(async (dir) => {
    try {
      const script = await writeProcess(dir);
      const configFile = path.join(dir, 'config');
      await writeFile(configFile, `[profile appstream_machine_role]\ncredential_process = /bin/sh ${script}\n`);
      const first = mintTriple();
      await writeFile(path.join(dir, 'out.json'), processJson(first));
      await writeFile(path.join(dir, 'mode'), 'ok');
      const env = { AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'no-agent'), APPSTREAM_CREDS_PROCESS_TIMEOUT: '2s' };

      // CLI, direct mode: the JSON is the answer although the pipe never closes.
      const direct = await runCli(['credential-process'], { env, timeoutMs: 60_000 });
      assert.equal(direct.signal, null, `credential-process hung with the pipe held open: ${direct.stderr}`);
      assert.equal(direct.code, 0, direct.stderr);
      assert.equal(JSON.parse(direct.stdout).AccessKeyId, first.id);

      // CLI, timeout: the process itself hangs too; the CLI exits 5 naming the timeout, it does not wait for the pipe.
      await writeFile(path.join(dir, 'mode'), 'hang');
      const timedOut = await runCli(['credential-process'], { env, timeoutMs: 60_000 });
      assert.equal(timedOut.signal, null, 'credential-process hung past its timeout');
      assert.equal(timedOut.code, 5, timedOut.stderr);
      assert.match(timedOut.stderr, /did not finish within 2000 ms and was killed/);

      // Daemon: starts against the hanging process; lastError names the timeout and it keeps trying.
      const rig = await startFaultAgent({ dir, env: { AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), APPSTREAM_CREDS_PROCESS_TIMEOUT: '1s' }, args: ['--refresh-interval', '1s'] });
      try {
        await waitFor(async () => (await rig.status()).lastError?.code === 'process-timeout', 30_000, () => `no process-timeout in lastError: ${rig.agent.output().slice(-2000)}`);
        const during = await rig.status();
        assert.match(during.lastError!.message, /did not finish within 1000 ms/);
        assert.equal((await rig.credentials()).status, 503);
        // The process recovers: the next scheduled attempt picks it up without a restart.
        await writeFile(path.join(dir, 'mode'), 'ok');
        await rig.waitServing(first.id, 'after the timeouts', 30_000);
        assert.equal((await rig.status()).lastError, null, 'lastError clears on recovery');
        // A later generation from the same pipe-holding process is picked up too.
        const second = mintTriple();
        await writeFile(path.join(dir, 'out.json'), processJson(second));
        await rig.waitServing(second.id, 'a later run: the refresher scheduled its next attempt');
      } finally {
        assert.equal(await rig.agent.stop(), 0, rig.agent.output().slice(-2000));
      }
    } finally {
      await killGrandchildren(dir);
    }
  });
});
