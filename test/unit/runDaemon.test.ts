/**
 * runDaemon through its injected dependencies: a scripted network (so the periodic ENI
 * re-check can lose and regain the network on a 1 s networkCheckInterval), a fixed source,
 * and injected stop promises (so the second stop request can be told from the grace period,
 * which is set far beyond any hang guard here). Real HTTP server, real temp state folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { runDaemon, type DaemonDeps } from '../../src/daemon/runDaemon.js';
import { loadSettings } from '../../src/config/loadSettings.js';
import { createLogger } from '../../src/log/createLogger.js';
import { systemClock } from '../../src/clock.js';
import type { NetworkSnapshot } from '../../src/network/types.js';
import { logCapture } from '../helpers/logCapture.js';
import { withSandbox } from '../helpers/sandbox.js';
import { pathTrust } from '../../src/trust/pathTrust.js';
import { trustPolicy } from '../../src/trust/trustPolicy.js';
import { waitFor } from '../helpers/daemon.js';

const LO = { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ipv4: ['127.0.0.1'], internal: true };
const ENI = { name: 'eth1', mac: '0a:1b:2c:3d:4e:5f', operstate: 'up', ipv4: ['10.0.1.25'], internal: false };
const UP: NetworkSnapshot = { interfaces: [LO, ENI], defaultRouteInterface: 'eth1' };
const DOWN: NetworkSnapshot = { interfaces: [LO, { ...ENI, operstate: 'down' }], defaultRouteInterface: undefined };
/** Hang guard for each awaited step: far above what any step needs, with a message that says which. */
const GUARD_MS = 30_000;

interface Harness {
  deps: DaemonDeps;
  lines: Array<Record<string, unknown>>;
  stop: (reason?: string) => void;
  force: () => void;
  discovery: () => Promise<{ url: string; tokenFile: string }>;
  setNetwork: (snapshot: NetworkSnapshot) => void;
}

async function harness(dir: string, extra: Partial<DaemonDeps> = {}): Promise<Harness> {
  const stateDir = path.join(dir, 'state');
  const settings = loadSettings({ flags: { stateDir, port: 0, networkCheckInterval: '1s' }, env: {}, platform: 'linux', readFile: () => '' });
  const { lines, sink } = logCapture();
  const logger = await createLogger({ level: 'debug', destination: sink });
  let stop: (reason: string) => void = () => {};
  let force: () => void = () => {};
  let network = UP;
  const deps: DaemonDeps = {
    settings,
    clock: systemClock,
    logger,
    source: {
      resolve: async () => ({
        credentials: { accessKeyId: 'ASIAUNITDAEMON000001', secretAccessKey: 's'.repeat(40), sessionToken: 'token', expiration: new Date(Date.now() + 3_600_000) },
        origin: 'unit test source',
      }),
    },
    readNetwork: async () => network,
    // The caller check has its own tests (createAgentServer, callerCheck e2e); here every caller is root.
    peerUser: async () => ({ kind: 'user', uid: 0, gids: [] }),
    agentUid: 0,
    folderRule: { check: pathTrust('linux', trustPolicy({ owners: [], uid: process.getuid!(), strict: true, passwd: '' })), strict: true },
    stopSignal: new Promise<string>((resolve) => (stop = resolve)),
    forceStop: new Promise<void>((resolve) => (force = resolve)),
    ...extra,
  };
  return {
    deps,
    lines,
    stop: (reason = 'SIGTERM') => stop(reason),
    force: () => force(),
    discovery: async () => JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8')) as { url: string; tokenFile: string },
    setNetwork: (snapshot) => (network = snapshot),
  };
}

/** Fails with `what` when `promise` does not settle within GUARD_MS. */
async function guarded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hang guard (${GUARD_MS / 1000} s): ${what}`)), GUARD_MS)));
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

const messages = (lines: Array<Record<string, unknown>>): string[] => lines.map((l) => String(l.msg));

test('the periodic ENI re-check reports the network lost, then back, in /v1/status and the log', async () => {
  await withSandbox(async (dir) => {
    const h = await harness(dir);
    const running = runDaemon(h.deps);
    try {
      await waitFor(async () => messages(h.lines).includes('network ready'), GUARD_MS, () => `never ready: ${messages(h.lines).join(' | ')}`);
      const { url, tokenFile } = await h.discovery();
      const token = (await readFile(tokenFile, 'utf8')).trim();
      const status = async () => ((await (await fetch(`${url}/v1/status`, { headers: { authorization: token } })).json()) as { network: { ready: boolean; reason: string } }).network;
      assert.equal((await status()).ready, true);

      h.setNetwork(DOWN);
      await waitFor(async () => (await status()).ready === false, GUARD_MS, () => `the re-check never saw the ENI go: ${messages(h.lines).join(' | ')}`);
      assert.match((await status()).reason, /eth1 .*not up/);
      h.setNetwork(UP);
      await waitFor(async () => (await status()).ready === true, GUARD_MS, () => `the re-check never saw the ENI come back: ${messages(h.lines).join(' | ')}`);

      const log = messages(h.lines);
      const lost = log.findIndex((m) => m.startsWith('network lost: '));
      const back = log.indexOf('network back');
      assert.ok(lost > log.indexOf('network ready') && back > lost, `order ready -> lost -> back: ${log.join(' | ')}`);
      assert.equal(log.filter((m) => m.startsWith('network lost')).length, 1, 'a lost network is logged once, not on every check');
      assert.equal(h.lines[lost]!.level, 40, 'network lost is a warning');
      // Credentials stay served: the last good ones are still valid.
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      h.stop();
      assert.equal(await running, 0);
    }
  });
});

test('a second stop request drops a connection the graceful stop would wait for', async () => {
  await withSandbox(async (dir) => {
    // The grace period is far longer than every guard below: only the second request can end this.
    const h = await harness(dir, { shutdownGraceMs: 600_000 });
    let settled = false;
    const running = runDaemon(h.deps).finally(() => (settled = true));
    await waitFor(async () => messages(h.lines).includes('agent listening'), GUARD_MS, () => `never listened: ${messages(h.lines).join(' | ')}`);
    const { url } = await h.discovery();
    // A request whose headers keep trickling in: never idle, so server.close() waits for it, and
    // the activity keeps the server's own idle timeout from ending it.
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.setEncoding('utf8').on('data', (d: string) => (received += d));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ');
    const drip = setInterval(() => socket.writable && socket.write('x'), 500);
    try {
      h.stop();
      // agent.json goes before the server closes: once it is gone the graceful stop is waiting.
      await waitFor(async () => access(path.join(dir, 'state', 'agent.json')).then(() => false, () => true), GUARD_MS, () => 'agent.json was not removed on the first stop request');
      assert.ok(messages(h.lines).includes('shutting down'));
      // A few drips later the connection is still open and the daemon still stopping.
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(settled, false, 'the graceful stop did not wait for the request in progress');
      assert.equal(socket.destroyed, false);

      h.force();
      assert.equal(await guarded(running, 'the daemon did not stop after the second stop request'), 0);
      await guarded(closed, 'the open connection was not dropped');
      assert.equal(received, '', 'dropped, not answered');
      const log = messages(h.lines);
      assert.ok(log.indexOf('second stop request: dropping open connections') > log.indexOf('shutting down'));
      assert.equal(log.at(-1), 'stopped');
    } finally {
      clearInterval(drip);
      socket.destroy();
      h.stop();
      h.force();
      await running;
    }
  });
});
