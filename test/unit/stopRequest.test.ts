/**
 * Windows' clean `stop` (issue 21 point 5), its two halves on Linux with the real POSIX form of
 * the ownership rule: the agent's watch for <state-dir>/stop-request (acts only on a request
 * naming this run that passes the rule; ignores, logs once and removes anything else) and
 * stopAgent's request path (write, wait with progress, TerminateProcess only at the timeout,
 * and a refused write for an account that may not stop the agent). The whole route runs under
 * Wine in test/windows/startStop.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { discoveryPath, stopRequestPath, type AgentDiscovery } from '../../src/agent/contract.js';
import { encodeStopRequest, parseStopRequest } from '../../src/agent/stopRequest.js';
import { watchStopRequest } from '../../src/daemon/watchStopRequest.js';
import { stopAgent } from '../../src/daemon/startAgent.js';
import { pathTrust } from '../../src/trust/pathTrust.js';
import { daemonPolicy } from '../../src/cli/trustSetup.js';
import { localUsers, notRootReason } from '../helpers/localUsers.js';
import { createFakeClock } from '../helpers/fakeClock.js';
import { withSandbox } from '../helpers/sandbox.js';

const agent = { pid: process.pid, startedAt: '2026-12-04T07:00:00.000Z' };
const rule = { check: pathTrust('linux', daemonPolicy({ strictPermissions: true }, { platform: 'linux', uid: process.getuid?.() })), strict: true };

function recordingLogger() {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (objOrMsg: unknown, msg?: string) => void lines.push({ level, msg: typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '') });
  return { lines, logger: { warn: at('warn'), info: at('info') } as never };
}

const settled = (p: Promise<unknown>, ms: number): Promise<boolean> => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
const gone = async (file: string): Promise<boolean> => lstat(file).then(() => false, () => true);
const waitGone = async (file: string): Promise<void> => {
  for (let i = 0; i < 200 && !(await gone(file)); i += 1) await new Promise((r) => setTimeout(r, 10));
};

describe('the stop request format', () => {
  test('names the agent by pid and start time; anything else is not a request', () => {
    assert.deepEqual(parseStopRequest(encodeStopRequest({ ...agent, url: 'x' } as never)), agent);
    for (const text of ['', 'stop', '{"pid":"1","startedAt":"x"}', '{"pid":1}', '[1]']) assert.equal(parseStopRequest(text), undefined, text);
  });
});

/** A watch on a fresh state folder (`mode`), its log lines, and a way to put a request there. */
async function withWatch(mode: number, fn: (w: { state: string; watch: ReturnType<typeof watchStopRequest>; lines: Array<{ level: string; msg: string }>; plant: (text: string, fileMode?: number) => Promise<void> }) => Promise<void>, strict = true): Promise<void> {
  return withSandbox(async (dir) => {
    await chmod(dir, 0o755);
    const state = path.join(dir, 'state');
    await mkdir(state);
    await chmod(state, mode);
    const { logger, lines } = recordingLogger();
    const watch = watchStopRequest({ stateDir: state, agent, rule: { ...rule, strict }, logger, intervalMs: 10 });
    const plant = async (text: string, fileMode = 0o600): Promise<void> => {
      await writeFile(stopRequestPath(state), text, { mode: 0o600 });
      await chmod(stopRequestPath(state), fileMode);
    };
    try {
      await fn({ state, watch, lines, plant });
    } finally {
      watch.close();
    }
  });
}

