/**
 * Issue 8, points 1, 2 and 6 through the built CLI and daemon, with a real second local user
 * (useradd) as the attacker: files it writes are planted with its own uid (runuser), never
 * chown'd by the test. Skips with a printed reason when not root.
 *
 * - a planted profile in either form (static keys, credential_process) is refused: not run
 *   (its marker file is never created), not served, named with owner and mode, exit 5;
 * - serve refuses a foreign or loose state or log folder (exit 2);
 * - a fake agent.json planted by the other user: clients never send the token to its listener;
 * - the token path pre-planted as a symlink to a victim file: the victim is unchanged;
 * - a stale agent.lock whose pid was reused by another process does not block a start;
 * - doctor reports the untrusted profile and the foreign folders.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startCli, waitFor } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';

const skip = notRootReason();
if (skip) process.stdout.write(`# trustBoundaries skipped: ${skip}\n`);

const PROFILE = 'appstream_machine_role';
const GOOD_KEY = 'ASIATRUSTEDROOTFILE1';
const GOOD_SECRET = 'trustedSecretKey0123456789abcdefghijklmn';
const EVIL_KEY = 'AKIAPLANTEDBYSTREAM1';
const EVIL_SECRET = 'plantedSecretKey0123456789abcdefghijklmn';

let sandbox: { dir: string; cleanup: () => Promise<void> };
let accounts: LocalUsers;
let evil: { name: string; uid: number };
/** The attacker's home: /…/home/<evil>, owned by the attacker, holding .aws/. */
let evilHome: string;
let marker: string;
/** A trusted, root-owned profile for the cases where a client must fall back to direct mode. */
let goodCredentials: string;

/** Runs a shell script as the other user: whatever it creates is owned by that user. */
const asEvil = (script: string): void => void execFileSync('runuser', ['-u', evil.name, '--', 'sh', '-c', script], { stdio: 'pipe' });

before(async () => {
  if (skip) return;
  sandbox = await makeSandbox();
  await chmod(sandbox.dir, 0o755); // the other user must reach its own folders inside
  accounts = localUsers('trusta');
  try {
    evil = accounts.user('e');
  } catch (error) {
    accounts.remove();
    throw error;
  }
  evilHome = path.join(sandbox.dir, 'home', evil.name);
  marker = path.join(sandbox.dir, 'marker');
  await mkdir(path.join(sandbox.dir, 'home'), { mode: 0o755 });
  await mkdir(evilHome, { mode: 0o755 });
  execFileSync('chown', [evil.name, evilHome]); // as useradd -m would
  asEvil(
    `mkdir -p ${evilHome}/.aws && ` +
      `printf '[profile ${PROFILE}]\\ncredential_process = touch ${marker}\\n' > ${evilHome}/.aws/config && ` +
      `printf '[${PROFILE}]\\naws_access_key_id = ${EVIL_KEY}\\naws_secret_access_key = ${EVIL_SECRET}\\n' > ${evilHome}/.aws/credentials`,
  );
  goodCredentials = path.join(sandbox.dir, 'good-credentials');
  await writeFile(goodCredentials, `[${PROFILE}]\naws_access_key_id = ${GOOD_KEY}\naws_secret_access_key = ${GOOD_SECRET}\naws_session_token = tok\n`, { mode: 0o600 });
});

after(async () => {
  if (skip) return;
  accounts?.remove();
  await sandbox?.cleanup();
});

/** Only the planted home is searched (as if an admin had added it to homeDirs). */
const plantedHomeEnv = (extra: Record<string, string> = {}): Record<string, string> => ({ HOME: '/nonexistent', APPSTREAM_CREDS_HOME_DIRS: evilHome, ...extra });

let stateCount = 0;
const freshState = async (): Promise<string> => {
  const dir = path.join(sandbox.dir, `state-${(stateCount += 1)}`);
  await mkdir(dir, { mode: 0o755 });
  return dir;
};

test('a planted profile (credential_process and static keys) is refused: not run, not served, exit 5 naming owner and mode', { skip }, async () => {
  for (const file of ['config', 'credentials']) {
    const env = file === 'config' ? { HOME: '/nonexistent', AWS_CONFIG_FILE: path.join(evilHome, '.aws', file) } : { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: path.join(evilHome, '.aws', file) };
    const run = await runCli(['credential-process', '--state-dir', await freshState()], { env });
    assert.equal(run.code, 5, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, new RegExp(`${path.join(evilHome, '.aws', file).replace(/[.]/g, '\\.')} is not trusted: owned by uid ${evil.uid} \\(${evil.name}\\), mode 0644`));
    assert.ok(!run.stderr.includes(EVIL_KEY) && !run.stderr.includes(EVIL_SECRET), 'the planted keys are never echoed');
  }
  // Searched through homeDirs, both files at once.
  const run = await runCli(['env', '--format', 'bash', '--state-dir', await freshState()], { env: plantedHomeEnv() });
  assert.equal(run.code, 5, run.stderr);
  assert.match(run.stderr, /profile-untrusted|not trusted/);
  await assert.rejects(stat(marker), /ENOENT/, 'the planted credential_process never ran');
});

