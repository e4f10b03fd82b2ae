/**
 * The service managers' command runner ends a run when the program exits, not when its output
 * pipes close: a process the program started may hold them open for as long as it lives (under
 * Wine, explorer.exe /desktop started by nssm.exe; it held every upgrade for the runner's 120 s
 * timeout). Shown by order: the run is over while the pipe holder still lives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { nodeCommandRunner } from '../../src/service/nodeCommandRunner.js';
import { withSandbox } from '../helpers/sandbox.js';

test('a run is over when the program exits, with its output and exit code, though a process it left behind holds the pipes', async () =>
  withSandbox(async (dir) => {
    const pidFile = path.join(dir, 'holder.pid');
    const doneFile = path.join(dir, 'holder.done');
    // The holder marks its end before it closes the inherited pipes (on its exit).
    const result = await nodeCommandRunner.run('sh', ['-c', `echo out; echo err >&2; (sleep 20; echo > '${doneFile}') & echo $! > '${pidFile}'; exit 3`]);
    const holderDone = existsSync(doneFile);
    const holder = Number(await readFile(pidFile, 'utf8'));
    try {
      assert.deepEqual(result, { code: 3, stdout: 'out\n', stderr: 'err\n' });
      assert.equal(holderDone, false, 'the run ended before the process holding its pipes did');
    } finally {
      try {
        process.kill(holder, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }));

test('a program that is not there is exit 127, named', async () => {
  const result = await nodeCommandRunner.run('as2creds-no-such-program', ['x']);
  assert.equal(result.code, 127);
  assert.equal(result.stderr, 'as2creds-no-such-program: command not found');
});
