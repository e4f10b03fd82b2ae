/**
 * Fault 7: a wrapper strips APPSTREAM_CREDS_RESOLVING_PROFILES and calls credential-process
 * again (processes multiplied until the process limit). Must be: at most one credential_process
 * run in flight per profile in the daemon; the CLI's direct mode refuses when one of its
 * ancestors is `appstream-creds credential-process` for the same profile (Linux: /proc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliPath, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemon.js';
import { startFaultAgent } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

test('fault 7a: a wrapper that strips the recursion guard and calls credential-process again -> refused by the ancestor walk (exit 2) after one level, no multiplication', async (t) => {
  if (process.platform !== 'linux') return t.skip('the ancestor walk reads /proc (Linux); elsewhere only the environment guard applies');
  await withSandbox(async (dir) => {
    const wrapper = path.join(dir, 'wrapper.sh');
    const runs = path.join(dir, 'runs');
    await writeFile(
      wrapper,
      `#!/bin/sh\necho run >> "${runs}"\nexec env -u APPSTREAM_CREDS_RESOLVING_PROFILES "${process.execPath}" "${cliPath}" credential-process\n`,
      { mode: 0o700 },
    );
    const config = path.join(dir, 'config');
    await writeFile(config, `[profile appstream_machine_role]\ncredential_process = /bin/sh ${wrapper}\n`);
    const result = await runCli(['credential-process'], { env: { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'no-agent') }, timeoutMs: 60_000 });
    assert.equal(result.signal, null, 'credential-process did not finish (hang guard)');
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /recursion refused/);
    assert.deepEqual(await lines(runs), ['run'], 'the wrapper ran once: the second level refused instead of running it again');
  });
});

test('fault 7b: the daemon never runs two credential_process at once for a profile, however often it is triggered', async (t) => {
  if (process.platform === 'win32') return t.skip('POSIX shell script');
  await withSandbox(async (dir) => {
    const script = path.join(dir, 'slow.sh');
    const log = path.join(dir, 'log');
    // Each run logs start/end around a 400 ms pause, then prints credentials.
    await writeFile(
      script,
      [
        '#!/bin/sh',
        `echo "start $$" >> "${log}"`,
        'sleep 0.4',
        `echo "end $$" >> "${log}"`,
        `printf '{"Version":1,"AccessKeyId":"ASIAFAULTSEVEN000001","SecretAccessKey":"%s","SessionToken":"t","Expiration":"%s"}' "$(printf s%.0s $(seq 40))" "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"`,
        '',
      ].join('\n'),
      { mode: 0o700 },
    );
    const rig = await startFaultAgent({ dir, env: { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'none') }, args: ['--refresh-interval', '1s'] });
    try {
      await writeFile(rig.configFile, `[profile appstream_machine_role]\ncredential_process = /bin/sh ${script}\n`);
      await rig.waitServing('ASIAFAULTSEVEN000001', 'the slow process');
      // Touch the watched config file every 20 ms for 3 s: every touch asks for a refresh.
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        const now = new Date();
        await utimes(rig.configFile, now, now);
        await new Promise((r) => setTimeout(r, 20));
      }
      await waitFor(async () => {
        const l = await lines(log);
        return l.length > 0 && l.at(-1)!.startsWith('end');
      }, 10_000, () => 'the last run did not end');
      const events = await lines(log);
      let inFlight = 0;
      let most = 0;
      for (const event of events) {
        inFlight += event.startsWith('start') ? 1 : -1;
        most = Math.max(most, inFlight);
      }
      t.diagnostic(`${events.length / 2} runs while the config file was touched 150 times; at most ${most} in flight`);
      assert.equal(most, 1, `overlapping credential_process runs: ${events.join(', ')}`);
      assert.ok(events.length >= 4, 'the process was re-run during the storm');
    } finally {
      await rig.agent.stop();
    }
  });
});
