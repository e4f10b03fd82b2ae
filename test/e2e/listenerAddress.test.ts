/**
 * Issue 19 point 3, through the built CLI: a second local user (useradd) listens on
 * 127.0.0.2:PORT while the healthy agent, as root, listens on 127.0.0.1:PORT. That listener
 * never receives a connection to 127.0.0.1, so it must not count: `credential-process` gets the
 * agent's credentials (exit 0, not 5), `exec` hands its child the endpoint (not static keys),
 * `doctor` finds the port held by the agent; and the stranger receives nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { runCli } from '../helpers/cli.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { startSandboxAgent, waitFor, type SandboxAgent } from '../helpers/daemon.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';

const skip = notRootReason();

/** Prints every request it receives (it should receive none). */
const NEIGHBOUR = `
require('node:http').createServer((req, res) => {
  process.stdout.write('REQUEST:' + req.url + ' ' + (req.headers.authorization || '') + '\\n');
  res.end('{}');
}).listen(Number(process.env.PORT), '127.0.0.2', () => process.stdout.write('LISTENING\\n'));
`;

let accounts: LocalUsers;
let neighbour: ChildProcess | undefined;
let seen = '';
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;
let env: Record<string, string>;

before(async () => {
  if (skip) return;
  accounts = localUsers('lsnadr');
  try {
    const stranger = accounts.user('n');
    sandbox = await makeSandbox();
    agent = await startSandboxAgent({ dir: sandbox.dir, refreshInterval: '1h', validity: '2h' });
    const port = new URL(agent.discovery.url).port;
    neighbour = spawn('runuser', ['-u', stranger.name, '--', process.execPath, '-e', NEIGHBOUR], { cwd: '/', env: { PATH: process.env.PATH, PORT: port }, stdio: ['ignore', 'pipe', 'inherit'] });
    neighbour.stdout!.setEncoding('utf8').on('data', (d: string) => (seen += d));
    await waitFor(async () => seen.includes('LISTENING'), 15_000, () => `the neighbour did not listen: ${seen}`);
    env = { AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile, APPSTREAM_CREDS_STATE_DIR: agent.stateDir, APPSTREAM_CREDS_PORT: port };
  } catch (error) {
    neighbour?.kill();
    await agent?.stop();
    accounts.remove();
    throw error;
  }
});

after(async () => {
  if (skip) return;
  neighbour?.kill();
  await agent?.stop();
  await sandbox?.cleanup();
  accounts.remove();
});

test('credential-process gets the agent\'s credentials (exit 0) with a stranger listening on 127.0.0.2 at the same port', { skip }, async () => {
  // No profile to fall back on: only the agent can answer.
  const run = await runCli(['credential-process'], { env: { ...env, AWS_SHARED_CREDENTIALS_FILE: `${sandbox.dir}/missing-credentials` } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as { Version: number }).Version, 1);
  assert.doesNotMatch(run.stderr, /held by|not sent/);
});

test('exec hands its child the agent\'s endpoint, not static keys', { skip }, async () => {
  const run = await runCli(['exec', '--', 'sh', '-c', 'echo "URI=$AWS_CONTAINER_CREDENTIALS_FULL_URI KEY=${AWS_ACCESS_KEY_ID:-none}"'], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`URI=${agent.discovery.credentialsUrl.replace(/[.]/g, '\\.')} KEY=none`));
});

test('doctor: the port is held by the agent; the neighbour on 127.0.0.2 is no finding', { skip }, async () => {
  const run = await runCli(['doctor', '--json'], { env });
  const port = (JSON.parse(run.stdout) as { findings: Array<{ path: string; code: string; severity: string; message: string }> }).findings.find((f) => f.path === 'port');
  assert.equal(port?.code, 'ok', JSON.stringify(port));
  assert.equal(seen.includes('REQUEST:'), false, `the neighbour received a request: ${seen}`);
});
