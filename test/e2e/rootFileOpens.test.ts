/**
 * Issue 19 point 4, as a real second user (CI is root): where a user could prepare a folder
 * before root takes it over (`install -d -o user DIR`, then `chown root`), a symlink planted
 * there must not make root's agent write into a root-only file. Root's `start` used to open
 * <state-dir>/start.log with 'w' before judging the folder; `serve` with a logDir let pino-roll
 * open a planted appstream-creds.<date>.1.log by path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, runProgram } from '../helpers/cli.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';

const skip = notRootReason();
const SECRET = 'ROOT ONLY: nothing of the agent may land here\n';
let accounts: LocalUsers | undefined;
let user: { name: string; uid: number } | undefined;
let sandbox: { dir: string; cleanup: () => Promise<void> } | undefined;

before(async () => {
  if (skip) return;
  accounts = localUsers('rfo');
  user = accounts.user('u');
  sandbox = await makeSandbox();
  // Traversable by the user; still root's and not writable by others, so folders below can be trusted.
  await chmod(sandbox.dir, 0o755);
});

after(async () => {
  await sandbox?.cleanup();
  accounts?.remove();
});

/** A root-only file, and a folder the user made (and filled) that root then takes over. */
async function preparedByUser(name: string, plant: (dir: string, target: string) => string[]): Promise<{ dir: string; target: string }> {
  const target = path.join(sandbox!.dir, `${name}-root-only`);
  await writeFile(target, SECRET, { mode: 0o600 });
  const dir = path.join(sandbox!.dir, name);
  await mkdir(dir, { mode: 0o755 });
  await chown(dir, user!.uid, -1);
  for (const link of plant(dir, target)) {
    const run = await runProgram('runuser', ['-u', user!.name, '--', 'ln', '-s', target, link], { cwd: '/' });
    assert.equal(run.code, 0, run.stderr);
  }
  // Root takes the folder over, as a setup script would after `install -d`.
  await chown(dir, 0, 0);
  await chmod(dir, 0o755);
  return { dir, target };
}

test('start: a start.log symlink the user planted is replaced, never followed; the root-only file is untouched', { skip }, async () => {
  const { dir: stateDir, target } = await preparedByUser('state', (dir) => [path.join(dir, 'start.log')]);
  const sim = path.join(sandbox!.dir, 'sim');
  const simRun = await runCli(['simulate', '--dir', sim, '--rotations', '1', '--validity', '6h']);
  assert.equal(simRun.code, 0, simRun.stderr);
  const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(sim, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(sim, '.aws', 'config'), APPSTREAM_CREDS_LOG_LEVEL: 'info' };
  const start = await runCli(['--state-dir', stateDir, 'start', '--port', '0', '--timeout', '30s'], { env, timeoutMs: 60_000 });
  try {
    assert.equal(start.code, 0, start.stderr);
    assert.equal(await readFile(target, 'utf8'), SECRET, 'the root-only file got nothing');
    const log = await lstat(path.join(stateDir, 'start.log'));
    assert.ok(log.isFile() && !log.isSymbolicLink(), 'start.log is a file of its own');
    assert.equal(log.uid, 0);
    assert.equal(log.mode & 0o777, 0o600);
    assert.match(await readFile(path.join(stateDir, 'start.log'), 'utf8'), /agent listening/, "the agent's output went to its own start.log");
  } finally {
    await runCli(['--state-dir', stateDir, 'stop'], { env });
  }
});

test('start: a state folder the user still owns is refused before start.log is touched (exit 2)', { skip }, async () => {
  const target = path.join(sandbox!.dir, 'owned-root-only');
  await writeFile(target, SECRET, { mode: 0o600 });
  const stateDir = path.join(sandbox!.dir, 'owned');
  await mkdir(stateDir, { mode: 0o755 });
  await chown(stateDir, user!.uid, -1);
  const link = await runProgram('runuser', ['-u', user!.name, '--', 'ln', '-s', target, path.join(stateDir, 'start.log')], { cwd: '/' });
  assert.equal(link.code, 0, link.stderr);
  const start = await runCli(['--state-dir', stateDir, 'start', '--port', '0', '--timeout', '10s'], { timeoutMs: 60_000 });
  assert.equal(start.code, 2, start.stderr);
  assert.match(start.stderr, /state folder .*owned.* is not trusted: a folder owned by uid \d+/);
  assert.equal(await readFile(target, 'utf8'), SECRET);
});

test('serve with logDir: a planted log-file symlink is refused (exit 2, naming it); the root-only file is untouched', { skip }, async () => {
  // Any name pino-roll could open: today's in UTC and local time, and the undated form.
  const day = (d: Date, local: boolean): string =>
    local ? `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}` : d.toISOString().slice(0, 10);
  const now = new Date();
  const names = [...new Set([`appstream-creds.${day(now, false)}.1.log`, `appstream-creds.${day(now, true)}.1.log`, 'appstream-creds.1.log'])];
  const { dir: logDir, target } = await preparedByUser('logs', (dir) => names.map((n) => path.join(dir, n)));
  const serve = await runCli(['--state-dir', path.join(sandbox!.dir, 'serve-state'), 'serve', '--port', '0'], { env: { APPSTREAM_CREDS_LOG_DIR: logDir }, timeoutMs: 30_000 });
  assert.notEqual(serve.signal, 'SIGKILL', `serve started on a planted log folder: ${serve.stderr}`);
  assert.equal(serve.code, 2, serve.stderr);
  assert.match(serve.stderr, /logDir .*logs: appstream-creds\.\S+\.log is a symbolic link, not a regular file: not a log file this agent wrote/);
  assert.equal(await readFile(target, 'utf8'), SECRET, 'the root-only file got nothing');
  for (const name of await readdir(logDir)) assert.ok((await lstat(path.join(logDir, name))).isSymbolicLink(), `${name}: nothing new was created`);
});
