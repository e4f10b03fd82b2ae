/**
 * Acceptance point 5: bad input. Each case ends with its contract exit code (5 for an
 * unreadable or unusable credentials source, 2 for recursion and usage errors) and exactly one
 * line on stderr, `appstream-creds: …`, with no stack trace, naming the file (and line where
 * it matters), and never containing the secret the test wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliPath, runCli, type CliRun } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';

/** Looks like a real secret access key (40 base64-ish characters) and is unique per run. */
const SECRET = randomBytes(30).toString('base64');
const KEY_ID = 'AKIAEXAMPLEBADINPUT1';
const PROFILE = 'appstream_machine_role';

interface Expect {
  code: number;
  /** Substrings the one stderr line must contain (file path, line number, setting…). */
  mentions: string[];
}

function assertOneLineError(run: CliRun, expect: Expect): string {
  const lines = run.stderr.split(/\r?\n/).filter((line) => line.trim() !== '');
  assert.equal(run.code, expect.code, `exit code; stderr: ${run.stderr}`);
  assert.equal(lines.length, 1, `exactly one stderr line, got:\n${run.stderr}`);
  const line = lines[0]!;
  assert.ok(line.startsWith('appstream-creds: '), line);
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack frame');
  assert.doesNotMatch(line, /internal error/, 'a bad input is not a bug');
  for (const mention of expect.mentions) assert.ok(line.includes(mention), `"${line}" should mention ${mention}`);
  assert.ok(!run.stderr.includes(SECRET), 'the secret must not appear on stderr');
  assert.equal(run.stdout, '', 'nothing on stdout on failure');
  return line;
}

/** The tool's environment: only the given files are searched; the state dir is the sandbox's. */
function envFor(dir: string, files: { credentials?: string; config?: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: dir,
    APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
    ...(files.credentials ? { AWS_SHARED_CREDENTIALS_FILE: files.credentials } : {}),
    ...(files.config ? { AWS_CONFIG_FILE: files.config } : {}),
    ...extra,
  };
}

const credentialProcess = (dir: string, file: string, extra?: Record<string, string>): Promise<CliRun> =>
  runCli(['credential-process'], { env: envFor(dir, { credentials: file }, extra) });

/** A config file whose machine-role profile runs `command` as its credential_process. */
async function processProfile(dir: string, command: string): Promise<string> {
  const file = path.join(dir, 'config');
  await writeFile(file, `[profile ${PROFILE}]\ncredential_process = ${command}\n`);
  return file;
}

const runProcessProfile = (dir: string, config: string, extra?: Record<string, string>): Promise<CliRun> =>
  runCli(['credential-process'], { env: envFor(dir, { config }, extra) });

test('a missing file: exit 5, names the file', () =>
  withSandbox(async (dir) => {
    const file = path.join(dir, 'no-such-credentials');
    assertOneLineError(await credentialProcess(dir, file), { code: 5, mentions: [file, PROFILE] });
  }));

test('a missing profile: exit 5, names the profile and the file, not the other profile\'s secret', () =>
  withSandbox(async (dir) => {
    const file = path.join(dir, 'credentials');
    await writeFile(file, `[other]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\n`);
    assertOneLineError(await credentialProcess(dir, file), { code: 5, mentions: [file, PROFILE, 'not found'] });
  }));

test('a profile with keys missing: exit 5, names the missing key', () =>
  withSandbox(async (dir) => {
    const onlyId = path.join(dir, 'only-id');
    await writeFile(onlyId, `[${PROFILE}]\naws_access_key_id = ${KEY_ID}\n`);
    assertOneLineError(await credentialProcess(dir, onlyId), { code: 5, mentions: [onlyId, 'aws_secret_access_key'] });
    const onlySecret = path.join(dir, 'only-secret');
    await writeFile(onlySecret, `[${PROFILE}]\naws_secret_access_key = ${SECRET}\n`);
    assertOneLineError(await credentialProcess(dir, onlySecret), { code: 5, mentions: [onlySecret, 'aws_access_key_id'] });
  }));