test('a root-owned profile inside a folder the other user owns is refused too (the folder could swap it)', { skip }, async () => {
  const file = path.join(evilHome, '.aws', 'root-owned');
  await writeFile(file, `[${PROFILE}]\naws_access_key_id = ${GOOD_KEY}\naws_secret_access_key = ${GOOD_SECRET}\n`, { mode: 0o600 });
  const run = await runCli(['credential-process', '--state-dir', await freshState()], { env: { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: file } });
  assert.equal(run.code, 5, run.stderr);
  assert.match(run.stderr, new RegExp(`\\.aws is a folder owned by uid ${evil.uid}`));
});

test("a root-owned config whose credential_process names the other user's script: the script is not run (exit 5)", { skip }, async () => {
  const script = path.join(evilHome, 'helper.sh');
  asEvil(`printf '#!/bin/sh\ntouch ${marker}\n' > ${script} && chmod 755 ${script}`);
  const config = path.join(sandbox.dir, 'root-config');
  await writeFile(config, `[profile ${PROFILE}]\ncredential_process = ${script}\n`, { mode: 0o600 });
  const run = await runCli(['credential-process', '--state-dir', await freshState()], { env: { HOME: '/nonexistent', AWS_CONFIG_FILE: config } });
  assert.equal(run.code, 5, run.stderr);
  assert.match(run.stderr, new RegExp(`credential_process program not run: ${script.replace(/[.]/g, '\\.')} is not trusted: owned by uid ${evil.uid}`));
  await assert.rejects(stat(marker), /ENOENT/, "the other user's script never ran");
});

test('serve: the planted profile is never served or run; one warning per distinct refusal while a trusted file serves', { skip }, async () => {
  const stateDir = await freshState();
  const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0', '--refresh-interval', '1s'], {
    HOME: '/nonexistent',
    APPSTREAM_CREDS_HOME_DIRS: `${evilHome},${path.join(sandbox.dir, 'roothome')}`,
  });
  try {
    await mkdir(path.join(sandbox.dir, 'roothome', '.aws'), { recursive: true, mode: 0o755 });
    const discovery = await waitForDiscovery(stateDir, agent);
    const token = (await readFile(discovery.tokenFile, 'utf8')).trim();
    const first = await fetch(discovery.credentialsUrl, { headers: { authorization: token } });
    assert.equal(first.status, 503, 'only the planted profile exists: nothing to serve');
    assert.ok(!(await first.text()).includes(EVIL_KEY));
    // Now a trusted profile appears in the later home: it is served, the planted one never.
    await writeFile(path.join(sandbox.dir, 'roothome', '.aws', 'credentials'), await readFile(goodCredentials, 'utf8'), { mode: 0o600 });
    await waitFor(async () => (await fetch(discovery.credentialsUrl, { headers: { authorization: token } })).status === 200, 20_000, () => `never served the trusted file: ${agent.output()}`);
    const body = (await (await fetch(discovery.credentialsUrl, { headers: { authorization: token } })).json()) as Record<string, string>;
    assert.equal(body.AccessKeyId, GOOD_KEY);
    await new Promise((r) => setTimeout(r, 2_500)); // a few more hourly-style re-reads (every 1 s)
    const warnings = agent.output().split('\n').filter((line) => line.includes(`${evilHome}/.aws/config is not trusted`) && line.includes('; not used (fix:'));
    assert.equal(warnings.length, 1, `one warning for the planted config, not one per read:\n${agent.output()}`);
    assert.ok(!agent.output().includes(EVIL_SECRET));
  } finally {
    await agent.stop();
  }
  await assert.rejects(stat(marker), /ENOENT/, 'the planted credential_process never ran under the daemon');
});

