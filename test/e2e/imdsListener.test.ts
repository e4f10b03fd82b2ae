/**
 * Issue 19 point 1, "no shared queue": IMDS emulation has a listener of its own (imdsEndpoint,
 * setting imdsPort), so a local user who fills IMDS's accept queue cannot make the kernel drop
 * root's connection to the token routes. Through the real daemon (as root) and a real second
 * user (useradd): the user holds IMDS's accept queue full while the agent is stopped (SIGSTOP,
 * so nothing drains it), and root's connection to the agent's port is still accepted by the
 * kernel and, once the agent runs again, answered with the served key. Also: IMDS routes answer
 * only on IMDS's port, the token routes only on the agent's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { startSandboxAgent, waitFor, type SandboxAgent } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { rawRequest } from '../helpers/clients.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';

const skip = notRootReason();
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;
let accounts: LocalUsers;
let stranger: { name: string; uid: number };

before(async () => {
  if (skip) return;
  accounts = localUsers('imdsq');
  try {
    stranger = accounts.user('s');
    sandbox = await makeSandbox();
    agent = await startSandboxAgent({ dir: sandbox.dir, refreshInterval: '1h', validity: '2h', imds: true });
  } catch (error) {
    accounts.remove();
    throw error;
  }
});

after(async () => {
  if (skip) return;
  await agent?.stop();
  await sandbox?.cleanup();
  accounts.remove();
});

const portOf = (url: string): number => Number(new URL(url).port);

/** Connections waiting in the accept queue of the loopback listener on `port` (its LISTEN line's rx_queue). */
async function acceptQueue(port: number): Promise<number | undefined> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of (await readFile('/proc/net/tcp', 'latin1')).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return parseInt(f[4]!.split(':')[1]!, 16);
  }
  return undefined;
}

/** Opens N connections to PORT and holds them, sending nothing; prints how many the kernel accepted. */
const HOLDER = `
const net = require('node:net');
let connected = 0;
const held = [];
for (let i = 0; i < Number(process.env.N); i += 1) {
  const s = net.connect(Number(process.env.PORT), '127.0.0.1');
  s.on('connect', () => { connected += 1; });
  s.on('error', () => {});
  held.push(s);
}
setInterval(() => process.stdout.write(connected + '\\n'), 100);
`;

test('a second user holding the IMDS accept queue full does not stop root\'s connection to the token route; root then gets its credentials', { skip }, async () => {
  const imdsUrl = agent.discovery.imdsEndpoint!;
  const imdsPort = portOf(imdsUrl);
  const agentPort = portOf(agent.discovery.url);
  const servedKey = /aws_access_key_id\s*=\s*(\S+)/.exec(await readFile(agent.credentialsFile, 'utf8'))?.[1];
  assert.ok(servedKey, 'the simulator wrote a key');
  const pid = agent.discovery.pid;
  let holder: ChildProcess | undefined;
  let holderOut = '';
  let rootRequest: http.ClientRequest | undefined;
  process.kill(pid, 'SIGSTOP');
  try {
    // Past the agent's backlog (511): the queue fills and every further SYN to it is dropped.
    // node itself runs as the stranger (no runuser in between), so killing it by pid ends it.
    const gid = Number(execFileSync('id', ['-g', stranger.name], { encoding: 'utf8' }).trim());
    holder = spawn(process.execPath, ['-e', HOLDER], { uid: stranger.uid, gid, env: { PORT: String(imdsPort), N: '700' }, cwd: '/', stdio: ['ignore', 'pipe', 'ignore'] });
    holder.stdout!.setEncoding('utf8').on('data', (d: string) => (holderOut = d.trim().split('\n').at(-1) ?? holderOut));
    await waitFor(async () => ((await acceptQueue(imdsPort)) ?? 0) >= 511, 30_000, () => `IMDS's accept queue did not fill: ${holderOut} of 700 connected`);
    assert.ok(Number(holderOut) < 700, `the stranger's surplus connections stay unaccepted (${holderOut} of 700 connected)`);

    // Root, a fresh connection with the token: the kernel completes it into the agent port's own queue.
    let connected = false;
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      rootRequest = http.get(agent.discovery.credentialsUrl, { agent: false, headers: { authorization: agent.token } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      rootRequest.on('socket', (socket) => socket.on('connect', () => (connected = true)));
      rootRequest.on('error', reject);
    });
    answer.catch(() => {});
    await waitFor(async () => connected, 10_000, () => `root's connection to port ${agentPort} was not accepted while the stranger held IMDS's queue (port ${imdsPort}) full: they share a queue`);
    assert.equal(await acceptQueue(agentPort), 1, "root's connection waits alone in the agent port's queue");

    process.kill(pid, 'SIGCONT');
    const got = await answer;
    assert.equal(got.status, 200, got.body);
    assert.equal((JSON.parse(got.body) as { AccessKeyId: string }).AccessKeyId, servedKey);
  } finally {
    process.kill(pid, 'SIGCONT');
    rootRequest?.destroy();
    holder?.kill('SIGKILL');
    holder?.stdout?.destroy();
  }
});

test('IMDS routes answer only on imdsEndpoint; the token, status, health and metrics routes only on the agent\'s url', { skip }, async () => {
  const imdsUrl = agent.discovery.imdsEndpoint!;
  assert.notEqual(portOf(imdsUrl), portOf(agent.discovery.url), 'imdsEndpoint is a port of its own');
  const on = (base: string, path: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(`${base}${path}`, { method, headers: { host: new URL(base).host, ...headers } });
  const put = (base: string) => on(base, '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, 'PUT');

  const imdsToken = await put(imdsUrl);
  assert.equal(imdsToken.status, 200);
  assert.equal((await on(imdsUrl, '/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': imdsToken.body })).status, 200);
  assert.equal((await put(agent.discovery.url)).status, 404, 'no IMDS token on the agent port');
  assert.equal((await on(agent.discovery.url, '/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': imdsToken.body })).status, 404, 'no IMDS credentials on the agent port');

  for (const path of ['/v1/credentials', '/v1/status', '/healthz', '/metrics']) {
    assert.equal((await on(agent.discovery.url, path, { authorization: agent.token })).status, 200, `${path} on the agent port`);
    const there = await on(imdsUrl, path, { authorization: agent.token });
    assert.equal(there.status, 404, `${path} on the IMDS port`);
    assert.ok(!there.body.includes('SecretAccessKey'));
  }
});
