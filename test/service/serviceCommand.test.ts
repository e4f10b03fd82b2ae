import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerService, type ServiceCommandOverrides } from '../../src/cli/commands/service.js';
import type { CliContext } from '../../src/cli/context.js';
import { withSandbox } from '../helpers/sandbox.js';
import { RecordingRunner } from './fakes.js';
import type { FileOps } from '../../src/service/fileOps.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The OS's commands and files as fakes, and the machine facts the composition root would read. */
type Overrides = ServiceCommandOverrides & Partial<Pick<CliContext, 'platform' | 'execPath' | 'uid'>>;

/** The `service` command on a root program with the global flags, as program.ts builds it. */
async function service(argv: string[], overrides: Overrides, context: Partial<CliContext> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    io: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    env: {},
    cwd: '/',
    selfScript: '/somewhere/src/main.ts',
    onSignal: () => () => undefined,
    exit: () => undefined,
    isTTY: false,
    stderrIsTTY: false,
    platform: overrides.platform ?? process.platform,
    execPath: overrides.execPath ?? process.execPath,
    uid: overrides.uid ?? process.getuid?.(),
    homeDir: '/nonexistent-home',
    ...context,
  };
  const slot = { code: 0 };
  const program = new Command('appstream-creds').option('--config <file>').option('--profile <name>').option('--state-dir <dir>').option('--log-level <level>');
  registerService(program, { ctx, slot }, { ...(overrides.runner ? { runner: overrides.runner } : {}), ...(overrides.files ? { files: overrides.files } : {}) });
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: (t) => void (stdout += t), writeErr: (t) => void (stderr += t) });
    command.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { code: error.exitCode === 0 ? 0 : 2, stdout, stderr };
  }
  return { code: slot.code, stdout, stderr };
}

const systemctlShow = (active: boolean) => new RecordingRunner((command) => (command === 'systemctl' ? { stdout: `LoadState=loaded\nActiveState=${active ? 'active' : 'inactive'}\nSubState=${active ? 'running' : 'dead'}\nMainPID=${active ? 9 : 0}\n` } : undefined));

test('service status prints the state, --json gives data, exit 0 only when running', async () => {
  const running = await service(['service', 'status', '--json'], { platform: 'linux', runner: systemctlShow(true) });
  assert.equal(running.code, 0, running.stderr);
  assert.deepEqual(JSON.parse(running.stdout), { service: 'appstream-credential-agent', state: 'running', detail: 'active (running), pid 9' });
  const stopped = await service(['service', 'status'], { platform: 'linux', runner: systemctlShow(false) });
  assert.equal(stopped.code, 1);
  assert.equal(stopped.stdout, 'appstream-credential-agent: stopped (inactive (dead))\n');
});

test('live install without root is refused before any command runs; --root is Linux only', async () => {
  const runner = new RecordingRunner();
  const refused = await service(['service', 'install'], { platform: 'linux', runner, uid: 1000 });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^appstream-creds: changing the system service needs root/);
  assert.equal(runner.calls.length, 0);
  const windows = await service(['service', 'install', '--root', '/tmp/x'], { platform: 'win32', runner, uid: 0 });
  assert.equal(windows.code, 2);
  assert.match(windows.stderr, /--root .* Linux only/);
});

test('install --root stages files with the prefix taken from the running bundle, records a manifest, and uninstall --root removes them', async () => {
  await withSandbox(async (root) => {
    const bundle = path.join(root, 'opt', 'agent', 'dist', 'appstream-creds.cjs');
    mkdirSync(path.dirname(bundle), { recursive: true });
    writeFileSync(bundle, '// bundle');
    const runner = new RecordingRunner();
    const manifest = path.join(root, 'opt', 'agent', 'install-manifest.txt');
    const overrides: Overrides = { platform: 'linux', runner, uid: 1000, execPath: '/usr/bin/node' };
    const installed = await service(['--state-dir', '/var/lib/x', 'service', 'install', '--root', root, '--port', '9950', '--set-machine-env', '--manifest', manifest], overrides, { selfScript: bundle });
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /^appstream-credential-agent: staged$/m);
    assert.equal(runner.calls.length, 0, 'packaging runs no command and needs no root');
    const unit = readFileSync(path.join(root, 'etc/systemd/system/appstream-credential-agent.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/agent\/dist\/appstream-creds\.cjs serve$/m, 'prefix /opt/agent, without the staging root');
    assert.match(unit, /^Environment=APPSTREAM_CREDS_STATE_DIR=\/var\/lib\/x$/m);
    assert.match(readFileSync(path.join(root, 'etc/profile.d/appstream-creds.sh'), 'utf8'), /127\.0\.0\.1:9950/);
    const entries = readFileSync(manifest, 'utf8').trim().split('\n');
    for (const expected of ['/etc', '/etc/systemd/system/appstream-credential-agent.service', '/opt/agent/bin', '/opt/agent/bin/appstream-creds', '/usr/bin/appstream-creds', '/etc/profile.d/appstream-creds.sh']) {
      assert.ok(entries.includes(expected), `manifest lists ${expected}: ${entries.join(', ')}`);
    }

    const removed = await service(['service', 'uninstall', '--root', root], overrides, { selfScript: bundle });
    assert.equal(removed.code, 0, removed.stderr);
    assert.ok(!existsSync(path.join(root, 'etc/systemd/system/appstream-credential-agent.service')));
    assert.ok(!existsSync(path.join(root, 'etc/profile.d/appstream-creds.sh')));
    assert.ok(existsSync(bundle), 'the bundle itself belongs to the installer script');
  });
});

/** Real reads, writes only recorded: a live install in a test must not touch /etc. */
function recordingFiles(): FileOps & { writes: string[] } {
  const writes: string[] = [];
  const record = async (file: string): Promise<string[]> => {
    writes.push(file);
    return [];
  };
  return {
    writes,
    readText: async (file) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined),
    exists: async (file) => existsSync(file),
    writeAtomic: record,
    copy: (_from, to) => record(to),
    ensureDir: record,
    remove: async (file) => (await record(file), true),
    removeDirIfEmpty: async () => false,
    readLink: async () => undefined,
    symlink: (_target, file) => record(file),
  };
}

