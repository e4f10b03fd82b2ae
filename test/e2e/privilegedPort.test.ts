/**
 * Issue 19 point 7, through the built CLI inside a network namespace made here (so the fixed
 * default port never meets another test's): on Linux the agent's default port is privileged.
 * Root's `serve` without --port listens there; while it is down, a second local user (useradd)
 * cannot take the port, so no client's token can reach a squatter (nor IMDS's own port, 921, so
 * no IMDS caller's request); that user's own `serve`
 * without --port exits 1 with what to do (no stack trace).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, runProgram } from '../helpers/cli.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { startCli, waitFor, type RunningProcess } from '../helpers/daemon.js';
import { createNetns, netnsSkipReason, type Netns } from '../helpers/netns.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';
import { chmod, chown, mkdir } from 'node:fs/promises';

const skip = notRootReason() || (await netnsSkipReason()) || false;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let ns: Netns;
let accounts: LocalUsers;
let stranger: { name: string; uid: number };
let agent: RunningProcess | undefined;

before(async () => {
  if (skip) return;
  sandbox = await makeSandbox();
  await chmod(sandbox.dir, 0o755);
  ns = await createNetns();
  accounts = localUsers('privp');
  stranger = accounts.user('s');
});

after(async () => {
  if (skip) return;
  await agent?.stop();
  await ns?.destroy();
  await sandbox?.cleanup();
  accounts?.remove();
});

/** Tries to listen on 127.0.0.1:PORT inside the namespace as the second user; prints LISTENING or the error code. */
const tryListen = (port: number) =>
  runProgram('ip', ['netns', 'exec', ns.name, 'runuser', '-u', stranger.name, '--', process.execPath, '-e', `require('net').createServer().on('error', (e) => { console.log(e.code); process.exit(0); }).listen(${port}, '127.0.0.1', () => { console.log('LISTENING'); process.exit(0); })`], { cwd: '/', timeoutMs: 30_000 });

let defaultPort: number;
let imdsPort: number;

test('root\'s serve without --port listens on a privileged port, and with --imds on a privileged IMDS port next to it', { skip }, async () => {
  const stateDir = path.join(sandbox.dir, 'state');
  agent = startCli(['serve', '--state-dir', stateDir, '--imds'], { AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox.dir, 'none'), APPSTREAM_CREDS_PORT: undefined, APPSTREAM_CREDS_IMDS_PORT: undefined }, { launcher: (argv) => ({ command: 'ip', args: ['netns', 'exec', ns.name, ...argv] }) });
  let found: { url?: string; imdsEndpoint?: string } = {};
  await waitFor(async () => Boolean((found = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => '{}')) as typeof found).url), 15_000, () => `no agent.json: ${agent!.output()}`);
  defaultPort = Number(new URL(found.url!).port);
  assert.ok(defaultPort > 0 && defaultPort < 1024, `default port ${defaultPort}`);
  assert.equal(defaultPort, 920);
  imdsPort = Number(new URL(found.imdsEndpoint!).port);
  assert.equal(imdsPort, 921, 'IMDS has its own port, privileged too');
});

test('while the agent is down, a second user cannot take its default port', { skip }, async () => {
  assert.ok(defaultPort, 'the first test found the port');
  assert.ok(defaultPort < 1024, `the default port ${defaultPort} is not privileged`);
  await agent!.stop();
  agent = undefined;
  for (const port of [defaultPort, imdsPort]) {
    const run = await tryListen(port);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'EACCES', `only root or CAP_NET_BIND_SERVICE may listen on ${port}`);
  }
});

test('the second user\'s serve without --port exits 1 saying the port is privileged and what to do', { skip }, async () => {
  // A default the user could bind would leave this serve running: fail first instead.
  assert.ok(defaultPort > 0 && defaultPort < 1024, `the default port ${defaultPort} is not privileged`);
  const prefix = ['ip', 'netns', 'exec', ns.name, 'runuser', '-u', stranger.name, '--'];
  const stateDir = path.join(sandbox.dir, 'user-state');
  await mkdir(stateDir, { mode: 0o755 });
  await chown(stateDir, stranger.uid, 0);
  const run = await runCli(['serve', '--state-dir', stateDir], { prefix, cwd: '/', env: { AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox.dir, 'none'), APPSTREAM_CREDS_PORT: undefined }, timeoutMs: 30_000 });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /port 920 is privileged: run the agent as root or with CAP_NET_BIND_SERVICE/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});
