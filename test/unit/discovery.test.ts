/**
 * The state dir's files as the agent writes them: the lock (pid + start time), the token file
 * (mode and group set on the descriptor, never through a planted symlink).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { acquireStateLock, processStartTime, writeTokenFile } from '../../src/agent/discovery.js';
import { lockPath, tokenPath } from '../../src/agent/contract.js';
import { writeFileAtomic } from '../../src/writeFileAtomic.js';
import { withSandbox } from '../helpers/sandbox.js';

describe('agent.lock', () => {
  test('holds "pid start-time"; released only by its owner', async () =>
    withSandbox(async (dir) => {
      const lock = await acquireStateLock(dir);
      assert.ok('release' in lock);
      const [pid, started] = (await readFile(lockPath(dir), 'utf8')).split(' ');
      assert.equal(Number(pid), process.pid);
      if (process.platform === 'linux') assert.equal(started, await processStartTime(process.pid));
      await lock.release();
      await assert.rejects(stat(lockPath(dir)), /ENOENT/);
    }));

  test('a live pid with the recorded start time blocks; the same pid started at another time (reused) is stale', async () =>
    withSandbox(async (dir) => {
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        await new Promise((r) => child.once('spawn', r));
        const real = (await processStartTime(child.pid!)) ?? 'x';
        await writeFile(lockPath(dir), `${child.pid} ${real}`);
        assert.deepEqual(await acquireStateLock(dir), { ownerPid: child.pid }, 'a live owner keeps its lock');
        await writeFile(lockPath(dir), `${child.pid} 1`);
        const taken = await acquireStateLock(dir);
        assert.ok('release' in taken, 'the reused pid does not block a start');
        assert.match(await readFile(lockPath(dir), 'utf8'), new RegExp(`^${process.pid} `));
        await taken.release();
      } finally {
        child.kill();
      }
    }));
});

describe('token file', () => {
  test('a symlink planted at the token path is replaced, its target untouched', async () =>
    withSandbox(async (dir) => {
      const victim = path.join(dir, 'victim');
      await writeFile(victim, 'precious\n', { mode: 0o600 });
      await symlink(victim, tokenPath(dir));
      await writeTokenFile(dir, 'f'.repeat(64), process.getgid!());
      assert.equal(await readFile(victim, 'utf8'), 'precious\n');
      assert.equal((await stat(victim)).mode & 0o777, 0o600, "the victim's mode is unchanged");
      const token = await lstat(tokenPath(dir));
      assert.ok(token.isFile(), 'the token is a regular file now');
      assert.equal(token.mode & 0o777, 0o640);
      assert.equal(token.gid, process.getgid!());
    }));

  test('writeFileAtomic sets the mode whatever the umask', async () =>
    withSandbox(async (dir) => {
      const old = process.umask(0o000);
      try {
        await writeFileAtomic(path.join(dir, 'a'), 'x', 0o600);
      } finally {
        process.umask(old);
      }
      assert.equal((await stat(path.join(dir, 'a'))).mode & 0o777, 0o600);
    }));
});

test('acquireStateLock: an empty lock just created (an agent between its exclusive create and its write) is waited for, not taken over', async () => {
  await withSandbox(async (dir) => {
    await writeFile(lockPath(dir), '');
    // The other agent (here: our live parent process) finishes writing its pid a moment later.
    const written = new Promise<void>((resolve) => setTimeout(() => void writeFile(lockPath(dir), `${process.ppid} -`).then(() => resolve()), 150));
    const result = await acquireStateLock(dir);
    await written;
    assert.deepEqual(result, { ownerPid: process.ppid });
    assert.equal((await readFile(lockPath(dir), 'utf8')).trim(), `${process.ppid} -`, 'the other agent keeps its lock');
  });
});