test('a truncated file (cut mid section header): exit 5, names file and line', () =>
  withSandbox(async (dir) => {
    const cut = path.join(dir, 'cut');
    await writeFile(cut, `[${PROFILE.slice(0, 12)}`);
    assertOneLineError(await credentialProcess(dir, cut), { code: 5, mentions: [`${cut}:1:`, 'malformed'] });
    const cutLater = path.join(dir, 'cut-later');
    await writeFile(cutLater, `[other]\naws_secret_access_key = ${SECRET}\n[appstream_mach`);
    assertOneLineError(await credentialProcess(dir, cutLater), { code: 5, mentions: [`${cutLater}:3:`] });
  }));

test('a malformed line holding a secret is reported by line number without its content', () =>
  withSandbox(async (dir) => {
    const file = path.join(dir, 'credentials');
    await writeFile(file, `[${PROFILE}]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key ${SECRET}\n`);
    assertOneLineError(await credentialProcess(dir, file), { code: 5, mentions: [`${file}:3:`] });
  }));

test('garbage bytes: exit 5, names file and the line where the binary starts', () =>
  withSandbox(async (dir) => {
    const binary = path.join(dir, 'binary');
    await writeFile(binary, Buffer.concat([Buffer.from([0xff, 0x00]), randomBytes(512)]));
    assertOneLineError(await credentialProcess(dir, binary), { code: 5, mentions: [`${binary}:1:`, 'not a text file'] });
    const tail = path.join(dir, 'binary-tail');
    await writeFile(tail, Buffer.concat([Buffer.from(`[${PROFILE}]\naws_secret_access_key = ${SECRET}\n`), Buffer.from([0xfe, 0x00]), randomBytes(256)]));
    assertOneLineError(await credentialProcess(dir, tail), { code: 5, mentions: [`${tail}:3:`] });
  }));

test('a credential_process that fails (exit 1): exit 5, its last stderr line masked', () =>
  withSandbox(async (dir) => {
    const script = path.join(dir, 'fail.sh');
    await writeFile(script, `echo "cannot reach the broker, key ${SECRET}" >&2\nexit 1\n`);
    const line = assertOneLineError(await runProcessProfile(dir, await processProfile(dir, `sh "${script}"`)), {
      code: 5,
      mentions: [PROFILE, 'credential_process failed (exit 1)', 'cannot reach the broker'],
    });
    assert.match(line, /\[masked\]/);
  }));

test('a credential_process error names the config file', () =>
  withSandbox(async (dir) => {
    const script = path.join(dir, 'fail.sh');
    await writeFile(script, 'exit 1\n');
    const config = await processProfile(dir, `sh "${script}"`);
    assertOneLineError(await runProcessProfile(dir, config), { code: 5, mentions: [config] });
  }));

const processGone = async (pid: number): Promise<boolean> => {
  // A zombie waiting for its (init) reaper is gone for our purposes.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || /^\d+ \(.*\) Z /.test(stat);
};

