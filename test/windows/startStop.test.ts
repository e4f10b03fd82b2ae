/**
 * The Windows lane, `start` and `stop` (issue 21 point 5): the bundle under the win32 node.exe
 * in Wine, and appstream-creds.exe (the installed product, with native\ beside it), start the
 * agent detached, and `stop` asks it to shut down through
 * <state-dir>/stop-request (process.kill is TerminateProcess on Windows, which left agent.json
 * behind). The agent shuts down as on SIGTERM: agent.json, its lock and the request gone, the
 * process gone, exit 0, no hard kill. A request the ownership rule refuses (writable by
 * Everyone; owned by another account) stops nothing.
 *
 * Not observable under Wine: every Wine process runs as one account (S-1-5-21-0-0-0-1000, an
 * elevated admin), so `stop` run by an account that may not write the state folder, and the
 * agent's protected DACL on that folder, cannot be shown here (test/unit/stopRequest.test.ts
 * shows the refused write with a real second Linux user).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chown, lstat, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { waitFor, type Discovery } from '../helpers/daemon.js';
import { copyExe, runWinCli, runWine, toWinPath, wineLane, type WineRun, type WineRunOptions, wineTempDir } from '../helpers/wine.js';

const { rig, skip } = await wineLane();

const KEY = 'ASIAWINESTARTSTOP001';
const SECRET = 'StartStopSecretStartStopSecretStartStop1';

/** Linux pids of the Wine processes whose command line names `text` (the agent's unique state folder). */
async function linuxPidsWith(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.replace(/\0/g, ' ').includes(text)) pids.push(Number(name));
  }
  return pids;
}

const gone = (file: string): Promise<boolean> => lstat(file).then(() => false, () => true);

/** The CLI as the lane runs it: the bundle on node.exe, or the exe copied with native\ beside it into `dir`. */
interface Program {
  name: string;
  prepare(dir: string): Promise<(args: string[], options: WineRunOptions) => Promise<WineRun>>;
}

const bundle: Program = { name: 'the bundle on node.exe', prepare: async () => (args, options) => runWinCli(rig, args, options) };
const exe: Program = {
  name: 'appstream-creds.exe',
  async prepare(dir) {
    const file = await copyExe(dir);
    return (args, options) => runWine(rig, file, args, options);
  },
};

for (const program of [bundle, exe]) describe(`start and stop under Wine (${program.name})`, { skip }, () => {
  let dir: string;
  let env: Record<string, string>;
  let cli: (args: string[], options: WineRunOptions) => Promise<WineRun>;
  const stateDir = () => path.join(dir, 'state');
  const discovery = async () => JSON.parse(await readFile(path.join(stateDir(), 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | null;
  const startLog = () => readFile(path.join(stateDir(), 'start.log'), 'utf8').catch(() => '');
  const healthy = async () => {
    const d = await discovery();
    return Boolean(d) && (await fetch(`${d!.url}/healthz`).catch(() => undefined))?.status === 200;
  };

  before(async () => {
    dir = await wineTempDir(rig, 'winstart');
    cli = await program.prepare(dir);
    await writeFile(path.join(dir, 'credentials'), `[appstream_machine_role]\r\naws_access_key_id = ${KEY}\r\naws_secret_access_key = ${SECRET}\r\naws_session_token = start+stop/token=\r\n`, { mode: 0o600 });
    // allowUsers "*": Wine names no owner for any socket (pid 0), see daemon.test.ts.
    env = {
      AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, 'credentials')),
      AWS_CONFIG_FILE: toWinPath(path.join(dir, 'config')),
      APPSTREAM_CREDS_STATE_DIR: toWinPath(stateDir()),
      APPSTREAM_CREDS_ALLOW_USERS: '*',
    };
  });

  after(async () => {
    // Whatever failed, no agent of this file outlives it.
    if (!dir) return;
    for (const pid of await linuxPidsWith(toWinPath(stateDir()))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('start runs the agent detached from the calling process; it serves', async () => {
    // appstream-creds.exe is its own program: start runs it as `serve` (its argv[1] is itself, not a script).
    const run = await cli(['start', '--port', '0', '--timeout', '90s', '--json'], { env, timeoutMs: 180_000 });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}\n${await startLog()}`);
    const info = JSON.parse(run.stdout) as { outcome: string; pid: number };
    assert.equal(info.outcome, 'started');
    assert.equal((await discovery())?.pid, info.pid);
    assert.ok(await healthy(), 'the agent serves after start has exited');
    assert.equal((await linuxPidsWith(toWinPath(stateDir()))).length > 0, true, 'the agent process runs');
  });

  // The agent's own logic, the same in both programs: registered once, on the bundle.
  if (program !== exe) test('a stop request the ownership rule refuses stops nothing: writable by Everyone, or owned by another account', async () => {
    const d = (await discovery())!;
    const request = path.join(stateDir(), 'stop-request');
    const plant = async (how: (file: string) => Promise<void>, reason: RegExp) => {
      await writeFile(request, `${JSON.stringify({ pid: d.pid, startedAt: d.startedAt })}\n`, { mode: 0o600 });
      await how(request);
      // The agent looks at it, logs why it is ignored, and removes it.
      await waitFor(async () => reason.test(await startLog()) && (await gone(request)), 30_000, () => `the agent did not report the refused request: ${request} ${reason}`);
      assert.ok(await healthy(), 'the agent still serves');
      assert.equal((await discovery())?.pid, d.pid);
    };
    await plant((file) => chmod(file, 0o666), /ignored a stop request: .*stop-request is not trusted: writable by Everyone \(S-1-1-0\)/);
    if (process.getuid?.() === 0) {
      // Another Unix user's file is owned by ANONYMOUS LOGON (S-1-5-7) under Wine.
      await plant((file) => chown(file, 65534, 65534), /ignored a stop request: .*stop-request is not trusted: owned by .*S-1-5-7/);
    }
  });

  test('stop asks the agent to shut down: exit 0, agent.json, lock and request gone, the process gone, no hard kill', async () => {
    const d = (await discovery())!;
    const run = await cli(['stop', '--timeout', '30s'], { env, timeoutMs: 120_000 });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(run.stdout.trim(), `agent stopped (pid ${d.pid})`);
    assert.doesNotMatch(run.stderr, /TerminateProcess/, 'not ended hard');
    assert.ok(await gone(path.join(stateDir(), 'agent.json')), 'agent.json removed by the agent');
    assert.ok(await gone(path.join(stateDir(), 'agent.lock')), 'its lock released (a hard kill leaves it)');
    assert.ok(await gone(path.join(stateDir(), 'stop-request')), 'the request consumed');
    await waitFor(async () => (await linuxPidsWith(toWinPath(stateDir()))).length === 0, 15_000, () => 'the agent process is still there');
    const log = await startLog();
    assert.match(log, /"reason":"stop-request".*"msg":"shutting down"/);
    assert.match(log, /"clean":true.*"msg":"stopped"/);
    const again = await cli(['stop'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^no agent running for /);
  });
});