describe('the agent watches for a stop request', () => {
  test('one naming this run, written by the agent\'s own account (0600 in its folder), stops it and is removed', async () =>
    withWatch(0o755, async ({ state, watch, plant }) => {
      assert.equal(await settled(watch.requested, 100), false, 'nothing requested yet');
      await plant(encodeStopRequest(agent));
      assert.equal(await watch.requested, 'stop-request');
      await waitGone(stopRequestPath(state));
      assert.ok(await gone(stopRequestPath(state)));
    }));

  test('a request left for another run (other pid, or the same pid started at another time) is removed, not acted on', async () =>
    withWatch(0o755, async ({ state, watch, lines, plant }) => {
      for (const other of [{ ...agent, pid: agent.pid + 1 }, { ...agent, startedAt: '2026-12-03T00:00:00.000Z' }]) {
        await plant(encodeStopRequest(other));
        await waitGone(stopRequestPath(state));
        assert.ok(await gone(stopRequestPath(state)), 'the stale request was removed');
      }
      assert.equal(await settled(watch.requested, 100), false, 'the agent keeps running');
      assert.ok(lines.some((l) => /left for another agent run/.test(l.msg)), JSON.stringify(lines));
    }));

  test('a request the ownership rule refuses (writable by others) is ignored, logged once with the reason, and removed', async () =>
    withWatch(0o755, async ({ state, watch, lines, plant }) => {
      for (let i = 0; i < 2; i += 1) {
        await plant(encodeStopRequest(agent), 0o666);
        await waitGone(stopRequestPath(state));
        assert.ok(await gone(stopRequestPath(state)));
      }
      assert.equal(await settled(watch.requested, 100), false, 'the agent keeps running');
      const ignored = lines.filter((l) => /ignored a stop request/.test(l.msg));
      assert.equal(ignored.length, 1, `logged once: ${JSON.stringify(lines)}`);
      assert.match(ignored[0]!.msg, /stop-request is not trusted: .*writable by every user.*only SYSTEM, Administrators and the agent's account may stop it/);
      assert.equal(ignored[0]!.level, 'warn');
    }));

  test('a request in a folder another account may write is refused, naming the folder', async () =>
    withWatch(0o777, async ({ state, watch, lines, plant }) => {
      await plant(encodeStopRequest(agent));
      await waitGone(stopRequestPath(state));
      assert.equal(await settled(watch.requested, 100), false);
      assert.ok(lines.some((l) => l.msg.includes(`stop-request is not trusted: ${state} is `) && /writable by every user/.test(l.msg)), JSON.stringify(lines));
    }));

  test('garbage at the name is not a request', async () =>
    withWatch(0o755, async ({ state, watch, lines, plant }) => {
      await plant('please stop');
      await waitGone(stopRequestPath(state));
      assert.equal(await settled(watch.requested, 100), false);
      assert.ok(lines.some((l) => /is not a request/.test(l.msg)), JSON.stringify(lines));
    }));

  test('with strictPermissions off a refused request is acted on, with a warning', async () =>
    withWatch(
      0o755,
      async ({ watch, lines, plant }) => {
        await plant(encodeStopRequest(agent), 0o666);
        assert.equal(await watch.requested, 'stop-request');
        assert.ok(lines.some((l) => /acted on anyway because strictPermissions is false/.test(l.msg)), JSON.stringify(lines));
      },
      false,
    ));
});

describe('stop through a request (the Windows route of stopAgent)', () => {
  const discovery = (dir: string): AgentDiscovery => ({ pid: process.pid, url: 'http://127.0.0.1:1', credentialsUrl: 'http://127.0.0.1:1/v1/credentials', tokenFile: path.join(dir, 'token'), imdsEndpoint: null, startedAt: agent.startedAt });
  const trusted = async () => undefined;
  /** stopAgent's Windows route on `dir`, a 10 s timeout on a fake clock unless `over` says otherwise. */
  const stopThrough = (dir: string, over: Partial<Parameters<typeof stopAgent>[0]>) => stopAgent({ stateDir: dir, trust: trusted, clock: createFakeClock(), timeoutMs: 10_000, request: {}, ...over });

  test('writes the request naming the agent (0600), waits for it to exit: stopped, no kill', async () =>
    withSandbox(async (dir) => {
      await writeFile(discoveryPath(dir), JSON.stringify(discovery(dir)));
      const kills: number[] = [];
      const result = await stopThrough(dir, {
        kill: (pid) => void kills.push(pid),
        // The agent: alive until its request is there (then it acts and exits).
        alive: () => !existsSync(stopRequestPath(dir)),
      });
      assert.deepEqual(result, { outcome: 'stopped', pid: process.pid });
      assert.deepEqual(kills, [], 'no TerminateProcess');
    }));

  test('the request on disk names pid and start; an agent that never acts is ended with TerminateProcess at the timeout, with progress, and its agent.json removed', async () =>
    withSandbox(async (dir) => {
      await writeFile(discoveryPath(dir), JSON.stringify(discovery(dir)));
      const kills: Array<[number, string]> = [];
      const progress: string[] = [];
      let seen: string | undefined;
      let seenMode = 0;
      let dead = false;
      const result = await stopThrough(dir, {
        kill: (pid, signal) => {
          kills.push([pid, signal]);
          dead = true;
        },
        alive: () => {
          if (seen === undefined) {
            void readFile(stopRequestPath(dir), 'utf8').then((t) => (seen = t), () => undefined);
            void lstat(stopRequestPath(dir)).then((s) => (seenMode = s.mode & 0o777), () => undefined);
          }
          return !dead;
        },
        onProgress: (message) => progress.push(message),
      });
      assert.equal(result.outcome, 'killed');
      assert.deepEqual(kills, [[process.pid, 'SIGTERM']], 'TerminateProcess (process.kill) once, only after the wait');
      assert.deepEqual(parseStopRequest(seen ?? ''), { pid: process.pid, startedAt: agent.startedAt });
      assert.equal(seenMode, 0o600);
      assert.ok(progress.length >= 2 && progress.every((p) => new RegExp(`waiting for the agent \\(pid ${process.pid}\\) to finish its requests and exit \\(\\d+ s of at most 10 s\\)`).test(p)), JSON.stringify(progress));
      assert.ok(await gone(discoveryPath(dir)), 'agent.json removed for the agent that could not');
      assert.ok(await gone(stopRequestPath(dir)), 'the unanswered request removed');
    }));

  test('SIGTERM (Linux) waits the same way: progress on a long wait, stop-timeout when the agent outlives it', async () =>
    withSandbox(async (dir) => {
      await writeFile(discoveryPath(dir), JSON.stringify(discovery(dir)));
      const signals: string[] = [];
      const progress: string[] = [];
      await assert.rejects(
        stopThrough(dir, { request: undefined, kill: (_pid, signal) => void signals.push(signal), alive: () => true, onProgress: (message) => progress.push(message) }),
        (error: Error & { code?: string }) => error.code === 'stop-timeout' && /did not exit within 10 s of SIGTERM/.test(error.message),
      );
      assert.deepEqual(signals, ['SIGTERM']);
      assert.ok(progress.length >= 2 && progress.every((p) => /^waiting for the agent \(pid \d+\) to finish its requests and exit \(\d+ s of at most 10 s\)$/.test(p)), JSON.stringify(progress));
    }));

  test('an account that may not write the state folder cannot stop the agent: exit 1, no kill tried', { skip: notRootReason() }, async () =>
    withSandbox(async (dir) => {
      await chmod(dir, 0o755);
      await writeFile(discoveryPath(dir), JSON.stringify(discovery(dir)));
      const users = localUsers('s21stop');
      const kills: number[] = [];
      try {
        const hostile = users.user('h');
        // A real second account: this process acts as it (effective uid) for the write only.
        process.seteuid!(hostile.uid);
        let error: unknown;
        try {
          await stopThrough(dir, { kill: (pid) => void kills.push(pid), alive: () => true });
        } catch (caught) {
          error = caught;
        } finally {
          process.seteuid!(0);
        }
        assert.match(String((error as Error)?.message), new RegExp(`cannot stop the agent \\(pid ${process.pid}\\): this account may not write to .* \\(EACCES\\); only SYSTEM, an elevated administrator or the agent's own account may stop it`));
        assert.equal((error as { exitCode: number }).exitCode, 1);
        assert.deepEqual(kills, []);
        assert.ok(await gone(stopRequestPath(dir)));
        assert.ok(!(await gone(discoveryPath(dir))), 'agent.json untouched');
      } finally {
        users.remove();
      }
    }));
});
