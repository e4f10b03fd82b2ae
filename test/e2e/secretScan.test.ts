/**
 * The structural secret scan itself (test/helpers/leakScan.ts): it must catch each form of a
 * leak in the processes the helpers start, allow credentials only where they are the product,
 * and no test may start the CLI, the daemon or the demo around it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot, runCli, runProgram } from '../helpers/cli.js';
import { startCli } from '../helpers/daemon.js';
import { findLeak, registerSecret } from '../helpers/leakScan.js';
import { withSandbox } from '../helpers/sandbox.js';

const fresh = (): string => randomBytes(30).toString('base64');

test('the scan finds a secret raw, URL-encoded, inside base64 at every alignment, and any 16-character fragment', () => {
  const secret = `${fresh()}/+=`;
  registerSecret('scan self-test secret', secret);
  const cases: Array<[string, string]> = [
    ['raw', `error: ${secret}`],
    ['URL-encoded', `GET /x?k=${encodeURIComponent(secret)}`],
    ['16-character fragment', `prefix ${secret.slice(7, 23)} suffix`],
  ];
  for (const pad of ['', 'a', 'ab']) cases.push([`base64, ${pad.length} bytes before`, Buffer.from(`${pad}{"SecretAccessKey":"${secret}"}`).toString('base64')]);
  cases.push(['base64url', Buffer.from(`xy${secret}`).toString('base64url')]);
  for (const [form, text] of cases) assert.ok(findLeak(text, form), `${form} not found`);
  assert.equal(findLeak(`${secret.slice(0, 15)} and ${secret.slice(15, 30)}`, 'two short pieces'), undefined, 'fragments under 16 characters are not leaks');
  const leak = findLeak(`x ${secret} y`, 'message')!;
  assert.ok(!JSON.stringify(leak).includes(secret.slice(0, 16)), 'the report masks the secret');
});

test('runProgram fails a run that prints a known secret on stderr, and on stdout unless credentials are its product', async () => {
  const secret = fresh();
  registerSecret('runProgram self-test', secret);
  await assert.rejects(runProgram('sh', ['-c', `printf '%s' "$S" >&2`], { env: { S: secret } }), /secret leak: stderr of sh/);
  await assert.rejects(runProgram('sh', ['-c', `printf '%s' "$S"`], { env: { S: secret } }), /secret leak: stdout of sh/);
  const allowed = await runProgram('sh', ['-c', `printf '%s' "$S"`], { env: { S: secret }, credentialsOnStdout: true });
  assert.equal(allowed.stdout, secret);
  // The agent token is never product output.
  const token = fresh();
  registerSecret('agent token self-test', token, 'token');
  await assert.rejects(runProgram('sh', ['-c', `printf '%s' "$S"`], { env: { S: token }, credentialsOnStdout: true }), /secret leak: stdout of sh/);
});

test('a sandbox profile is known without any registration: credential-process may print it, exec may not put it on stderr', () =>
  withSandbox(async (dir) => {
    const secret = fresh().slice(0, 40);
    await mkdir(path.join(dir, '.aws'), { recursive: true, mode: 0o700 });
    await writeFile(
      path.join(dir, '.aws', 'credentials'),
      `[appstream_machine_role]\naws_access_key_id = AKIASCANSELFTEST0001\naws_secret_access_key = ${secret}\n`,
      { mode: 0o600 },
    );
    const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'no-config'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state') };
    const printed = await runCli(['credential-process'], { env });
    assert.equal(printed.code, 0, printed.stderr);
    assert.ok(printed.stdout.includes(secret), 'credential-process prints the secret: that is its contract');
    await assert.rejects(runCli(['exec', '--', 'sh', '-c', 'echo "$AWS_SECRET_ACCESS_KEY" >&2'], { env }), /secret leak: stderr of .* exec/);
    // A background process: stop() reports it.
    const running = startCli(['exec', '--', 'sh', '-c', 'echo "$AWS_SECRET_ACCESS_KEY" | base64 >&2; sleep 30'], env);
    await new Promise((r) => setTimeout(r, 1_000));
    await assert.rejects(running.stop(), /secret leak: stderr of appstream-creds exec/);
  }));

test('log files count: a known secret in the log folder or in <state-dir>/start.log fails the run that may have written it', () =>
  withSandbox(async (dir) => {
    const secret = fresh();
    registerSecret('log self-test', secret);
    const stateDir = path.join(dir, 'state');
    const logDir = path.join(dir, 'logs');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await mkdir(logDir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(logDir, 'agent.1.log'), `{"msg":"x","detail":"${secret}"}\n`);
    await assert.rejects(runCli(['status', '--state-dir', stateDir], { env: { APPSTREAM_CREDS_LOG_DIR: logDir } }), /secret leak: log file .*agent\.1\.log/);
    await writeFile(path.join(stateDir, 'start.log'), `serve said ${secret}\n`);
    await assert.rejects(runCli(['status', '--state-dir', stateDir]), /secret leak: log file .*start\.log/);
  }));

/** Where a call's argument list ends (parentheses balanced, strings skipped roughly). */
function callText(source: string, open: number): string {
  let depth = 0;
  for (let i = open; i < source.length; i += 1) {
    const c = source[i];
    if (c === '(') depth += 1;
    else if (c === ')' && --depth === 0) return source.slice(open, i + 1);
  }
  return source.slice(open);
}

const CHILD_PROCESS_CALL = /(?<![.\w])(spawn|spawnSync|execFile|execFileSync|execSync|fork)\s*\(/g;
/** What marks a call as starting our CLI, daemon or demo. */
const STARTS_OURS = /cliPath|\bdist\b|appstream-creds\.(cjs|exe)|bin\/appstream-creds|bundle|demo\.mjs|\[\s*cli\b/;

async function testFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (full !== path.join(repoRoot, 'test', 'helpers')) out.push(...(await testFiles(full)));
    } else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

test('lint: no test file starts the CLI, the daemon or the demo except through test/helpers (runCli, runProgram, startCli)', async () => {
  const offenders: string[] = [];
  const files = await testFiles(path.join(repoRoot, 'test'));
  assert.ok(files.length > 20, `found only ${files.length} test files`);
  for (const file of files) {
    const source = await readFile(file, 'utf8');
    for (const match of source.matchAll(CHILD_PROCESS_CALL)) {
      const call = callText(source, match.index + match[0].length - 1);
      if (STARTS_OURS.test(call)) {
        const line = source.slice(0, match.index).split('\n').length;
        offenders.push(`${path.relative(repoRoot, file)}:${line}: ${call.slice(0, 100).replace(/\s+/g, ' ')}`);
      }
    }
  }
  assert.deepEqual(offenders, [], 'start these through test/helpers/cli.ts or daemon.ts so their output is scanned for secrets');
});

test('lint: the check itself catches a direct spawn of the bundle', () => {
  // Joined at run time, so this file's own source holds no such call.
  const sample = ['const c = spawn', "(process.execPath, [cliPath, 'serve']);\n", 'spawnSync', "(node, [bundle, 'x']);\n", 'spawn', "(process.execPath, ['-e', '0']);\n", '/x/.exec(s);'].join('');
  const hits = [...sample.matchAll(CHILD_PROCESS_CALL)].map((m) => callText(sample, m.index + m[0].length - 1)).filter((call) => STARTS_OURS.test(call));
  assert.equal(hits.length, 2, hits.join(' | '));
});
