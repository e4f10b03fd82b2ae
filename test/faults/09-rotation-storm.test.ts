/**
 * Fault 9: rotations every 5 ms for 5 s (only the first and last of 1,000 generations were seen:
 * the debounce kept resetting). Must be: a change is picked up at least every 250 ms however
 * often the file changes (a max-wait on the debounce).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mintTriple, replaceFile, startFaultAgent, staticProfile } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('fault 9: rotations every 5 ms for 5 s -> the agent keeps picking up changes during the storm (max-wait debounce), not only the first and last', async (t) => {
  await withSandbox(async (dir) => {
    const rig = await startFaultAgent({ dir, args: ['--refresh-interval', '1h'] });
    try {
      const first = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(first));
      await rig.waitServing(first.id, 'before the storm');
      const written = new Set<string>();
      const served = new Set<string>();
      let storming = true;
      // A client watching what is served while the file changes every 5 ms.
      const watcher = (async () => {
        while (storming) {
          const { status, body } = await rig.credentials();
          if (status === 200 && body.AccessKeyId !== first.id) served.add(body.AccessKeyId!);
          await sleep(20);
        }
      })();
      const started = Date.now();
      let last = first;
      while (Date.now() - started < 5_000) {
        last = mintTriple();
        written.add(last.id);
        await replaceFile(rig.credentialsFile, staticProfile(last));
        await sleep(5);
      }
      storming = false;
      await watcher;
      await rig.waitServing(last.id, 'the last generation after the storm');
      const generations = rig.agent.output().split('\n').filter((l) => l.includes('"msg":"new credentials generation"')).length;
      t.diagnostic(`${written.size} rotations in 5 s; ${served.size} distinct generations served during the storm; ${generations} generations logged by the agent`);
      // At least one pickup every 250 ms means about 20 in 5 s; half of that allows for a loaded machine.
      // The debounce that kept resetting served none until the storm ended.
      assert.ok(served.size >= 10, `only ${served.size} generations were served during a 5 s storm of ${written.size} rotations`);
      for (const key of served) assert.ok(written.has(key), 'every served key id was written');
    } finally {
      await rig.agent.stop();
    }
  });
});