test('serve refuses a state folder owned by the other user, or writable by others, and a foreign log folder: exit 2', { skip }, async () => {
  const foreign = path.join(evilHome, 'state');
  asEvil(`mkdir -p ${foreign}`);
  const run = await runCli(['serve', '--state-dir', foreign, '--port', '0'], { env: { HOME: '/nonexistent' }, timeoutMs: 30_000 });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, new RegExp(`state folder ${foreign.replace(/[.]/g, '\\.')} is not trusted: .*owned by uid ${evil.uid} \\(${evil.name}\\), mode 0755`));
  assert.match(run.stderr, /fix: /);
  await assert.rejects(stat(path.join(foreign, 'token')), /ENOENT/, 'nothing written there');

  const loose = await freshState();
  await chmod(loose, 0o777);
  const looseRun = await runCli(['serve', '--state-dir', loose, '--port', '0'], { env: { HOME: '/nonexistent' }, timeoutMs: 30_000 });
  assert.equal(looseRun.code, 2, looseRun.stderr);
  assert.match(looseRun.stderr, /mode 0777 \(writable by every user\).*chmod go-w/);

  const logs = path.join(evilHome, 'logs');
  asEvil(`mkdir -p ${logs}`);
  const logRun = await runCli(['serve', '--state-dir', await freshState(), '--port', '0'], { env: { HOME: '/nonexistent', APPSTREAM_CREDS_LOG_DIR: logs }, timeoutMs: 30_000 });
  assert.equal(logRun.code, 2, logRun.stderr);
  assert.match(logRun.stderr, new RegExp(`log folder ${logs.replace(/[.]/g, '\\.')} is not trusted`));
  assert.equal(execFileSync('ls', ['-A', logs], { encoding: 'utf8' }), '', 'no log file opened there');
});

test('a fake agent.json planted by the other user: credential-process, env, exec, status and doctor never send it the token', { skip }, async () => {
  const requests: string[] = [];
  const listener: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ AccessKeyId: EVIL_KEY, SecretAccessKey: EVIL_SECRET, Token: 't', Expiration: new Date(Date.now() + 3_600_000).toISOString() }));
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  // The attacker's folder (as a state dir an admin mistyped, or one left loose) with its own agent.json and token.
  const stateDir = path.join(evilHome, 'fake-state');
  const discovery = { pid: process.pid, url, credentialsUrl: `${url}/v1/credentials`, tokenFile: `${stateDir}/token`, imdsEndpoint: null, startedAt: new Date().toISOString() };
  asEvil(`mkdir -p ${stateDir} && printf '%s' '${JSON.stringify(discovery)}' > ${stateDir}/agent.json && printf 'stolen' > ${stateDir}/token`);
  // And the same planted into a root-owned state folder that is loose (0777).
  const loose = await freshState();
  await chmod(loose, 0o777);
  asEvil(`printf '%s' '${JSON.stringify({ ...discovery, tokenFile: `${loose}/token` })}' > ${loose}/agent.json && printf 'stolen' > ${loose}/token`);
  try {
    for (const dir of [stateDir, loose]) {
      const env = { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: goodCredentials };
      const cp = await runCli(['credential-process', '--state-dir', dir], { env });
      assert.equal(cp.code, 0, cp.stderr);
      assert.equal((JSON.parse(cp.stdout) as Record<string, string>).AccessKeyId, GOOD_KEY, 'direct mode: the trusted profile, not the fake agent');
      assert.equal((await runCli(['env', '--format', 'bash', '--state-dir', dir], { env })).code, 0);
      const exec = await runCli(['--state-dir', dir, 'exec', '--', 'sh', '-c', 'printf %s "$AWS_ACCESS_KEY_ID|$AWS_CONTAINER_CREDENTIALS_FULL_URI"'], { env });
      assert.equal(exec.stdout, `${GOOD_KEY}|`, exec.stderr);
      assert.equal((await runCli(['status', '--json', '--state-dir', dir], { env })).code, 0);
      const doctor = await runCli(['doctor', '--json', '--state-dir', dir], { env });
      const report = JSON.parse(doctor.stdout) as { findings: Array<{ code: string; path: string; message: string }> };
      assert.ok(report.findings.some((f) => f.code === 'agent-untrusted'), doctor.stdout);
    }
    assert.deepEqual(requests, [], 'the fake listener received nothing');
  } finally {
    await new Promise((r) => listener.close(r));
  }
});

