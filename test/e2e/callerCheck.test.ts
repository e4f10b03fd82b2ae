/**
 * Issue 8, point 3, through the built daemon: every request on a credentials or status route
 * is checked against the connecting process's user (Linux: /proc/net/tcp). Clients run as real
 * second users (useradd): root allowed, another user 403 even with the token, a tokenGroup
 * member allowed; a flood of IMDS token PUTs evicts nobody's token.
 *
 * Issue 19 point 1, "no shared queue": IMDS emulation has a listener of its own (imdsEndpoint,
 * setting imdsPort), so a local user who fills IMDS's accept queue cannot make the kernel drop
 * root's connection to the token routes. The user holds IMDS's accept queue full while the
 * agent is stopped (SIGSTOP, so nothing drains it), and root's connection to the agent's port is
 * still accepted by the kernel and, once the agent runs again, answered with the served key.
 * Also: IMDS routes answer only on IMDS's port, the token routes only on the agent's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { startSandboxAgent, waitFor, type SandboxAgent } from '../helpers/daemon.js';
import { rawRequest } from '../helpers/clients.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { runProgram } from '../helpers/cli.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';
import { readFile } from 'node:fs/promises';

const skip = notRootReason();
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;
let accounts: LocalUsers;
let other: { name: string; uid: number };
let member: { name: string; uid: number };

/**
 * What a client sees on each route: run as `user` (runuser) or as this process (root). It
 * PUTs `puts` IMDS tokens on one keep-alive connection first, then tries `checkToken` (an IMDS
 * token issued to someone else) and its own.
 */
const CLIENT = `
const http = require('node:http');
const base = process.env.BASE;
const imdsBase = process.env.IMDS_BASE;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
// IMDS paths go to IMDS's own port (imdsEndpoint), the rest to the agent's.
const call = (method, path, headers) => new Promise((resolve, reject) => {
  const req = http.request((path.startsWith('/latest/') ? imdsBase : base) + path, { method, headers, agent }, (res) => {
    let body = ''; res.setEncoding('utf8'); res.on('data', (d) => (body += d)); res.on('end', () => resolve({ status: res.statusCode, body }));
  });
  req.on('error', reject); req.end();
});
(async () => {
  const out = { puts: {} };
  for (let i = 0; i < Number(process.env.PUTS || 0); i += 8) {
    const batch = await Promise.all(Array.from({ length: 8 }, () => call('PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' })));
    for (const r of batch) out.puts[r.status] = (out.puts[r.status] || 0) + 1;
  }
  out.credentials = await call('GET', '/v1/credentials', { authorization: process.env.TOKEN });
  out.status = await call('GET', '/v1/status', { authorization: process.env.TOKEN });
  const put = await call('PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' });
  out.imdsPut = put.status;
  const imdsToken = put.status === 200 ? put.body : 'none';
  out.imdsRole = await call('GET', '/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': imdsToken });
  if (process.env.CHECK_TOKEN) out.checked = (await call('GET', '/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': process.env.CHECK_TOKEN })).status;
  out.health = (await call('GET', '/healthz', {})).status;
  agent.destroy();
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e)); process.exit(1); });
`;

interface Seen {
  puts: Record<string, number>;
  credentials: { status: number; body: string };
  status: { status: number; body: string };
  imdsPut: number;
  imdsRole: { status: number; body: string };
  checked?: number;
  health: number;
}

