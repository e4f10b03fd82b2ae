import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { keptToken } from '../../src/daemon/keptToken.js';
import { withSandbox } from '../helpers/sandbox.js';

const OLD = 'a'.repeat(64);
const uid = process.getuid?.() ?? 0;

test('a token file of the agent, writable by nobody else, keeps its token across starts', () =>
  withSandbox(async (dir) => {
    const file = path.join(dir, 'token');
    await writeFile(file, OLD, { mode: 0o600 });
    assert.deepEqual(await keptToken(file, { agentUid: uid }), { token: OLD, kept: true });
    await chmod(file, 0o640);
    assert.equal((await keptToken(file, { agentUid: uid })).token, OLD, 'the tokenGroup mode is ours too');
  }));

test('a new token otherwise: not kept (Windows), missing, malformed, writable by others, a symlink, another owner', () =>
  withSandbox(async (dir) => {
    const file = path.join(dir, 'token');
    const fresh = async (why: string): Promise<void> => {
      const result = await keptToken(file, { agentUid: uid });
      assert.equal(result.kept, false, why);
      assert.match(result.token, /^[0-9a-f]{64}$/, why);
      assert.notEqual(result.token, OLD, why);
    };
    await fresh('missing');
    await writeFile(file, OLD, { mode: 0o600 });
    const notKept = await keptToken(file, false);
    assert.equal(notKept.kept, false);
    assert.notEqual(notKept.token, OLD);
    await writeFile(file, `${OLD}\n`);
    await fresh('a trailing newline is not what the agent writes');
    await writeFile(file, 'A'.repeat(64));
    await fresh('upper case');
    await writeFile(file, OLD);
    await chmod(file, 0o620);
    await fresh('group-writable');
    await chmod(file, 0o602);
    await fresh('world-writable');
    await chmod(file, 0o600);
    const target = path.join(dir, 'elsewhere');
    await writeFile(target, OLD, { mode: 0o600 });
    const link = path.join(dir, 'link');
    await symlink(target, link);
    const viaLink = await keptToken(link, { agentUid: uid });
    assert.equal(viaLink.kept, false, 'a symlink is not followed');
    assert.equal((await keptToken(file, { agentUid: uid + 1 })).kept, false, 'owned by another account');
    if (uid === 0) {
      await chown(file, 4242, 4242);
      await fresh('a file root does not own');
    }
  }));
