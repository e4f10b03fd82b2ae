/**
 * Issue 19 point 5 through the built CLI: every file read as input (--config, the AppStream
 * system variables file, kit inputs) must be a regular file of at most 1 MiB, read without
 * blocking. A FIFO used to hang the reader forever and /dev/zero to grow it to gigabytes; now
 * each is refused at once with exit 2 and a line naming the file and why. `simulate --dir` on
 * a file exits 2 instead of "internal error"/1. The harness timeout only catches a hang; no
 * test here measures time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, type CliRun } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';

const skip = process.platform === 'win32' ? 'FIFOs and /dev/zero are POSIX' : false;
const HANG_MS = 20_000;

function assertRefused(run: CliRun, pattern: RegExp): void {
  assert.notEqual(run.signal, 'SIGKILL', `the reader hung (killed at the harness timeout): ${run.stderr}`);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, pattern);
  assert.doesNotMatch(run.stderr, /internal error|\n\s+at /, 'one clear line, no stack');
}

async function inputs(dir: string): Promise<{ fifo: string; big: string }> {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const big = path.join(dir, 'big.json');
  // Valid JSON, just too much of it: refused by size, not by the parser.
  await writeFile(big, `{"profile": "p"${' '.repeat(1024 * 1024)}}`);
  return { fifo, big };
}

test('--config: a FIFO, /dev/zero, a folder or more than 1 MiB exits 2 naming the file and why (status and serve)', { skip }, async () => {
  await withSandbox(async (dir) => {
    const { fifo, big } = await inputs(dir);
    const env = { APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state') };
    const cases: Array<[string, RegExp]> = [
      [fifo, /--config .*fifo: cannot read it \(it is a fifo, not a regular file\)/],
      ['/dev/zero', /--config \/dev\/zero: cannot read it \(it is a character device, not a regular file\)/],
      [dir, /cannot read it \(it is a directory, not a regular file\)/],
      [big, /--config .*big\.json: cannot read it \(it is 1048592 bytes, over the 1048576-byte limit\)/],
    ];
    for (const [file, pattern] of cases) {
      assertRefused(await runCli(['--config', file, 'status'], { env, timeoutMs: HANG_MS }), pattern);
      assertRefused(await runCli(['--config', file, 'serve', '--port', '0'], { env, timeoutMs: HANG_MS }), pattern);
    }
  });
});

test('the AppStream system variables file as a FIFO does not hang a --role command', { skip }, async () => {
  await withSandbox(async (dir) => {
    const { fifo } = await inputs(dir);
    const run = await runCli(['credential-process', '--role', 'r'], {
      env: {
        APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
        APPSTREAM_CREDS_ROLES: JSON.stringify({ r: { roleArn: 'arn:aws:iam::123456789012:role/R', sessionName: '{user}' } }),
        APPSTREAM_CREDS_SYSTEM_VARS_FILE: fifo,
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
        AWS_CONFIG_FILE: path.join(dir, 'none'),
        APPSTREAM_CREDS_HOME_DIRS: dir,
      },
      timeoutMs: HANG_MS,
    });
    assert.notEqual(run.signal, 'SIGKILL', `credential-process hung on the FIFO: ${run.stderr}`);
    // The FIFO is skipped like a missing file: the command fails for want of a profile, not on it.
    assert.ok(run.code !== null && run.code >= 2 && run.code <= 6, `exit ${run.code}: ${run.stderr}`);
    assert.doesNotMatch(run.stderr, /internal error/);
  });
});

test('kit inputs (policy lint, saml check): a FIFO or /dev/zero exits 2 at once', { skip }, async () => {
  await withSandbox(async (dir) => {
    const { fifo } = await inputs(dir);
    for (const file of [fifo, '/dev/zero']) {
      assertRefused(await runCli(['policy', 'lint', file], { timeoutMs: HANG_MS }), /cannot read policy file .*: it is a (fifo|character device), not a regular file/);
      assertRefused(await runCli(['saml', 'check', file], { timeoutMs: HANG_MS }), /: it is a (fifo|character device), not a regular file/);
    }
  });
});

test('simulate --dir naming a file (or a path through one) exits 2 with the reason, not "internal error"', async () => {
  await withSandbox(async (dir) => {
    const file = path.join(dir, 'afile');
    await writeFile(file, 'x');
    for (const target of [file, path.join(file, 'below')]) {
      assertRefused(await runCli(['simulate', '--dir', target, '--rotations', '1']), /simulate --dir .*afile.*: cannot write .*afile.* \(a part of the path is a file, not a folder\)/);
    }
    // A sandbox whose current.json is a FIFO: --emit fails at once (exit 5: no generation yet).
    const sim = path.join(dir, 'sim');
    await mkdir(path.join(sim, 'simulator'), { recursive: true });
    if (!skip) execFileSync('mkfifo', [path.join(sim, 'simulator', 'current.json')]);
    const emit = await runCli(['simulate', '--dir', sim, '--emit'], { timeoutMs: HANG_MS });
    assert.notEqual(emit.signal, 'SIGKILL', 'simulate --emit hung on a FIFO');
    assert.equal(emit.code, 5, emit.stderr);
  });
});
