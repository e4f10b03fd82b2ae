import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { windowsServicePaths } from '../../src/service/windowsServiceManager.js';
import { parseDuration } from '../../src/config/duration.js';
import { repoRoot, runCli } from '../helpers/cli.js';

const sample = (name: string): string => path.join(repoRoot, 'installer', 'appstream', name);

interface Executable {
  context: string;
  filename: string;
  arguments: string;
  s3LogEnabled: boolean;
}

/** AppStream's documented session-scripts shape (Administration Guide, "Session Scripts Configuration File"). */
function checkShape(config: unknown): Record<'SessionStart' | 'SessionTermination', { executables: Executable[]; waitingTime: number }> {
  assert.ok(config && typeof config === 'object' && !Array.isArray(config));
  assert.deepEqual(Object.keys(config).sort(), ['SessionStart', 'SessionTermination']);
  for (const [event, value] of Object.entries(config)) {
    const { executables, waitingTime, ...rest } = value as { executables: unknown; waitingTime: unknown };
    assert.deepEqual(rest, {}, `${event}: only executables and waitingTime`);
    assert.ok(Number.isInteger(waitingTime) && (waitingTime as number) > 0 && (waitingTime as number) <= 60, `${event}.waitingTime is at most 60 s`);
    assert.ok(Array.isArray(executables) && executables.length >= 1 && executables.length <= 2, `${event}: one or two executables`);
    const contexts = (executables as Executable[]).map((e) => e.context);
    assert.equal(new Set(contexts).size, contexts.length, `${event}: at most one per context`);
    for (const executable of executables as Executable[]) {
      assert.deepEqual(Object.keys(executable).sort(), ['arguments', 'context', 'filename', 's3LogEnabled']);
      assert.ok(['system', 'user'].includes(executable.context));
      assert.equal(typeof executable.filename, 'string');
      assert.ok(executable.filename.length <= 1000);
      assert.equal(typeof executable.arguments, 'string');
      assert.equal(typeof executable.s3LogEnabled, 'boolean');
    }
  }
  return config as ReturnType<typeof checkShape>;
}

const cases = [
  { file: 'config.json', launcher: windowsServicePaths('C:\\Program Files\\AppStreamCredentialAgent').launcher },
  { file: 'config.linux.json', launcher: '/opt/appstream-credential-agent/bin/appstream-creds' },
];

for (const { file, launcher } of cases) {
  test(`${file}: AppStream's session-scripts shape; SessionStart (system) waits, with a timeout below waitingTime`, () => {
    const config = checkShape(JSON.parse(readFileSync(sample(file), 'utf8')));
    const start = config.SessionStart;
    const system = start.executables.find((e) => e.context === 'system');
    assert.ok(system, 'a system-context entry');
    assert.equal(system.filename, launcher, 'the launcher that `service install` writes');
    const match = /^wait --timeout (\S+)$/.exec(system.arguments);
    assert.ok(match, system.arguments);
    const timeoutMs = parseDuration(match[1]!, 'timeout');
    assert.equal(timeoutMs, 50_000);
    assert.ok(timeoutMs < start.waitingTime * 1000, 'wait gives its own verdict before AppStream stops it');
  });
}

