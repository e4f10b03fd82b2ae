/**
 * Fault 8: the token file is deleted while the agent runs. Must be: recreated within a second
 * with the same token, logged; clients keep using the agent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemon.js';
import { mintTriple, replaceFile, startFaultAgent, staticProfile } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

test('fault 8: the token file is deleted while the agent runs -> recreated with the same token and mode, logged; clients keep using the agent', async () => {
  await withSandbox(async (dir) => {
    const rig = await startFaultAgent({ dir });
    try {
      const c = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(c));
      await rig.waitServing(c.id, 'before the fault');
      const mode = (await stat(rig.discovery.tokenFile)).mode & 0o777;
      for (let round = 1; round <= 2; round += 1) {
        await rm(rig.discovery.tokenFile);
        await waitFor(async () => (await readFile(rig.discovery.tokenFile, 'utf8').catch(() => '')).trim() !== '', 10_000, () => `round ${round}: the token file was not recreated: ${rig.agent.output().slice(-1500)}`);
        assert.equal((await readFile(rig.discovery.tokenFile, 'utf8')).trim(), rig.token, 'the same token');
        assert.equal((await stat(rig.discovery.tokenFile)).mode & 0o777, mode, 'the same mode');
      }
      assert.equal(rig.agent.output().split('\n').filter((l) => l.includes('the token file was deleted; recreated it with the same token')).length, 2, 'logged once per deletion');
      assert.ok(!rig.agent.output().includes(rig.token), 'the token itself is never logged');
      // A client finds the agent again through the recreated file: `status` reports agent mode.
      const status = await runCli(['status', '--json'], { env: { APPSTREAM_CREDS_STATE_DIR: rig.stateDir, AWS_SHARED_CREDENTIALS_FILE: `${dir}/none`, AWS_CONFIG_FILE: `${dir}/none` } });
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).mode, 'agent');
    } finally {
      await rig.agent.stop();
    }
  });
});
