import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanEnv, repoRoot, runCli } from '../helpers/cli.js';
import { startCli, waitFor, type Discovery } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';

// Issue 4, acceptance 1: dist/ alone runs every flow. It is copied to a temp folder outside
// the repo, so walking up from it finds no node_modules, and run with NODE_PATH unset.
let tmp = '';
let cli = '';
let cleanup: () => Promise<void> = async () => {};
const env = (dir: string, extra: Record<string, string> = {}): Record<string, string | undefined> => ({
  NODE_PATH: undefined,
  AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
  AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
  APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
  ...extra,
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The copied bundle in the background, through the scanning helper. */
function start(args: string[], extraEnv: Record<string, string | undefined>) {
  const p = startCli(args, { NODE_PATH: undefined, ...extraEnv }, { cwd: tmp, script: cli });
  let stopped: Promise<Run> | undefined;
  const stop = (): Promise<Run> => (stopped ??= p.stop().then((code) => ({ code, stdout: p.stdout(), stderr: p.stderr() })));
  return { child: p.child, output: p.output, stop };
}

/** The copied bundle, run to completion through the scanning helper. */
function run(args: string[], extraEnv: Record<string, string | undefined> = { NODE_PATH: undefined }, timeoutMs = 60_000): Promise<Run> {
  return runCli(args, { env: { NODE_PATH: undefined, ...extraEnv }, cwd: tmp, script: cli, timeoutMs });
}

before(async () => {
  await stat(path.join(repoRoot, 'dist', 'appstream-creds.cjs')).catch(() => assert.fail('dist/ is missing: run `npm run build` first'));
  ({ dir: tmp, cleanup } = await makeSandbox());
  for (let up = tmp; up !== path.dirname(up); up = path.dirname(up)) {
    const found = await stat(path.join(up, 'node_modules')).then(() => true, () => false);
    assert.ok(!found, `${up}/node_modules exists, so this test could not prove the bundle needs none`);
  }
  await cp(path.join(repoRoot, 'dist'), path.join(tmp, 'dist'), { recursive: true });
  cli = path.join(tmp, 'dist', 'appstream-creds.cjs');
});
after(() => cleanup());

test('bundle: --help, and policy/saml --help', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: appstream-creds/);
  for (const kit of ['policy', 'saml']) {
    const r = await run([kit, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Usage: appstream-creds ${kit}`));
  }
});

test('bundle: the vendored pino-pretty and pino-roll load and work on their own', async () => {
  const vendor = path.join(tmp, 'dist', 'vendor');
  assert.ok((await readdir(vendor)).includes('pino-roll.cjs'));
  const script = `const { prettyFactory } = require(${JSON.stringify(path.join(vendor, 'pino-pretty.cjs'))});
    process.stdout.write(prettyFactory({ colorize: false })(JSON.stringify({ level: 30, time: 0, msg: 'hello' })));
    require(${JSON.stringify(path.join(vendor, 'pino-roll.cjs'))})({ file: ${JSON.stringify(path.join(tmp, 'roll', 'x'))}, mkdir: true, sync: true }).then((s) => { s.write('{}\\n'); s.end(); });`;
  const r = await runNode(script);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /INFO.*hello/);
  assert.deepEqual(await readdir(path.join(tmp, 'roll')), ['x.1.log']);
});

/** `node -e script` in the copied dist's folder, with no node_modules in reach. */
function runNode(script: string): Promise<Run> {
  return new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: tmp, env: cleanEnv({ NODE_PATH: undefined }) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('bundle: the launcher loads main.cjs through the code cache the build trained; a corrupt or missing cache changes nothing but speed', async () => {
  const dist = path.join(tmp, 'dist');
  const cacheUsed = (folder: string) => runNode(`process.stdout.write(String(require(${JSON.stringify(path.join(folder, 'appstream-creds.cjs'))}).loadMain(${JSON.stringify(folder)}).cacheUsed))`);
  const cacheName = `main.cjs.${process.platform}-${process.arch}-v8-${process.versions.v8}.cache`;
  const trained = await stat(path.join(dist, cacheName));
  assert.ok(trained.size > 100_000, `the cache holds the functions the training runs compiled (${trained.size} bytes), not just the top level`);
  assert.deepEqual(await cacheUsed(dist), { code: 0, stdout: 'true', stderr: '' });

  const dir = path.join(tmp, 'launcher');
  assert.equal((await run(['simulate', '--dir', dir, '--rotations', '1', '--validity', '1h'])).code, 0);
  const expected = JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as { AccessKeyId: string };
  for (const damage of ['corrupt', 'missing'] as const) {
    const copy = path.join(tmp, `dist-${damage}`);
    await cp(dist, copy, { recursive: true });
    if (damage === 'corrupt') await writeFile(path.join(copy, cacheName), randomBytes(trained.size));
    else await rm(path.join(copy, cacheName));
    assert.deepEqual(await cacheUsed(copy), { code: 0, stdout: 'false', stderr: '' }, damage);
    const r = await runCli(['credential-process'], { env: env(dir), cwd: tmp, script: path.join(copy, 'appstream-creds.cjs') });
    assert.equal(r.code, 0, `${damage}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { AccessKeyId: string }).AccessKeyId, expected.AccessKeyId, damage);
  }
});

