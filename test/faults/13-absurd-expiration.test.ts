/**
 * Also in the fault matrix: a credential_process whose Expiration is absurdly far ahead (the year
 * 2030, a bare year). Must be: capped at the documented maximum (12 h: AssumeRole's longest
 * session) with a warning, since AWS temporary credentials never live that long.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { mintTriple, startFaultAgent } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const H = 3_600_000;

test('an absurd Expiration ("2030", a bare year) -> capped to 12 h from now with a warning, in direct mode and in the daemon', async (t) => {
  if (process.platform === 'win32') return t.skip('POSIX shell script');
  await withSandbox(async (dir) => {
    const c = mintTriple();
    const script = path.join(dir, 'cp.sh');
    await writeFile(script, `#!/bin/sh\necho '${JSON.stringify({ Version: 1, AccessKeyId: c.id, SecretAccessKey: c.secret, SessionToken: c.token, Expiration: '2030' })}'\n`, { mode: 0o700 });
    const config = path.join(dir, 'config');
    await writeFile(config, `[profile appstream_machine_role]\ncredential_process = /bin/sh ${script}\n`);

    const before = Date.now();
    const direct = await runCli(['credential-process'], { env: { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'no-agent'), APPSTREAM_CREDS_LOG_LEVEL: 'warn' } });
    const after = Date.now();
    assert.equal(direct.code, 0, direct.stderr);
    const expiration = Date.parse(JSON.parse(direct.stdout).Expiration);
    assert.ok(expiration >= before + 12 * H - 1_000 && expiration <= after + 12 * H, `Expiration ${new Date(expiration).toISOString()} is now + 12 h`);
    assert.match(direct.stderr, /is more than 12 h ahead; capped to/);

    const rig = await startFaultAgent({ dir, env: { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') } });
    try {
      await rig.waitServing(c.id, 'the capped generation');
      const served = Date.parse((await rig.credentials()).body.Expiration!);
      assert.ok(served <= Date.now() + 12 * H && served > Date.now() + 11 * H, `served Expiration ${new Date(served).toISOString()} is capped to 12 h`);
      assert.match(rig.agent.output(), /2030-01-01T00:00:00.000Z is more than 12 h ahead; capped to/);
    } finally {
      await rig.agent.stop();
    }
  });
});
