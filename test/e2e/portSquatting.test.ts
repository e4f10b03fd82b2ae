/**
 * Issue 8, point 4, through the built CLI: a process of another local user (useradd) holds the
 * agent's port. `doctor` names it; our clients do not send it the token even when agent.json
 * names a live pid (an unclean stop, then pid reuse) and read the profile directly instead.
 * Also: `doctor` says what `--imds` exposes when allowUsers is empty.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/daemon.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';

const skip = notRootReason();
const KEY = 'ASIASQUATTERTEST0001';
const SECRET = 'SquatterTestSecret/With+Base64Chars01234';
const TOKEN = 'f'.repeat(64);

/** Answers fake credentials and prints every Authorization header it receives. */
const SQUATTER = `
require('node:http').createServer((req, res) => {
  process.stdout.write('AUTH:' + (req.headers.authorization || '') + '\\n');
  const body = JSON.stringify({ AccessKeyId: 'ASIAFAKEFROMSQUATTER', SecretAccessKey: 'x'.repeat(40), Token: 't', Expiration: new Date(Date.now() + 3600e3).toISOString() });
  res.writeHead(200, { 'content-type': 'application/json' }); res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('LISTENING\\n'));
`;

let accounts: LocalUsers;
let squatterUser: { name: string; uid: number };
let squatter: ChildProcess;
let seen = '';
let port: number;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let env: Record<string, string>;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return free;
}

before(async () => {
  if (skip) return;
  accounts = localUsers('trustb');
  try {
    squatterUser = accounts.user('s');
    port = await freePort();
    squatter = spawn('runuser', ['-u', squatterUser.name, '--', process.execPath, '-e', SQUATTER], { cwd: '/', env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
    squatter.stdout!.setEncoding('utf8').on('data', (d: string) => (seen += d));
    await waitFor(async () => seen.includes('LISTENING'), 15_000, () => `the squatter did not listen: ${seen}`);
    sandbox = await makeSandbox();
    await mkdir(path.join(sandbox.dir, '.aws'));
    await writeFile(path.join(sandbox.dir, '.aws', 'credentials'), `[appstream_machine_role]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\naws_session_token = direct-token\n`, { mode: 0o600 });
    env = {
      AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox.dir, '.aws', 'credentials'),
      AWS_CONFIG_FILE: path.join(sandbox.dir, '.aws', 'config'),
      APPSTREAM_CREDS_STATE_DIR: path.join(sandbox.dir, 'state'),
      APPSTREAM_CREDS_PORT: String(port),
    };
  } catch (error) {
    squatter?.kill();
    accounts.remove();
    throw error;
  }
});

after(async () => {
  if (skip) return;
  squatter?.kill();
  await new Promise((r) => setTimeout(r, 100));
  await sandbox?.cleanup();
  accounts.remove();
});

interface Report {
  findings: Array<{ severity: string; code: string; path: string; message: string }>;
}

test('doctor: the port held by another user while no agent runs is an error naming that user (exit 6)', { skip }, async () => {
  const run = await runCli(['doctor', '--json', '--no-agent'], { env });
  assert.equal(run.code, 6, run.stdout + run.stderr);
  const port9 = (JSON.parse(run.stdout) as Report).findings.find((f) => f.path === 'port');
  assert.equal(port9?.severity, 'error');
  assert.equal(port9?.code, 'port-held');
  assert.match(port9!.message, new RegExp(`port ${port} is held by uid ${squatterUser.uid} \\(${squatterUser.name}\\), while no agent runs`));
});

test('serve on the squatted port exits 1 naming the user that holds it', { skip }, async () => {
  const run = await runCli(['serve', '--state-dir', `${sandbox.dir}/serve-state`, '--port', String(port)], { env: { ...env, APPSTREAM_CREDS_STATE_DIR: undefined } });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is held by uid ${squatterUser.uid} \\(${squatterUser.name}\\)`));
});

test('clients: with agent.json naming a live pid and the squatted port, the token is not sent and the profile is read directly', { skip }, async () => {
  const stateDir = env.APPSTREAM_CREDS_STATE_DIR!;
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
  await writeFile(path.join(stateDir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  const url = `http://127.0.0.1:${port}`;
  // As after an unclean stop whose pid was reused: the pid is alive (the squatter's own).
  await writeFile(path.join(stateDir, 'agent.json'), JSON.stringify({ pid: squatter.pid, url, credentialsUrl: `${url}/v1/credentials`, tokenFile: path.join(stateDir, 'token'), imdsEndpoint: null, startedAt: new Date().toISOString() }));
  const run = await runCli(['credential-process'], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as { AccessKeyId: string }).AccessKeyId, KEY, 'read directly, not the squatter\'s fake');
  const status = await runCli(['doctor', '--json'], { env });
  const agentFinding = (JSON.parse(status.stdout) as Report).findings.find((f) => f.path === 'agent');
  assert.match(agentFinding?.message ?? '', /the token was not sent/);
  const portFinding = (JSON.parse(status.stdout) as Report).findings.find((f) => f.path === 'port');
  assert.match(portFinding?.message ?? '', /not by the agent/);
  assert.ok(!seen.includes(TOKEN), `the squatter received the token: ${seen}`);
});

