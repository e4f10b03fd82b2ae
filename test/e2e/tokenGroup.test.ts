import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startCli, waitFor } from '../helpers/daemon.js';
import { withSandbox } from '../helpers/sandbox.js';

/** A group that exists on this machine (Debian always has `daemon`), with its gid. */
function someGroup(): { name: string; gid: number } | undefined {
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === 'daemon' || name === 'nogroup') return { name, gid: Number(gid) };
  }
  return undefined;
}

const group = someGroup();
const skip = process.platform === 'win32' ? 'POSIX groups only' : process.getuid?.() !== 0 ? 'needs root to chown to another group' : !group ? 'no daemon/nogroup group here' : false;

test('tokenGroup: the token file is 0640 and owned by that group, so its members can read it', { skip }, async () => {
  await withSandbox(async (dir) => {
    await runCli(['simulate', '--dir', dir, '--rotations', '1', '--validity', '6h']);
    const stateDir = path.join(dir, 'state');
    const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0'], {
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
      APPSTREAM_CREDS_TOKEN_GROUP: group!.name,
    });
    try {
      await waitFor(async () => Boolean(await import('node:fs/promises').then((fs) => fs.stat(path.join(stateDir, 'agent.json'))).catch(() => false)), 15_000, () => agent.output());
      const info = statSync(path.join(stateDir, 'token'));
      assert.equal(info.mode & 0o777, 0o640);
      assert.equal(info.gid, group!.gid);
    } finally {
      await agent.stop();
    }
  });
});

test('tokenGroup naming no group: exit 2 with one line, nothing left behind', async () => {
  await withSandbox(async (dir) => {
    const stateDir = path.join(dir, 'state');
    const run = await runCli(['serve', '--state-dir', stateDir, '--port', '0'], { env: { APPSTREAM_CREDS_TOKEN_GROUP: 'no-such-group-xyz' } });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr.trim(), 'appstream-creds: setting tokenGroup: no group named "no-such-group-xyz" in /etc/group');
    assert.throws(() => statSync(path.join(stateDir, 'agent.json')));
    assert.throws(() => statSync(path.join(stateDir, 'agent.lock')), 'the lock is released');
  });
});