test('a credential_process that hangs is killed after APPSTREAM_CREDS_PROCESS_TIMEOUT, with everything it started', () =>
  withSandbox(async (dir) => {
    const pidFile = path.join(dir, 'sleep.pid');
    const script = path.join(dir, 'hang.sh');
    // The sleep outlasts runCli's 60 s hang guard: had the timeout not killed it, the run would
    // end killed by the guard (no exit code) instead of exit 5.
    await writeFile(script, `sleep 3600 &\necho $! > "${pidFile}"\nwait\n`);
    const run = await runProcessProfile(dir, await processProfile(dir, `sh "${script}"`), { APPSTREAM_CREDS_PROCESS_TIMEOUT: '1s' });
    assertOneLineError(run, { code: 5, mentions: [PROFILE, 'did not finish within 1000 ms', 'killed'] });
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    assert.ok(pid > 0, 'the script recorded its sleep');
    let gone = false;
    for (const end = Date.now() + 30_000; !gone && Date.now() < end; ) {
      gone = await processGone(pid);
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    if (!gone) process.kill(pid, 'SIGKILL'); // our own child's grandchild: do not leave it behind
    assert.ok(gone, `the sleep (pid ${pid}) must be killed with the credential_process`);
  }));

test('a credential_process that prints invalid JSON: exit 5, the output is not echoed', () =>
  withSandbox(async (dir) => {
    const out = path.join(dir, 'out.json');
    await writeFile(out, `{"Version": 1, "AccessKeyId": "${KEY_ID}", "SecretAccessKey": "${SECRET}"`);
    assertOneLineError(await runProcessProfile(dir, await processProfile(dir, `cat "${out}"`)), { code: 5, mentions: [PROFILE, 'invalid JSON'] });
  }));

test('a credential_process that runs this tool on the same profile is refused (exit 2), without recursing', () =>
  withSandbox(async (dir) => {
    const config = await processProfile(dir, `"${process.execPath}" "${cliPath}" credential-process`);
    const run = await runProcessProfile(dir, config);
    assertOneLineError(run, { code: 2, mentions: [config, 'recursion refused'] });
  }));

test('the same recursion through a wrapper script is stopped by the environment guard', () =>
  withSandbox(async (dir) => {
    const wrapper = path.join(dir, 'wrapper.sh');
    await writeFile(wrapper, `exec "${process.execPath}" "${cliPath}" credential-process\n`);
    const run = await runProcessProfile(dir, await processProfile(dir, `sh "${wrapper}"`), { APPSTREAM_CREDS_PROCESS_TIMEOUT: '20s' });
    // The inner call refuses with exit 2 and the outer one passes the config error on as 2.
    assertOneLineError(run, { code: 2, mentions: [PROFILE, 'recursion refused'] });
  }));

test('a bad setting: exit 2, names the setting, where it came from and the allowed form', () =>
  withSandbox(async (dir) => {
    const run = await runCli(['credential-process'], { env: envFor(dir, {}, { APPSTREAM_CREDS_VALIDITY: 'forever' }) });
    assertOneLineError(run, { code: 2, mentions: ['validity', 'APPSTREAM_CREDS_VALIDITY', '"forever"', '90s, 10m or 1h'] });
  }));

test('a --config file with an unknown key or broken JSON: exit 2, names the file and the position, never the content', () =>
  withSandbox(async (dir) => {
    const config = path.join(dir, 'settings.json');
    await writeFile(config, JSON.stringify({ validity: '1h', refreshIntervall: '1h' }));
    const run = await runCli(['--config', config, 'credential-process'], { env: envFor(dir, {}) });
    const line = assertOneLineError(run, { code: 2, mentions: [config, 'line 1, column 18', 'did you mean refreshInterval?'] });
    assert.ok(!line.includes('refreshIntervall'), line);
    await writeFile(config, `{\n  "validity": "1h",\n  "region": K${SECRET}\n}\n`);
    const broken = assertOneLineError(await runCli(['--config', config, 'credential-process'], { env: envFor(dir, {}) }), { code: 2, mentions: [config, 'not valid JSON at line 3, column 13'] });
    for (const piece of [SECRET, SECRET.slice(0, 8), '"1h"']) assert.ok(!broken.includes(piece), broken);
  }));

test('a half-written file that is completed shortly after is retried and succeeds', () =>
  withSandbox(async (dir) => {
    const file = path.join(dir, 'credentials');
    await writeFile(file, `[${PROFILE}]\n`);
    const pending = credentialProcess(dir, file);
    // The source retries a transient failure for ~750 ms; complete the file well inside that.
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(`${file}.tmp`, `[${PROFILE}]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\n`);
    await rename(`${file}.tmp`, file);
    const run = await pending;
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(json.AccessKeyId, KEY_ID);
    assert.equal(json.SecretAccessKey, SECRET);
  }));