test('doctor: --imds without allowUsers says who IMDS answers (a warning); allowUsers * is a warning too', { skip }, async () => {
  const noUsers = await runCli(['doctor', '--json', '--no-agent'], { env: { ...env, APPSTREAM_CREDS_IMDS: 'true' } });
  const imds = (JSON.parse(noUsers.stdout) as Report).findings.find((f) => f.path === 'imds');
  assert.equal(imds?.code, 'imds-no-allow-users');
  assert.equal(imds?.severity, 'warning');
  const open = await runCli(['doctor', '--json', '--no-agent'], { env: { ...env, APPSTREAM_CREDS_IMDS: 'true', APPSTREAM_CREDS_ALLOW_USERS: '*' } });
  assert.equal((JSON.parse(open.stdout) as Report).findings.find((f) => f.path === 'imds')?.code, 'imds-open');
  const listed = await runCli(['doctor', '--json', '--no-agent'], { env: { ...env, APPSTREAM_CREDS_IMDS: 'true', APPSTREAM_CREDS_ALLOW_USERS: 'as2-streaming-user' } });
  assert.equal((JSON.parse(listed.stdout) as Report).findings.find((f) => f.path === 'imds')?.code, 'ok');
});

test('IMDS\'s own port (imdsPort) gets the same checks: doctor and serve name its holder; clients refuse an agent.json whose imdsEndpoint another user holds', { skip }, async () => {
  // The agent's port elsewhere; IMDS's is the squatted one.
  // (A state folder of its own: the test above left an agent.json naming the squatted port.)
  const imdsEnv = { ...env, APPSTREAM_CREDS_STATE_DIR: path.join(sandbox.dir, 'imds-doctor-state'), APPSTREAM_CREDS_PORT: String(await freePort()), APPSTREAM_CREDS_IMDS: 'true', APPSTREAM_CREDS_IMDS_PORT: String(port) };
  const doctor = await runCli(['doctor', '--json', '--no-agent'], { env: imdsEnv });
  const held = (JSON.parse(doctor.stdout) as Report).findings.find((f) => f.code === 'port-held');
  assert.equal(held?.severity, 'error', doctor.stdout);
  assert.match(held!.message, new RegExp(`IMDS port ${port} is held by uid ${squatterUser.uid} \\(${squatterUser.name}\\), while no agent runs: IMDS callers would take credentials from it`));

  const serve = await runCli(['serve', '--state-dir', `${sandbox.dir}/serve-imds-state`, '--port', '0', '--imds', '--imds-port', String(port)], { env: { ...env, APPSTREAM_CREDS_STATE_DIR: undefined, APPSTREAM_CREDS_PORT: undefined } });
  assert.equal(serve.code, 1, serve.stderr);
  assert.match(serve.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is held by uid ${squatterUser.uid} \\(${squatterUser.name}\\).*set imdsPort`));

  // agent.json (root's, naming this live process) whose url is a listener of root's, but whose
  // imdsEndpoint is the squatter's port: the token goes nowhere, the profile is read directly.
  const stateDir = path.join(sandbox.dir, 'imds-state');
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
  await writeFile(path.join(stateDir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  let connections = 0;
  const rootListener = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => rootListener.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(rootListener.address() as net.AddressInfo).port}`;
    await writeFile(path.join(stateDir, 'agent.json'), JSON.stringify({ pid: process.pid, url, credentialsUrl: `${url}/v1/credentials`, tokenFile: path.join(stateDir, 'token'), imdsEndpoint: `http://127.0.0.1:${port}`, startedAt: new Date().toISOString() }));
    const run = await runCli(['credential-process'], { env: { ...env, APPSTREAM_CREDS_STATE_DIR: stateDir } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { AccessKeyId: string }).AccessKeyId, KEY, 'read directly');
    assert.equal(connections, 0, 'the token was sent to an agent whose IMDS port another user holds');
    const status = await runCli(['doctor', '--json'], { env: { ...env, APPSTREAM_CREDS_STATE_DIR: stateDir } });
    assert.match((JSON.parse(status.stdout) as Report).findings.find((f) => f.path === 'agent')?.message ?? '', new RegExp(`port ${port} is held by uid ${squatterUser.uid}.*the token was not sent`));
  } finally {
    rootListener.close();
  }
  assert.ok(!seen.includes(TOKEN), `the squatter received the token: ${seen}`);
});
