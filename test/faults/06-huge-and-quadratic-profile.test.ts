/**
 * Fault 6: a profile line of 100,000 spaces (quadratic parsing stalled the CLI for 26.8 s and
 * the daemon's requests 5 s each); a 400 MB file took 1.3 GB. Must be: parsing is linear;
 * profile files over 1 MiB are refused with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { runCli } from '../helpers/cli.js';
import { mintTriple, replaceFile, startFaultAgent, staticProfile } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/daemon.js';

const spaces = ' '.repeat(100_000);

test('fault 6: a line of 100,000 spaces parses at once (linear) and a file over 1 MiB is refused with a clear error; the daemon keeps answering', async () => {
  await withSandbox(async (dir) => {
    const c = mintTriple();
    // Long runs of spaces where the old regex backtracked: after a key, before "=", and a blank line.
    const padded = `[appstream_machine_role]\n${spaces}\naws_access_key_id${spaces}= ${c.id}\naws_secret_access_key = ${c.secret}${spaces}\naws_session_token = ${c.token}\n`;
    const malformed = `[appstream_machine_role]\nx${spaces}\n`;
    await writeFile(`${dir}/padded`, padded);
    await writeFile(`${dir}/malformed`, malformed);
    const env = (file: string) => ({ AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: `${dir}/none`, APPSTREAM_CREDS_STATE_DIR: `${dir}/no-agent` });

    const ok = await runCli(['credential-process'], { env: env(`${dir}/padded`), timeoutMs: 20_000 });
    assert.equal(ok.signal, null, 'credential-process stalled on a line of 100,000 spaces (hang guard: 20 s)');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).AccessKeyId, c.id);

    const bad = await runCli(['credential-process'], { env: env(`${dir}/malformed`), timeoutMs: 20_000 });
    assert.equal(bad.signal, null, 'credential-process stalled on a malformed 100,000-space line');
    assert.equal(bad.code, 5);
    assert.match(bad.stderr, /malformed:2: malformed line/);

    // Over 1 MiB: refused by size, named, without reading it into memory.
    await writeFile(`${dir}/huge`, `[appstream_machine_role]\n${'#'.repeat(2 * 1024 * 1024)}\n`);
    const huge = await runCli(['credential-process'], { env: env(`${dir}/huge`), timeoutMs: 20_000 });
    assert.equal(huge.code, 5, huge.stderr);
    assert.match(huge.stderr, /huge: \d+ bytes is over the 1048576-byte limit for a profile file; refused/);

    // The daemon: serves the padded file and keeps answering; then refuses the huge one, keeping the last good.
    const rig = await startFaultAgent({ dir });
    try {
      await replaceFile(rig.credentialsFile, padded);
      await rig.waitServing(c.id, 'the padded profile');
      await replaceFile(rig.credentialsFile, `[appstream_machine_role]\n${'#'.repeat(2 * 1024 * 1024)}\n`);
      await waitFor(async () => /over the 1048576-byte limit/.test((await rig.status()).lastError?.message ?? ''), 20_000, () => `no size error: ${rig.agent.output().slice(-1500)}`);
      assert.equal((await rig.credentials()).body.AccessKeyId, c.id);
      const next = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(next));
      await rig.waitServing(next.id, 'a normal file after the huge one');
    } finally {
      await rig.agent.stop();
    }
  });
});
