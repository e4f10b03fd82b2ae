/**
 * Acceptance point 6: the discovery file's lifecycle, the token file's permissions, one agent
 * per state dir, and a clean SIGTERM under load (in-flight requests finish, agent.json goes,
 * exit 0, promptly).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startCli, startSandboxAgent, waitFor, type Discovery, type SandboxAgent } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { assertNoSecrets, watchSecrets } from '../helpers/secrets.js';

let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;
let watcher: ReturnType<typeof watchSecrets>;
let startRequestedAt: number;

before(async () => {
  sandbox = await makeSandbox();
  startRequestedAt = Date.now();
  agent = await startSandboxAgent({ dir: sandbox.dir, form: 'static', refreshInterval: '2s', validity: '12s' });
  watcher = watchSecrets(sandbox.dir, 100);
});

after(async () => {
  try {
    await watcher?.stop();
    // The last test stops it and reports a leak; here only what is left after a failure.
    await agent?.stop().catch(() => undefined);
  } finally {
    await sandbox?.cleanup();
  }
});

const agentEnv = (): Record<string, string> => ({ AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile });
const readDiscovery = async (stateDir: string): Promise<Discovery | null> =>
  JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | null;

test('agent.json has exactly the contract keys; the token file is 0600 and holds at least 256 bits of hex', async () => {
  const discovery = await readDiscovery(agent.stateDir);
  assert.ok(discovery);
  assert.deepEqual(Object.keys(discovery).sort(), ['credentialsUrl', 'imdsEndpoint', 'pid', 'startedAt', 'tokenFile', 'url']);
  assert.equal(discovery.pid, agent.agent.child.pid);
  assert.match(discovery.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(discovery.credentialsUrl, `${discovery.url}/v1/credentials`);
  assert.equal(discovery.tokenFile, path.join(agent.stateDir, 'token'));
  assert.equal(discovery.imdsEndpoint, null, 'IMDS is off unless --imds');
  // Written by this agent: not before the test started it, not in the future.
  const startedAt = Date.parse(discovery.startedAt);
  assert.ok(startedAt >= Math.floor(startRequestedAt / 1000) * 1000 - 1000 && startedAt <= Date.now(), `startedAt ${discovery.startedAt}`);

  const info = await stat(discovery.tokenFile);
  assert.equal(info.mode & 0o777, 0o600, `token file mode ${(info.mode & 0o777).toString(8)}`);
  if (typeof process.getuid === 'function') assert.equal(info.uid, process.getuid());
  const token = (await readFile(discovery.tokenFile, 'utf8')).trim();
  assert.match(token, /^[0-9a-f]{64,}$/, 'at least 64 hex characters (256 bits)');
  assert.equal(token, agent.token);
});

test('a second serve on the same state dir is refused with exit 1 and one clear line; the first keeps serving', async (t) => {
  const before = await readDiscovery(agent.stateDir);
  const second = await runCli(['serve', '--state-dir', agent.stateDir, '--port', '0'], { env: agentEnv(), timeoutMs: 60_000 });
  t.diagnostic(`second serve refused: ${second.stderr.trim()}`);
  assert.equal(second.code, 1, `exit code (stderr: ${second.stderr})`);
  assert.equal(second.stdout, '');
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${second.stderr}`);
  assert.match(lines[0]!, new RegExp(`another agent \\(pid ${agent.agent.child.pid}\\) is serving from`));
  assert.ok(lines[0]!.includes(agent.stateDir), 'names the state dir');
  assert.deepEqual(await readDiscovery(agent.stateDir), before, 'agent.json untouched');
  assert.equal((await readFile(path.join(agent.stateDir, 'token'), 'utf8')).trim(), agent.token, 'token untouched');
  assert.equal((await fetch(`${agent.discovery.url}/healthz`)).status, 200);
});

test('a stale agent.json (its agent was killed) does not block a new agent, which replaces it', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  const stateDir = path.join(dir, 'state');
  const args = ['serve', '--state-dir', stateDir, '--port', '0'];
  const first = startCli(args, agentEnv());
  let second: ReturnType<typeof startCli> | undefined;
  try {
    await waitFor(async () => (await readDiscovery(stateDir))?.pid === first.child.pid, 15_000, () => first.output());
    await first.stop('SIGKILL');
    const stale = await readDiscovery(stateDir);
    assert.equal(stale?.pid, first.child.pid, 'a killed agent leaves its agent.json behind');
    second = startCli(args, agentEnv());
    const running = second;
    await waitFor(async () => (await readDiscovery(stateDir))?.pid === running.child.pid, 15_000, () => `the new agent did not take over: ${running.output()}`);
    const fresh = await readDiscovery(stateDir);
    assert.notEqual(fresh!.startedAt, stale!.startedAt);
    await waitFor(async () => (await fetch(`${fresh!.url}/healthz`)).status === 200, 15_000, () => `the new agent never became healthy: ${running.output()}`);
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.equal(await readDiscovery(stateDir), null, 'removed on clean shutdown');
    t.diagnostic('stale agent.json replaced, then removed on SIGTERM');
  } finally {
    await first.stop('SIGKILL');
    await second?.stop('SIGKILL');
    await cleanup();
  }
});

test('SIGTERM with a half-sent request and a trickling client: the request is answered, the trickler cannot hold the exit', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  const stateDir = path.join(dir, 'state');
  const server = startCli(['serve', '--state-dir', stateDir, '--port', '0'], agentEnv());
  const sockets: net.Socket[] = [];
  try {
    await waitFor(async () => (await readDiscovery(stateDir))?.pid === server.child.pid, 15_000, () => server.output());
    const discovery = (await readDiscovery(stateDir))!;
    const token = (await readFile(discovery.tokenFile, 'utf8')).trim();
    await waitFor(async () => (await fetch(`${discovery.url}/healthz`)).status === 200, 15_000, () => server.output());
    const open = async (): Promise<{ socket: net.Socket; closed: Promise<string> }> => {
      const socket = net.connect(Number(new URL(discovery.url).port), '127.0.0.1');
      sockets.push(socket);
      await new Promise((r) => socket.once('connect', r));
      let received = '';
      socket.setEncoding('utf8').on('data', (d: string) => (received += d));
      socket.on('error', () => undefined);
      return { socket, closed: new Promise((r) => socket.on('close', () => r(received))) };
    };
    const half = await open();
    half.socket.write('GET /v1/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickler = await open();
    trickler.socket.write('GET /healthz HTTP/1.1\r\n');
    // The trickler never finishes its headers: only the agent's own shutdown can end it.
    const drip = setInterval(() => trickler.socket.writable && trickler.socket.write('X'), 200);
    server.child.kill('SIGTERM');
    // Once agent.json is gone the agent is stopping and no longer accepting: finish the half-sent request now.
    await waitFor(async () => (await readDiscovery(stateDir)) === null, 30_000, () => `hang guard: agent.json stayed after SIGTERM: ${server.output()}`);
    half.socket.write(`Authorization: ${token}\r\nConnection: close\r\n\r\n`);
    const answer = await half.closed;
    const code = await Promise.race([server.exited, new Promise<string>((r) => setTimeout(() => r('hang guard: no exit within 60 s'), 60_000))]);
    clearInterval(drip);
    await trickler.closed;
    t.diagnostic(`exit ${code} with a trickling client connected; half-sent request got: ${JSON.stringify(answer.split('\r\n')[0] ?? '')}`);
    assert.equal(code, 0, 'the trickling client held the exit');
    // The request had begun before the signal: it is answered in full.
    assert.match(answer, /^HTTP\/1\.1 200 /, `the request in progress at SIGTERM was not answered: ${JSON.stringify(answer.slice(0, 200))}`);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { AccessKeyId?: string };
    assert.match(body.AccessKeyId ?? '', /^ASIA/, 'a complete credentials body');
    assert.ok(server.output().indexOf('"msg":"stopped"') > server.output().indexOf('shutting down'));
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop('SIGKILL');
    await cleanup();
  }
});

interface Rec {
  loop: number;
  sentAt: number;
  responseAt?: number;
  doneAt?: number;
  status?: number;
  complete?: boolean;
  errorAt?: number;
  error?: string;
}

function request(url: string, token: string, loop: number, httpAgent: http.Agent | false): Promise<Rec> {
  const rec: Rec = { loop, sentAt: Date.now() };
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { authorization: token }, agent: httpAgent, timeout: 15_000 }, (res) => {
      rec.responseAt = Date.now();
      rec.status = res.statusCode;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        rec.doneAt = Date.now();
        try {
          rec.complete = typeof (JSON.parse(body) as { AccessKeyId?: unknown }).AccessKeyId === 'string';
        } catch {
          rec.complete = false;
        }
        resolve(rec);
      });
      res.on('error', (e: NodeJS.ErrnoException) => {
        rec.errorAt = Date.now();
        rec.error = e.code ?? e.message;
        resolve(rec);
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (rec.errorAt !== undefined || rec.doneAt !== undefined) return;
      rec.errorAt = Date.now();
      rec.error = e.code ?? e.message;
      resolve(rec);
    });
  });
}

test('SIGTERM under load: in-flight requests complete, agent.json is removed, exit 0', async (t) => {
  const records: Rec[] = [];
  let exited = false;
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const loops = Array.from({ length: 16 }, async (_, loop) => {
    // Half reuse keep-alive connections, half open a new connection per request.
    const httpAgent = loop % 2 === 0 ? keepAlive : false;
    while (!exited) {
      const rec = await request(agent.discovery.credentialsUrl, agent.token, loop, httpAgent);
      records.push(rec);
      if (rec.error) break; // connection refused/reset: the server is gone
    }
  });
  let signalledAt = 0;
  let code: number | undefined;
  try {
    await waitFor(async () => records.filter((r) => r.status === 200).length >= 200, 15_000, () => `load never got going: ${records.length} requests`);
    signalledAt = Date.now();
    agent.agent.child.kill('SIGTERM');
    code = await Promise.race([agent.agent.exited, new Promise<number>((r) => setTimeout(() => r(-1), 60_000))]);
  } finally {
    exited = true;
    await Promise.all(loops);
    keepAlive.destroy();
  }
  const beforeSignal = records.filter((r) => r.sentAt < signalledAt);
  const inFlight = beforeSignal.filter((r) => (r.doneAt ?? r.errorAt ?? 0) >= signalledAt);
  const afterSignal = records.filter((r) => r.sentAt >= signalledAt);
  const errors = records.filter((r) => r.error);
  const errorCodes = [...new Set(errors.map((r) => r.error))].join(', ') || 'none';
  const firstError = Math.min(...errors.map((r) => r.errorAt!));
  t.diagnostic(`exit ${code} after SIGTERM; ${records.length} requests (${beforeSignal.length} sent before the signal, ${inFlight.length} of them in flight at it, ${afterSignal.length} after)`);
  const droppedEarly = beforeSignal.filter((r) => r.error).length;
  t.diagnostic(`sent before the signal but answered by a connection error (not yet read by the server): ${droppedEarly}`);
  t.diagnostic(`after the signal: ${records.filter((r) => r.sentAt >= signalledAt && r.status === 200).length} more 200s; connection errors: ${errors.length} (${errorCodes}), first ${Number.isFinite(firstError) ? firstError - signalledAt : '-'} ms after the signal`);

  assert.equal(code, 0, `${code === -1 ? 'hang guard: no exit within 60 s of SIGTERM; ' : ''}${agent.agent.output().slice(-2000)}`);
  assert.equal(await readDiscovery(agent.stateDir), null, 'agent.json removed on shutdown');

  for (const r of records) {
    // Nothing is cut: a request that started receiving a response received all of it.
    if (r.responseAt !== undefined) {
      assert.equal(r.error, undefined, `loop ${r.loop}: a response was cut (${r.error}) ${r.errorAt! - signalledAt} ms after the signal`);
      assert.equal(r.status, 200, `loop ${r.loop}: status ${r.status}`);
      assert.ok(r.complete, `loop ${r.loop}: incomplete credentials body`);
    } else {
      // A request without a response only failed at the connection level, and only after the signal.
      assert.ok(r.error && r.error !== 'CLIENT_TIMEOUT', `loop ${r.loop}: neither a response nor a connection error (${r.error})`);
      assert.ok(r.errorAt! >= signalledAt, `loop ${r.loop}: connection error ${r.error} ${signalledAt - r.errorAt!} ms before the signal`);
    }
  }
  assert.ok(beforeSignal.every((r) => r.status === 200 || r.errorAt! >= signalledAt));
  assert.match(agent.agent.output(), /shutting down/);
  assert.match(agent.agent.output(), /"msg":"stopped"/);
});

test('two agents started at the same moment on one state dir: exactly one keeps serving', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  const stateDir = path.join(dir, 'state');
  const args = ['serve', '--state-dir', stateDir, '--port', '0'];
  const a = startCli(args, agentEnv());
  const b = startCli(args, agentEnv());
  try {
    const loser = await Promise.race([a.exited.then(() => a), b.exited.then(() => b)]);
    const winner = loser === a ? b : a;
    assert.equal(await loser.exited, 1, loser.output());
    assert.match(loser.output(), /another agent \(pid \d+\) is serving from/);
    await waitFor(async () => (await readDiscovery(stateDir))?.pid === winner.child.pid, 15_000, () => winner.output());
    assert.equal(winner.child.exitCode, null, 'the winner is still running');
    t.diagnostic(`pid ${winner.child.pid} won; pid ${loser.child.pid} refused`);
  } finally {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    await cleanup();
  }
});

test('the shared agent logged no secret or token over all of the above', async () => {
  const secrets = await watcher.stop();
  // stop() rejects when the helper's scan finds a secret in its output.
  await agent.stop();
  assertNoSecrets(agent.agent.output(), secrets, 'agent log');
});