async function client(user: string | undefined, extra: Record<string, string> = {}): Promise<Seen> {
  const env = { BASE: agent.discovery.url, IMDS_BASE: agent.discovery.imdsEndpoint!, TOKEN: agent.token, ...extra };
  const command = user ? ['runuser', ['-u', user, '--', process.execPath, '-e', CLIENT]] as const : [process.execPath, ['-e', CLIENT]] as const;
  // The client prints the credential bodies it got: credentials on its stdout are its product.
  const run = await runProgram(command[0], [...command[1]], { env, cwd: '/', timeoutMs: 120_000, credentialsOnStdout: true });
  assert.equal(run.code, 0, `client as ${user ?? 'root'} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Seen;
}

before(async () => {
  if (skip) return;
  accounts = localUsers('trustb');
  try {
    const group = accounts.group('g');
    other = accounts.user('o');
    member = accounts.user('m', [group.name]);
    sandbox = await makeSandbox();
    agent = await startSandboxAgent({ dir: sandbox.dir, refreshInterval: '1h', validity: '2h', imds: true, agentEnv: { APPSTREAM_CREDS_TOKEN_GROUP: group.name } });
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

const secretOf = async (): Promise<string> => ((await readFile(agent.credentialsFile, 'utf8')).match(/aws_secret_access_key\s*=\s*(\S+)/) ?? [])[1]!;

test('root (the agent runs as root here) gets credentials, status and IMDS', { skip }, async () => {
  const seen = await client(undefined);
  assert.equal(seen.credentials.status, 200, seen.credentials.body);
  assert.equal(seen.status.status, 200);
  assert.equal(seen.imdsPut, 200);
  assert.equal(seen.imdsRole.status, 200);
});

test('another local user gets 403 on every credential and status route, even holding the token, and no secret', { skip }, async () => {
  const seen = await client(other.name);
  assert.equal(seen.credentials.status, 403, 'the container route, with the right token');
  assert.equal(seen.status.status, 403, '/v1/status, with the right token');
  assert.equal(seen.imdsPut, 403, 'no IMDS token for a stranger');
  assert.equal(seen.imdsRole.status, 403);
  assert.equal(seen.health, 200, '/healthz has no secret and no check');
  const secret = await secretOf();
  for (const body of [seen.credentials.body, seen.status.body, seen.imdsRole.body]) {
    assert.deepEqual(Object.keys(JSON.parse(body) as object).sort(), ['code', 'message']);
    assert.ok(!body.includes(secret) && !body.includes(agent.token));
  }
  const refusedLine = agent.agent.output().split('\n').find((line) => line.includes('refused a caller that is not an allowed user'));
  assert.ok(refusedLine?.includes(`"uid":${other.uid}`), `the refusal is logged with the uid: ${refusedLine}`);
  assert.ok(!agent.agent.output().includes(secret), 'no secret in the log');
});

test('a member of tokenGroup is allowed on every route', { skip }, async () => {
  const seen = await client(member.name);
  assert.equal(seen.credentials.status, 200, seen.credentials.body);
  assert.equal(seen.status.status, 200);
  assert.equal(seen.imdsPut, 200);
  assert.equal(seen.imdsRole.status, 200);
});

test('1,100 IMDS token PUTs from one client (allowed or not) do not evict another client\'s token', { skip }, async () => {
  const put = await fetch(`${agent.discovery.imdsEndpoint!}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '600' } });
  assert.equal(put.status, 200);
  const rootToken = await put.text();
  const flood = await client(member.name, { PUTS: '1104', CHECK_TOKEN: rootToken });
  assert.deepEqual(flood.puts, { 200: 1104 });
  assert.equal(flood.checked, 200, "root's token still works after the member's flood");
  const hostile = await client(other.name, { PUTS: '1104' });
  assert.deepEqual(hostile.puts, { 403: 1104 });
  const after = await fetch(`${agent.discovery.imdsEndpoint!}/latest/meta-data/iam/security-credentials/`, { headers: { 'x-aws-ec2-metadata-token': rootToken } });
  assert.equal(after.status, 200, "root's token still works after both floods");
});

test('status names the caller lookup in use: netlink sock_diag on Linux (issue 19 point 1)', { skip }, async () => {
  const status = await fetch(`${agent.discovery.url}/v1/status`, { headers: { authorization: agent.token } });
  assert.equal(status.status, 200);
  const body = (await status.json()) as { callerLookup?: string };
  assert.match(body.callerLookup ?? '', /^netlink sock_diag/, `callerLookup: ${body.callerLookup}`);
  assert.match(agent.agent.output(), /"callerLookup":"netlink sock_diag/, 'the start log says it too');
});

/** New connections, `inFlight` at a time, each a PUT for an IMDS token; prints the answers counted and the seconds taken. */
const FRESH_PUTS = `
const http = require('node:http');
const total = Number(process.env.TOTAL);
let next = 0;
const counts = {};
const started = Date.now();
const one = () => new Promise((resolve) => {
  const req = http.request(process.env.BASE + '/latest/api/token', { method: 'PUT', agent: false, headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } }, (res) => {
    res.resume(); res.on('end', () => { counts[res.statusCode] = (counts[res.statusCode] || 0) + 1; resolve(); });
  });
  req.on('error', () => { counts.error = (counts.error || 0) + 1; resolve(); });
  req.end();
});
const loop = async () => { while (next++ < total) await one(); };
Promise.all(Array.from({ length: 25 }, loop)).then(() => process.stdout.write(JSON.stringify({ counts, seconds: (Date.now() - started) / 1000 })));
`;

test('a second user\'s burst of new IMDS connections is bounded: at most 100 lookups a second, the rest 429; root is not affected', { skip }, async () => {
  const run = await runProgram('runuser', ['-u', other.name, '--', process.execPath, '-e', FRESH_PUTS], { env: { BASE: agent.discovery.imdsEndpoint!, TOTAL: '600' }, cwd: '/', timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  const { counts, seconds } = JSON.parse(run.stdout) as { counts: Record<string, number>; seconds: number };
  assert.deepEqual(Object.keys(counts).sort(), ['403', '429'], `only refusals, and some of them for the rate: ${JSON.stringify(counts)}`);
  // Every 403 cost a lookup; the bucket holds 100 and refills 100 a second.
  assert.ok(counts['403']! <= 100 + Math.ceil(100 * (seconds + 1)), `${counts['403']} lookups in ${seconds} s`);
  const credentials = await fetch(agent.discovery.credentialsUrl, { headers: { authorization: agent.token } });
  assert.equal(credentials.status, 200, 'the token route has no such limit');
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
    const gid = Number(execFileSync('id', ['-g', other.name], { encoding: 'utf8' }).trim());
    holder = spawn(process.execPath, ['-e', HOLDER], { uid: other.uid, gid, env: { PORT: String(imdsPort), N: '700' }, cwd: '/', stdio: ['ignore', 'pipe', 'ignore'] });
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