test('a live install refuses code other accounts could change (the service runs it as the agent): nothing is written or run', async () => {
  await withSandbox(async (root) => {
    const prefix = path.join(root, 'agent');
    const bundle = path.join(prefix, 'dist', 'appstream-creds.cjs');
    mkdirSync(path.dirname(bundle), { recursive: true });
    writeFileSync(bundle, '// bundle');
    chmodSync(path.join(prefix, 'dist'), 0o777);
    const install = (env: Record<string, string> = {}) => {
      const runner = new RecordingRunner();
      const files = recordingFiles();
      return service(['service', 'install', '--prefix', prefix, '--no-start'], { platform: 'linux', runner, files, uid: 0, execPath: process.execPath }, { env }).then((run) => ({ ...run, runner, files }));
    };

    const writableFolder = await install();
    assert.equal(writableFolder.code, 2, writableFolder.stdout);
    assert.match(writableFolder.stderr, new RegExp(`^appstream-creds: the service would run code other accounts can change: ${bundle.replace(/[/.]/g, '\\$&')} is not trusted: ${path.join(prefix, 'dist').replace(/[/.]/g, '\\$&')} is .*mode 0777.*nothing was installed\n$`));
    assert.deepEqual([writableFolder.runner.calls.length, writableFolder.files.writes], [0, []], 'refused before any command or file');

    chmodSync(path.join(prefix, 'dist'), 0o755);
    chmodSync(bundle, 0o666);
    const writableFile = await install();
    assert.equal(writableFile.code, 2);
    assert.match(writableFile.stderr, /appstream-creds\.cjs is not trusted: (?!.*is .*dist).*mode 0666/);

    const loose = await install({ APPSTREAM_CREDS_STRICT_PERMISSIONS: 'false' });
    assert.equal(loose.code, 0, loose.stderr);
    assert.match(loose.stdout, /^note: the service would run code other accounts can change: .* installed anyway because strictPermissions is false$/m);

    chmodSync(bundle, 0o644);
    const clean = await install();
    assert.equal(clean.code, 0, clean.stderr);
    assert.doesNotMatch(clean.stdout, /other accounts/);
    assert.ok(clean.files.writes.includes('/etc/systemd/system/appstream-credential-agent.service'), clean.files.writes.join(', '));
  });
});

test('install --root with imds on a privileged imdsPort grants the bind even when the agent port is not privileged', async () => {
  await withSandbox(async (root) => {
    const bundle = path.join(root, 'opt', 'agent', 'dist', 'appstream-creds.cjs');
    mkdirSync(path.dirname(bundle), { recursive: true });
    writeFileSync(bundle, '// bundle');
    const config = path.join(root, 'agent.json');
    writeFileSync(config, JSON.stringify({ imds: true, port: 9950, imdsPort: 951 }));
    const staged = await service(['--config', config, 'service', 'install', '--root', root], { platform: 'linux', runner: new RecordingRunner(), uid: 1000, execPath: '/usr/bin/node' }, { selfScript: bundle });
    assert.equal(staged.code, 0, staged.stderr);
    const unit = readFileSync(path.join(root, 'etc/systemd/system/appstream-credential-agent.service'), 'utf8');
    assert.match(unit, /^AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_NET_BIND_SERVICE$/m);
  });
});

test('bad settings are usage errors (exit 2) naming the setting', async () => {
  await withSandbox(async (root) => {
    const result = await service(['service', 'install', '--root', root, '--port', 'lots'], { platform: 'linux', runner: new RecordingRunner() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /setting port/);
  });
});

test('every service sub-command has help with an example', async () => {
  for (const sub of ['install', 'uninstall', 'start', 'stop', 'status']) {
    const help = await service(['service', sub, '--help'], { platform: 'linux', runner: new RecordingRunner() });
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`Examples?:\\n(.*\\n)*.*appstream-creds service ${sub}`), sub);
  }
});
