/**
 * Errors that say what is wrong, through the built CLI: --version, exec without --, exit
 * 127/126, an agent whose token this user cannot read or that says its credentials expired,
 * doctor's STS cause, doctor and status agreeing on expiry, serve without a writable state
 * folder, and the test runner's prerequisite check.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanEnv, repoRoot, runCli } from '../helpers/cli.js';
import { startCli, waitFor, type Discovery } from '../helpers/daemon.js';
import { makeSandbox, withSandbox } from '../helpers/sandbox.js';

const KEY = 'ASIAFIELDERRORS00001';
const SECRET = 'FieldErrorsSecretFieldErrorsSecretFiel01';

async function staticProfile(dir: string): Promise<Record<string, string>> {
  await mkdir(path.join(dir, '.aws'), { recursive: true });
  const file = path.join(dir, '.aws', 'credentials');
  await writeFile(file, `[appstream_machine_role]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\naws_session_token = field-errors-token\n`, { mode: 0o600 });
  return { AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') };
}

async function startAgent(dir: string, env: Record<string, string>, extra: string[] = []) {
  const stateDir = path.join(dir, 'state');
  const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0', ...extra], env);
  let discovery: Discovery | undefined;
  await waitFor(
    async () => {
      discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | undefined;
      return Boolean(discovery && discovery.pid === agent.child.pid && (await fetch(`${discovery.url}/healthz`).catch(() => undefined))?.status === 200);
    },
    20_000,
    () => `agent not ready: ${agent.output()}`,
  ).catch(async (error: unknown) => {
    await agent.stop('SIGKILL');
    throw error;
  });
  return { agent, discovery: discovery!, stateDir };
}

test('--version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const run = await runCli(['--version']);
  assert.equal(run.code, 0);
  assert.equal(run.stdout.trim(), pkg.version);
});

describe('exec', () => {
  test('options without -- get a hint to add --; exit 2', async () => {
    const run = await runCli(['exec', 'ls', '-d', '/']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option '-d'/);
    assert.match(run.stderr, /put -- before the command.*appstream-creds exec -- ls -d \//);
  });

  test('not found exits 127, cannot run exits 126, as shells do', async () => {
    await withSandbox(async (dir) => {
      const env = await staticProfile(dir);
      const state = ['--state-dir', path.join(dir, 'state')];
      const missing = await runCli(['exec', ...state, '--', 'no-such-command-field'], { env });
      assert.equal(missing.code, 127);
      assert.equal(missing.stderr.trim(), 'appstream-creds: exec: command not found: no-such-command-field');
      const script = path.join(dir, 'not-executable.sh');
      await writeFile(script, 'echo hi\n', { mode: 0o644 });
      const cannot = await runCli(['exec', ...state, '--', script], { env });
      assert.equal(cannot.code, 126);
      assert.match(cannot.stderr, /exec: cannot run .*not-executable\.sh: permission denied/);
    });
  });
});

test('an agent that says its credentials expired: the message says so and when; direct reading is tried and its failure told too', async () => {
  await withSandbox(async (dir) => {
    const stateDir = path.join(dir, 'state');
    await mkdir(stateDir);
    const expiredAt = '2026-01-01T10:00:00.000Z';
    const server: Server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'credentials-expired', message: `the last credentials expired at ${expiredAt} and no new ones arrived` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const tokenFile = path.join(stateDir, 'token');
      await writeFile(tokenFile, 'a'.repeat(64), { mode: 0o600 });
      await writeFile(path.join(stateDir, 'agent.json'), JSON.stringify({ pid: process.pid, url, credentialsUrl: `${url}/v1/credentials`, tokenFile, imdsEndpoint: null, startedAt: new Date().toISOString() }));
      const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none', 'credentials'), AWS_CONFIG_FILE: path.join(dir, 'none', 'config') };
      for (const args of [['credential-process'], ['exec', '--state-dir', stateDir, '--', 'true']]) {
        const run = await runCli(args[0] === 'exec' ? args : [...args, '--state-dir', stateDir], { env });
        assert.equal(run.code, 5, `${args[0]}: ${run.stderr}`);
        assert.match(run.stderr, new RegExp(`the agent \\(pid ${process.pid}\\) at ${url} says: the last credentials expired at ${expiredAt}`), args[0]);
        assert.match(run.stderr, /reading the profile directly failed too: profile appstream_machine_role .*not found/, args[0]);
      }
      // A profile this user can read still helps: direct reading is used.
      const ok = await runCli(['credential-process', '--state-dir', stateDir], { env: await staticProfile(dir) });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { AccessKeyId: string }).AccessKeyId, KEY);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('as another local user', { skip: process.getuid?.() !== 0 ? 'needs root to create a second user (useradd)' : false }, () => {
  const user = `field${process.pid}`;
  let uid = 0;
  let gid = 0;
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    execFileSync('useradd', ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    ({ dir, cleanup } = await makeSandbox());
    await chmod(dir, 0o755);
  });
  after(async () => {
    spawnSync('userdel', [user]);
    await cleanup();
  });
  const asUser = () => ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];

  test("agent running, token unreadable by this user: credential-process, exec and status say so and how to fix it", async () => {
    const env = await staticProfile(dir);
    const { agent, stateDir } = await startAgent(dir, env);
    try {
      const userEnv = { ...env, HOME: '/nonexistent' };
      for (const args of [['credential-process', '--state-dir', stateDir], ['exec', '--state-dir', stateDir, '--', 'true']]) {
        const run = await runCli(args, { env: userEnv, prefix: asUser() });
        assert.equal(run.code, 5, run.stderr);
        assert.match(run.stderr, new RegExp(`the agent \\(pid ${agent.child.pid}\\) is running, but its token file ${stateDir}/token is not readable by this user`));
        assert.match(run.stderr, /fix: run as root, the agent's user or a member of the token's group \(the tokenGroup setting/);
        assert.match(run.stderr, /reading the profile directly failed too/);
      }
      const status = await runCli(['status', '--state-dir', stateDir], { env: userEnv, prefix: asUser() });
      assert.equal(status.code, 5);
      assert.match(status.stdout, /agent: +the agent \(pid \d+\) is running, but its token file .* is not readable by this user/);
    } finally {
      await agent.stop();
    }
  });

  test('serve without a writable state folder names the folder, the reason and --state-dir', async () => {
    const run = await runCli(['serve', '--port', '0'], { env: { HOME: '/nonexistent' }, prefix: asUser() });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^appstream-creds: cannot create the state folder \/var\/lib\/appstream-credential-agent: permission denied \(EACCES\) for this user; run as root \(as the service does\), or pick a folder you own with --state-dir DIR/);
    assert.doesNotMatch(run.stderr, /internal error/);
  });
});

test('doctor and status report the same expiry for the same agent', async () => {
  await withSandbox(async (dir) => {
    const env = await staticProfile(dir);
    // The agent runs with its own validity; a doctor with default settings must still agree with it.
    const { agent, stateDir } = await startAgent(dir, env, ['--validity', '3h']);
    try {
      const status = await runCli(['status', '--json', '--state-dir', stateDir], { env });
      const expiresAt = (JSON.parse(status.stdout) as { current: { expiresAt: string } }).current.expiresAt;
      const doctor = await runCli(['doctor', '--json', '--state-dir', stateDir], { env: { ...env, AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9/' }, timeoutMs: 60_000 });
      const credentials = (JSON.parse(doctor.stdout) as { findings: Array<{ path: string; message: string }> }).findings.find((f) => f.path === 'credentials');
      assert.ok(credentials?.message.includes(expiresAt), `doctor: ${credentials?.message}; status: ${expiresAt}`);
      assert.match(credentials!.message, /as the running agent serves it/);
    } finally {
      await agent.stop();
    }
  });
});

test("doctor prints GetCallerIdentity's cause", async () => {
  await withSandbox(async (dir) => {
    const env = { ...(await staticProfile(dir)), AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9/', AWS_REGION: 'us-east-1' };
    const doctor = await runCli(['doctor', '--json', '--no-agent', '--state-dir', path.join(dir, 'state')], { env, timeoutMs: 60_000 });
    const findings = (JSON.parse(doctor.stdout) as { findings: Array<{ path: string; code: string; message: string }> }).findings;
    const sts = findings.find((f) => f.path === 'sts');
    if (!sts) {
      // doctor checks STS only once the ENI is up; a machine without one has nothing to say here.
      assert.ok(findings.some((f) => f.code === 'no-eni'), JSON.stringify(findings));
      return;
    }
    assert.equal(sts.code, 'sts-failed');
    assert.match(sts.message, /^GetCallerIdentity failed: .*ECONNREFUSED/);
  });
});

test('npm test checks its prerequisites first and says what is missing and how to get it', async () => {
  await withSandbox(async (dir) => {
    // A PATH with node but neither python3 nor aws.
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await symlink(process.execPath, path.join(bin, 'node'));
    const bare = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'test.mjs'), 'test/unit/none.test.ts'], { cwd: repoRoot, env: { ...cleanEnv(), PATH: bin }, encoding: 'utf8' });
    assert.equal(bare.status, 1);
    assert.match(bare.stderr, /missing test prerequisites/);
    assert.match(bare.stderr, /python3: install it .*python3 -m pip install "moto\[server\]>=5" boto3 awscli/);

    // The real python3, with boto3 made unimportable: only boto3 is reported.
    const blocked = path.join(dir, 'blocked');
    await mkdir(blocked);
    await writeFile(path.join(blocked, 'boto3.py'), 'raise ImportError("blocked by the test")\n');
    const noBoto = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'test.mjs'), 'test/unit/none.test.ts'], { cwd: repoRoot, env: { ...cleanEnv(), PYTHONPATH: blocked }, encoding: 'utf8' });
    assert.equal(noBoto.status, 1, noBoto.stderr);
    assert.match(noBoto.stderr, /boto3 \(a real client in the tests\): python3 cannot import boto3; install it with: python3 -m pip install boto3/);
    assert.doesNotMatch(noBoto.stderr, /awscli/, 'the AWS CLI does not need boto3');
  });
});