test('the session-script arguments are valid for the real CLI (a short timeout ends in 3 or 4, never a usage error)', { timeout: 60_000 }, async () => {
  const config = checkShape(JSON.parse(readFileSync(sample('config.linux.json'), 'utf8')));
  const args = config.SessionStart.executables.find((e) => e.context === 'system')!.arguments.replace(/--timeout \S+/, '--timeout 1s').split(' ');
  const result = await runCli([...args, '--state-dir', path.join(repoRoot, '.tmp', 'no-agent-here')], { env: { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config' } });
  assert.ok(result.code === 3 || result.code === 4, `exit ${result.code}: ${result.stderr}`);
});

test('image builder startup samples wait 300 s before the administrator step; the .sh is valid POSIX sh', () => {
  for (const file of ['image-builder-startup.ps1', 'image-builder-startup.sh']) {
    const text = readFileSync(sample(file), 'utf8');
    const waitAt = text.search(/ wait --timeout 300s/);
    const execAt = text.search(/ exec -- /);
    assert.ok(waitAt > 0 && execAt > waitAt, `${file}: wait, then the step`);
  }
  assert.equal(spawnSync('sh', ['-n', sample('image-builder-startup.sh')]).status, 0);
  const py = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', sample('use_machine_role.py')], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const ps = readFileSync(sample('use-machine-role.ps1'), 'utf8');
  assert.match(ps, /\$env:AWS_CONTAINER_CREDENTIALS_FULL_URI = \$agent\.credentialsUrl/);
  assert.match(ps, /agent\.json/);
});

for (const file of ['elastic/config.json', 'elastic/config.linux.json']) {
  test(`${file}: Elastic fleet session scripts start the agent within the 60 s limit and stop it at the end`, () => {
    const config = checkShape(JSON.parse(readFileSync(sample(file), 'utf8')));
    const start = config.SessionStart.executables.find((e) => e.context === 'system');
    assert.ok(start, 'a system-context entry');
    const match = /^start --timeout (\S+)$/.exec(start.arguments);
    assert.ok(match, start.arguments);
    const timeoutMs = parseDuration(match[1]!, 'timeout');
    assert.ok(timeoutMs < config.SessionStart.waitingTime * 1000, 'start gives its own verdict before AppStream stops it');
    const stop = config.SessionTermination.executables.find((e) => e.context === 'system');
    assert.equal(stop?.arguments, 'stop');
    assert.equal(stop?.filename, start.filename);
    assert.match(start.filename, file.endsWith('linux.json') ? /^\/opt\/appstream\/AppBlocks\/[^/]+\/appstream-creds$/ : /^C:\\AppStream\\AppBlocks\\[^\\]+\\appstream-creds\.bat$/);
  });
}

test('elastic/setup-app-block.sh builds the launcher in an app block; start and stop run through it', { skip: process.platform === 'win32' ? 'POSIX shell script' : process.getuid?.() !== 0 ? 'needs root (install -o root)' : false }, async () => {
  const { mkdtemp, cp, mkdir, rm, writeFile, chmod, symlink } = await import('node:fs/promises');
  const os = await import('node:os');
  const block = await mkdtemp(path.join(os.tmpdir(), 'field-appblock-'));
  let pid = 0;
  try {
    await chmod(block, 0o755);
    await cp(path.join(repoRoot, 'dist'), path.join(block, 'dist'), { recursive: true });
    await cp(sample('elastic/setup-app-block.sh'), path.join(block, 'setup-app-block.sh'));
    await mkdir(path.join(block, 'node', 'bin'), { recursive: true });
    await symlink(process.execPath, path.join(block, 'node', 'bin', 'node'));
    const state = path.join(block, 'state');
    const setup = spawnSync('sh', [path.join(block, 'setup-app-block.sh')], { encoding: 'utf8', env: { ...process.env, APPSTREAM_CREDS_STATE_DIR: state } });
    assert.equal(setup.status, 0, setup.stderr);
    assert.match(setup.stdout, /appstream-creds ready/);
    await mkdir(path.join(block, '.aws'));
    const credentials = path.join(block, '.aws', 'credentials');
    await writeFile(credentials, '[appstream_machine_role]\naws_access_key_id = ASIAFIELDAPPBLOCK001\naws_secret_access_key = FieldAppBlockSecretFieldAppBlockSecret01\naws_session_token = t\n', { mode: 0o600 });
    const env = { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: path.join(block, '.aws', 'config'), APPSTREAM_CREDS_STATE_DIR: state };
    const launcher = path.join(block, 'appstream-creds');
    const run = spawnSync(launcher, ['start', '--port', '0', '--timeout', '30s', '--json'], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    pid = (JSON.parse(run.stdout) as { pid: number }).pid;
    const stop = spawnSync(launcher, ['stop'], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });
    assert.equal(stop.stdout, `agent stopped (pid ${pid})\n`, stop.stderr);
    pid = 0;
  } finally {
    if (pid) process.kill(pid, 'SIGKILL');
    await rm(block, { recursive: true, force: true });
  }
});