test('the token path pre-planted as a symlink to a victim file: the victim is unchanged', { skip }, async () => {
  const victim = path.join(sandbox.dir, 'victim');
  await writeFile(victim, 'root:secret\n', { mode: 0o600 });
  const group = accounts.group('g');
  // Strict: the attacker-owned folder is refused outright.
  const foreign = path.join(evilHome, 'race-state');
  asEvil(`mkdir -p ${foreign} && ln -s ${victim} ${foreign}/token`);
  const refused = await runCli(['serve', '--state-dir', foreign, '--port', '0'], { env: { HOME: '/nonexistent', APPSTREAM_CREDS_TOKEN_GROUP: group.name }, timeoutMs: 30_000 });
  assert.equal(refused.code, 2, refused.stderr);
  // strictPermissions off (a rig): the agent starts there, and the rename replaces the link.
  const agent = startCli(['serve', '--state-dir', foreign, '--port', '0'], { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: goodCredentials, APPSTREAM_CREDS_TOKEN_GROUP: group.name, APPSTREAM_CREDS_STRICT_PERMISSIONS: 'false' });
  try {
    await waitForDiscovery(foreign, agent);
    assert.ok((await lstat(path.join(foreign, 'token'))).isFile(), 'the token is a regular file');
    assert.equal((await lstat(path.join(foreign, 'token'))).gid, group.gid);
  } finally {
    await agent.stop();
  }
  const after = await stat(victim);
  assert.equal(await readFile(victim, 'utf8'), 'root:secret\n');
  assert.equal(after.mode & 0o777, 0o600, 'mode unchanged');
  assert.equal(after.gid, 0, 'group unchanged');
});

test('a stale agent.lock whose pid now belongs to another process (reused) does not block; a live agent\'s lock does', { skip }, async () => {
  const stateDir = await freshState();
  const other = spawn('runuser', ['-u', evil.name, '--', 'sleep', '60'], { stdio: 'ignore' });
  try {
    await new Promise((r) => other.once('spawn', r));
    // The lock names the live pid with a start time that is not its own: a previous agent's.
    await writeFile(path.join(stateDir, 'agent.lock'), `${other.pid} 1`);
    const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0'], { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: goodCredentials });
    try {
      await waitForDiscovery(stateDir, agent);
      // While it runs, its own lock (with its real start time) keeps a second agent out.
      const second = await runCli(['serve', '--state-dir', stateDir, '--port', '0'], { env: { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: goodCredentials }, timeoutMs: 30_000 });
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, new RegExp(`another agent \\(pid ${agent.child.pid}\\)`));
    } finally {
      await agent.stop();
    }
  } finally {
    other.kill();
  }
});

test('doctor reports an untrusted profile file and a foreign state or log folder, each with its fix', { skip }, async () => {
  const logs = path.join(evilHome, 'doctor-logs');
  const state = path.join(evilHome, 'doctor-state');
  asEvil(`mkdir -p ${logs} ${state}`);
  const run = await runCli(['doctor', '--json', '--no-agent', '--state-dir', state], { env: plantedHomeEnv({ APPSTREAM_CREDS_LOG_DIR: logs }) });
  assert.equal(run.code, 6, run.stderr);
  const { findings } = JSON.parse(run.stdout) as { findings: Array<{ severity: string; code: string; message: string; fix: string }> };
  const find = (code: string) => findings.find((f) => f.code === code) ?? assert.fail(`no ${code} in ${run.stdout}`);
  assert.match(find('untrusted-profile').message, new RegExp(`owned by uid ${evil.uid} \\(${evil.name}\\)`));
  assert.match(find('untrusted-profile').fix, /chown root/);
  assert.equal(find('foreign-state-dir').severity, 'error');
  assert.equal(find('foreign-log-dir').severity, 'error');
  await assert.rejects(stat(marker), /ENOENT/, 'doctor did not run the planted credential_process');
  const off = await runCli(['doctor', '--json', '--no-agent', '--state-dir', state], { env: { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: goodCredentials, APPSTREAM_CREDS_STRICT_PERMISSIONS: 'false' } });
  const offFindings = (JSON.parse(off.stdout) as { findings: Array<{ code: string; severity: string }> }).findings;
  assert.equal(offFindings.find((f) => f.code === 'strict-permissions-off')?.severity, 'warning', off.stdout);
  assert.equal(offFindings.find((f) => f.code === 'foreign-state-dir')?.severity, 'warning', 'with strict off the folder is a warning');
});

async function waitForDiscovery(stateDir: string, agent: ReturnType<typeof startCli>): Promise<{ url: string; credentialsUrl: string; tokenFile: string; pid: number }> {
  let discovery: { url: string; credentialsUrl: string; tokenFile: string; pid: number } | undefined;
  await waitFor(
    async () => {
      discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as typeof discovery;
      return discovery?.pid === agent.child.pid;
    },
    20_000,
    () => `agent did not publish agent.json: ${agent.output()}`,
  );
  return discovery!;
}