test('bundle: simulate, credential-process (both forms), status --json, env, exec', async () => {
  for (const form of ['static', 'process'] as const) {
    const dir = path.join(tmp, form);
    const sim = await run(['simulate', '--dir', dir, '--form', form, '--rotations', '1', '--validity', '1h']);
    assert.equal(sim.code, 0, sim.stderr);
    const current = JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as Record<string, string>;
    const cp1 = await run(['credential-process'], env(dir));
    assert.equal(cp1.code, 0, `${form}: ${cp1.stderr}`);
    const out = JSON.parse(cp1.stdout) as Record<string, unknown>;
    assert.equal(out.Version, 1);
    assert.equal(out.AccessKeyId, current.AccessKeyId);
    assert.equal(typeof out.Expiration, 'string');
  }
  const dir = path.join(tmp, 'static');
  const status = await run(['status', '--json'], env(dir));
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { state: string }).state, 'ready');
  const shell = await run(['env', '--format', 'bash'], env(dir));
  assert.equal(shell.code, 0, shell.stderr);
  assert.match(shell.stdout, /AWS_ACCESS_KEY_ID=/);
  const exec = await run(['exec', '--', process.execPath, '-e', 'process.stdout.write(String(Boolean(process.env.AWS_SECRET_ACCESS_KEY)))'], env(dir));
  assert.equal(exec.code, 0, exec.stderr);
  assert.equal(exec.stdout, 'true');
});

test('bundle: serve answers a client; with APPSTREAM_CREDS_LOG_DIR it writes JSON log files', async () => {
  const dir = path.join(tmp, 'serve');
  assert.equal((await run(['simulate', '--dir', dir, '--rotations', '1', '--validity', '1h'])).code, 0);
  const current = JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as Record<string, string>;
  for (const logDir of [undefined, path.join(tmp, 'logs')]) {
    const agent = start(['serve', '--port', '0'], env(dir, logDir ? { APPSTREAM_CREDS_LOG_DIR: logDir } : {}));
    try {
      const discoveryFile = path.join(dir, 'state', 'agent.json');
      let discovery: Discovery | undefined;
      await waitFor(
        async () => {
          discovery = JSON.parse(await readFile(discoveryFile, 'utf8').catch(() => 'null')) as Discovery | undefined;
          return discovery?.pid === agent.child.pid;
        },
        15_000,
        () => `serve did not start: ${agent.output()}`,
      );
      const token = (await readFile(discovery!.tokenFile, 'utf8')).trim();
      await waitFor(async () => (await fetch(`${discovery!.url}/healthz`).catch(() => undefined))?.status === 200, 15_000, () => `not healthy: ${agent.output()}`);
      const response = await fetch(discovery!.credentialsUrl, { headers: { authorization: token } });
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { AccessKeyId: string }).AccessKeyId, current.AccessKeyId);
    } finally {
      const result = await agent.stop();
      assert.equal(result.code, 0, agent.output());
    }
    const { stderr } = await agent.stop();
    if (!logDir) {
      assert.match(stderr, /"msg":"agent listening"/, 'JSON lines on stderr when it is not a terminal');
      continue;
    }
    assert.ok(!stderr.includes('"msg"'), `service mode keeps stderr free of log lines: ${stderr}`);
    const files = await readdir(logDir);
    assert.equal(files.length, 1, files.join(', '));
    const lines = (await readFile(path.join(logDir, files[0]!), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    assert.ok(lines.some((l) => l.msg === 'agent listening'));
    assert.equal(lines.at(-1)!.msg, 'stopped');
  }
});

test('bundle: wait --timeout 10s', async (t) => {
  const dir = path.join(tmp, 'static');
  const r = await run(['wait', '--timeout', '10s'], env(dir), 30_000);
  if (r.code === 3) {
    // Only a network timeout may excuse it, and then the test is reported skipped, not passed.
    assert.match(r.stderr, /timed out after 10s waiting for the network: /, r.stderr);
    t.skip(`this machine has no ENI with a default route, so wait cannot become ready (exit 3): ${r.stderr.trim().split('\n').pop()}`);
    return;
  }
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ready after .*credentials key …/);
});

test('bundle: serve at a terminal prints readable, coloured lines (pino-pretty)', async (t) => {
  const hasScript = await stat('/usr/bin/script').then(() => true, () => false);
  if (!hasScript) return t.skip('util-linux `script` (gives serve a pseudo-terminal) is not installed');
  const dir = path.join(tmp, 'tty');
  assert.equal((await run(['simulate', '--dir', dir, '--rotations', '1', '--validity', '1h'])).code, 0);
  const command = [process.execPath, cli, 'serve', '--port', '0'].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: tmp, env: cleanEnv(env(dir)), stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitFor(async () => /ready/.test(output), 15_000, () => `no readable state line: ${output}`);
  } finally {
    const discovery = JSON.parse(await readFile(path.join(dir, 'state', 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | null;
    if (discovery) process.kill(discovery.pid, 'SIGTERM');
    else child.kill('SIGTERM');
    await closed;
  }
  assert.match(output, /\[\d{2}:\d{2}:\d{2}\.\d{3}\] \x1b\[32mINFO\x1b\[39m: .*agent listening/);
  assert.ok(!output.includes('"msg"'), `no JSON lines at a terminal: ${output}`);
});
