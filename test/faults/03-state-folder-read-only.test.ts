/**
 * Fault 3: the state folder turns read-only (or vanishes) before SIGTERM. Must be: cleanup
 * errors are logged and shutdown completes; exit within 5 s of the first signal whatever
 * cleanup does; a second signal exits at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor, type RunningProcess } from '../helpers/daemon.js';
import { mintTriple, replaceFile, startFaultAgent, staticProfile } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const isRoot = process.getuid?.() === 0;

/** Hang guard only: a stuck daemon fails with its log, instead of hanging the suite. */
async function exitOf(agent: RunningProcess, what: string): Promise<number> {
  const code = await Promise.race([agent.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
  if (code === 'hung') {
    agent.child.kill('SIGKILL');
    assert.fail(`${what}: the agent did not exit after SIGTERM: ${agent.output().slice(-2000)}`);
  }
  return code;
}

async function serving(dir: string, extra: { env?: Record<string, string>; args?: string[] } = {}) {
  const rig = await startFaultAgent({ dir, ...extra });
  const c = mintTriple();
  await replaceFile(rig.credentialsFile, staticProfile(c));
  await rig.waitServing(c.id, 'before the fault');
  return rig;
}

test('fault 3a: the state folder vanishes before SIGTERM -> shutdown completes and the agent exits', async () => {
  await withSandbox(async (dir) => {
    const rig = await serving(dir);
    await rm(rig.stateDir, { recursive: true, force: true });
    rig.agent.child.kill('SIGTERM');
    await exitOf(rig.agent, 'vanished state folder');
    assert.match(rig.agent.output(), /"msg":"stopped"/);
  });
});

test('fault 3b: the state folder turns read-only (tmpfs remounted ro) before SIGTERM -> the cleanup error is logged and the agent still exits', async (t) => {
  if (!isRoot || process.platform !== 'linux') return t.skip('needs root to mount and remount a tmpfs read-only (runs in CI as root)');
  await withSandbox(async (dir) => {
    const state = path.join(dir, 'state');
    await mkdir(state, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', `faults-${process.pid}`, state]);
    try {
      const rig = await serving(dir);
      execFileSync('mount', ['-o', 'remount,ro', state]);
      rig.agent.child.kill('SIGTERM');
      const code = await exitOf(rig.agent, 'read-only state folder');
      const log = rig.agent.output();
      assert.match(log, /shutdown: could not remove agent.json/, 'the cleanup error is logged');
      assert.match(log, /EROFS/);
      assert.match(log, /"msg":"stopped"/, 'shutdown completed after the error');
      assert.equal(code, 1, 'an unclean shutdown says so in its exit code');
      assert.doesNotMatch(log, /internal error/);
    } finally {
      execFileSync('umount', ['-l', state]);
    }
  });
});

test('fault 3c: cleanup that never finishes -> the agent exits within its 5 s deadline anyway; a second signal exits at once', async (t) => {
  if (process.platform === 'win32') return t.skip('POSIX signals');
  await withSandbox(async (dir) => {
    // A credential_process that hangs (the timeout is 10 minutes) keeps the event loop busy after the stop.
    const script = path.join(dir, 'hang.sh');
    await writeFile(script, '#!/bin/sh\nexec sleep 600\n', { mode: 0o700 });
    const startHanging = async () => {
      await mkdir(path.join(dir, '.aws'), { recursive: true });
      await writeFile(path.join(dir, '.aws', 'config'), `[profile appstream_machine_role]\ncredential_process = /bin/sh ${script}\n`);
      const rig = await startFaultAgent({ dir, env: { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), APPSTREAM_CREDS_PROCESS_TIMEOUT: '10m' } });
      // The run is in flight once the process exists.
      await waitFor(async () => /"msg":"network ready"/.test(rig.agent.output()), 20_000, () => `never started the source: ${rig.agent.output()}`);
      await new Promise((r) => setTimeout(r, 500));
      return rig;
    };

    const first = await startHanging();
    first.agent.child.kill('SIGTERM');
    await exitOf(first.agent, 'deadline');
    assert.match(first.agent.output(), /shutdown did not complete in time; exiting anyway/);

    const second = await startHanging();
    second.agent.child.kill('SIGTERM');
    await waitFor(async () => /shutting down/.test(second.agent.output()), 10_000, () => 'no "shutting down" line');
    second.agent.child.kill('SIGTERM');
    await exitOf(second.agent, 'second signal');
    assert.match(second.agent.output(), /second signal: exiting at once/);
    assert.doesNotMatch(second.agent.output(), /did not complete in time/, 'the second signal, not the deadline, ended it');
  });
});
