/**
 * Fault 4: the wall clock steps back (a generation first seen while the clock was a day ahead).
 * Must be: generations ordered by when the agent observed them (a sequence, not wall time);
 * periods on a monotonic clock; a negative file age counts as settled; the served Expiration is
 * never later than the source says. The agent's clock is stepped with libfaketime (Debian
 * `faketime`), whose offset is re-read from a file; the monotonic clock is left alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../helpers/daemon.js';
import { mintTriple, replaceFile, startFaultAgent, staticProfile, type Triple } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p));

/** The agent (and the credential_process it runs) see the wall clock shifted by the offset in `offsetFile`. */
const fakedEnv = (offsetFile: string) => ({
  LD_PRELOAD: LIBFAKETIME!,
  FAKETIME_TIMESTAMP_FILE: offsetFile,
  FAKETIME_CACHE_DURATION: '1',
  FAKETIME_DONT_FAKE_MONOTONIC: '1',
});

test('fault 4a: the clock steps back a day between two credential_process runs -> the later run is served (observation order), with exactly the Expiration the source printed', async (t) => {
  if (!LIBFAKETIME) return t.skip('libfaketime not installed (Debian package faketime; .ci/run installs it)');
  await withSandbox(async (dir) => {
    const offset = path.join(dir, 'offset');
    await writeFile(offset, '+1d\n');
    // The process prints the generation named in `current`, expiring an hour from ITS (faked) now, and keeps a copy.
    const script = path.join(dir, 'cp.sh');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        `. "${dir}/current"`,
        'exp=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)',
        `printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","SessionToken":"%s","Expiration":"%s"}' "$ID" "$SECRET" "$TOKEN" "$exp" | tee "${dir}/printed-$ID"`,
        '',
      ].join('\n'),
      { mode: 0o700 },
    );
    const use = (c: Triple) => writeFile(path.join(dir, 'current'), `ID='${c.id}'\nSECRET='${c.secret}'\nTOKEN='${c.token}'\n`);
    const ahead = mintTriple();
    await use(ahead);
    const rig = await startFaultAgent({ dir, env: { ...fakedEnv(offset), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') }, args: ['--refresh-interval', '1s'] });
    try {
      await writeFile(rig.configFile, `[profile appstream_machine_role]\ncredential_process = /bin/sh ${script}\n`);
      await rig.waitServing(ahead.id, 'the generation seen while the clock is a day ahead', 30_000);
      const aheadServed = (await rig.credentials()).body;
      assert.ok(Date.parse(aheadServed.Expiration!) - Date.now() > 20 * 3_600_000, 'the first Expiration is a day ahead of the real clock');

      // The clock steps back to real time; the next run brings a new generation.
      await writeFile(offset, '+0\n');
      const later = mintTriple();
      await use(later);
      await rig.waitServing(later.id, 'the generation observed after the clock stepped back', 30_000);
      const served = (await rig.credentials()).body;
      const printed = JSON.parse(await readFile(path.join(dir, `printed-${later.id}`), 'utf8')) as { Expiration: string };
      assert.equal(Date.parse(served.Expiration!), Date.parse(printed.Expiration), 'the served Expiration is what the source printed, not later');
      assert.ok(Date.parse(served.Expiration!) - Date.now() < 2 * 3_600_000, 'no 30 h Expiration');
      // Servable (ready, or refresh-overdue once 2 s pass without a new generation at these short periods), never expired.
      const status = await rig.status();
      assert.ok(['ready', 'refresh-overdue'].includes(status.state), `state ${status.state}`);
      // It stays on the newer generation on later runs (the older one is not "newer" by wall time).
      await new Promise((r) => setTimeout(r, 2_500));
      assert.equal((await rig.credentials()).body.AccessKeyId, later.id);
    } finally {
      await rig.agent.stop();
    }
  });
});

test('fault 4b: the clock is behind the files (negative file age) -> an in-place rewrite counts as settled and is served, not "still settling" forever', async (t) => {
  if (!LIBFAKETIME) return t.skip('libfaketime not installed (Debian package faketime; .ci/run installs it)');
  await withSandbox(async (dir) => {
    const offset = path.join(dir, 'offset');
    await writeFile(offset, '-1d\n');
    const rig = await startFaultAgent({ dir, env: fakedEnv(offset), args: ['--refresh-interval', '1s', '--validity', '3d'] });
    try {
      const first = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(first));
      await rig.waitServing(first.id, 'the first generation (renamed into place)', 30_000);
      // Rewritten in place: same inode, mtime a day "in the future" for the agent.
      const second = mintTriple();
      const handle = await open(rig.credentialsFile, 'r+');
      await handle.write(staticProfile(second), 0);
      await handle.close();
      await rig.waitServing(second.id, 'the in-place rewrite with a negative age', 30_000);
      await waitFor(async () => (await rig.status()).lastError === null, 10_000, () => `lastError stays set: ${rig.agent.output().slice(-1500)}`);
      assert.doesNotMatch(rig.agent.output(), /ms ago, still settling.*\n.*ms ago, still settling.*\n.*ms ago, still settling/, 'not settling over and over');
    } finally {
      await rig.agent.stop();
    }
  });
});
