/**
 * Fault 12: duplicate [profile] sections. Must be: refused with the file and both line numbers,
 * as the AWS CLI does (never the later key id paired with the earlier secret).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemon.js';
import { mintTriple, replaceFile, startFaultAgent, staticProfile } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';
import { assertNoSecrets, Secrets } from '../helpers/secrets.js';

test('fault 12: duplicate [profile] sections -> refused with the file and both line numbers (CLI exit 5, daemon lastError), no mixed credentials served', async () => {
  await withSandbox(async (dir) => {
    const a = mintTriple();
    const b = mintTriple();
    // Line 1: [appstream_machine_role]; line 5: the same section again.
    const text = `[appstream_machine_role]\naws_access_key_id = ${a.id}\naws_secret_access_key = ${a.secret}\naws_session_token = ${a.token}\n[appstream_machine_role]\naws_access_key_id = ${b.id}\n`;
    const rig = await startFaultAgent({ dir });
    try {
      const good = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(good));
      await rig.waitServing(good.id, 'a good file first');
      await writeFile(`${dir}/dup`, text);
      await replaceFile(rig.credentialsFile, text);
      const pattern = /section \[appstream_machine_role\] appears twice \(lines 1 and 5\)/;
      await waitFor(async () => pattern.test((await rig.status()).lastError?.message ?? ''), 20_000, () => `lastError does not name both lines: ${rig.agent.output().slice(-1500)}`);
      const served = await rig.credentials();
      assert.equal(served.body.AccessKeyId, good.id, 'the last good generation is kept; the mixed one never served');

      const cli = await runCli(['credential-process'], { env: { AWS_SHARED_CREDENTIALS_FILE: `${dir}/dup`, AWS_CONFIG_FILE: `${dir}/none`, APPSTREAM_CREDS_STATE_DIR: `${dir}/no-agent` } });
      assert.equal(cli.code, 5, cli.stderr);
      assert.match(cli.stderr, new RegExp(`${dir}/dup: section \\[appstream_machine_role\\] appears twice \\(lines 1 and 5\\)`));
      assert.equal(cli.stdout, '');
      const secrets = new Secrets().add('secret a', a.secret).add('token a', a.token).add('secret b', b.secret);
      assertNoSecrets(cli.stderr, secrets, 'credential-process stderr');
      assertNoSecrets(rig.agent.output(), secrets, 'agent log');
    } finally {
      await rig.agent.stop();
    }
  });
});
