/**
 * Fault 5: an in-place writer writes the key line, pauses, then the rest. Must be: 0 torn
 * responses at any pause length. A read sharing some but not all of key id, secret and token
 * with a known generation is torn: read again, never serve it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { mintTriple, startFaultAgent, startTornReaders, staticProfile, type Triple } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Overwrites the file in place (no truncate, same length): key line first, then after `pauseMs` the rest. */
async function writeTorn(file: string, next: Triple, pauseMs: number): Promise<void> {
  const text = staticProfile(next);
  const cut = text.indexOf('aws_secret_access_key');
  const handle = await open(file, 'r+');
  try {
    await handle.write(text.slice(0, cut), 0);
    await handle.sync();
    if (pauseMs > 0) await sleep(pauseMs);
    await handle.write(text.slice(cut), Buffer.byteLength(text.slice(0, cut)));
  } finally {
    await handle.close();
  }
}

test('fault 5: an in-place writer pausing between the key line and the rest -> 0 torn responses at any pause length; a mixed read is read again, never served', async (t) => {
  await withSandbox(async (dir) => {
    const rig = await startFaultAgent({ dir, args: ['--refresh-interval', '1s'] });
    try {
      const first = mintTriple();
      await writeFile(rig.credentialsFile, staticProfile(first), { mode: 0o600 });
      await rig.waitServing(first.id, 'the first generation');
      const written = new Map<string, Triple>([[first.id, first]]);
      const clients = startTornReaders(rig, written, 16);
      let last = first;
      const pauses = [0, 30, 30, 30, 150, 600, 30, 1500, 5, 30];
      for (const pause of pauses) {
        const next = mintTriple();
        written.set(next.id, next);
        await writeTorn(rig.credentialsFile, next, pause);
        last = next;
        await rig.waitServing(next.id, `after a ${pause} ms pause`);
      }
      const { responses, torn, examples } = await clients.stop();
      t.diagnostic(`${responses} responses across ${pauses.length} torn-prone rewrites (pauses ${pauses.join(', ')} ms), ${torn} torn`);
      assert.equal(torn, 0, `torn responses served: ${examples.join('; ')}`);
      assert.ok(responses > 0);
      assert.equal((await rig.credentials()).body.AccessKeyId, last.id);
      assert.match(rig.agent.output(), /torn-read|mixed parts of two credential sets|still settling/, 'the agent said it read again');
    } finally {
      await rig.agent.stop();
    }
  });
});
