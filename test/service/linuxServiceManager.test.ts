import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServiceManager } from '../../src/service/createServiceManager.js';
import type { ServiceInstallConfig } from '../../src/service/managerTypes.js';
import { parseSystemctlShow } from '../../src/service/systemdStatus.js';
import { isAgentError } from '../../src/errors.js';
import { withSandbox } from '../helpers/sandbox.js';
import { RecordingRunner } from './fakes.js';

const PREFIX = '/opt/appstream-credential-agent';
const UNIT = '/etc/systemd/system/appstream-credential-agent.service';
const STATE = '/var/lib/appstream-credential-agent';

const config = (overrides: Partial<ServiceInstallConfig> = {}): ServiceInstallConfig => ({
  nodePath: '/usr/bin/node',
  stateDir: STATE,
  port: 9920,
  logMaxSizeMb: 10,
  logMaxFiles: 5,
  setMachineEnv: false,
  start: true,
  ...overrides,
});

/** A systemd host whose files live under `root`: accounts, unit state and `install -d` simulated. */
class FakeSystemd {
  groups = new Set<string>(['root']);
  users = new Set<string>(['root']);
  loaded = false;
  enabled = false;
  active = false;
  restarts = 0;
  version = 239;
  readonly runner: RecordingRunner;
  constructor(readonly root: string) {
    this.runner = new RecordingRunner((command, args) => this.answer(command, args));
  }
  private answer(command: string, args: readonly string[]) {
    const a = [...args];
    if (command === 'getent') return (a[0] === 'group' ? this.groups : this.users).has(a[1]!) ? { stdout: `${a[1]}:x:999:` } : { code: 2 };
    if (command === 'groupadd') this.groups.add(a.at(-1)!);
    if (command === 'useradd') this.users.add(a.at(-1)!);
    if (command === 'install') mkdirSync(path.join(this.root, a.at(-1)!), { recursive: true });
    if (command !== 'systemctl') return undefined;
    switch (a[0]) {
      case '--version':
        return { stdout: `systemd ${this.version} (${this.version}-78.el8)\n+PAM +AUDIT` };
      case 'daemon-reload':
        this.loaded = existsSync(path.join(this.root, UNIT));
        return undefined;
      case 'enable':
        this.enabled = true;
        if (a.includes('--now')) this.active = true;
        return undefined;
      case 'disable':
        this.enabled = false;
        if (a.includes('--now')) this.active = false;
        return undefined;
      case 'restart':
        this.restarts += 1;
        this.active = true;
        return undefined;
      case 'start':
      case 'stop':
        this.active = a[0] === 'start';
        return undefined;
      case 'show':
        if (!this.loaded) return { stdout: 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\n' };
        return { stdout: `LoadState=loaded\nActiveState=${this.active ? 'active' : 'inactive'}\nSubState=${this.active ? 'running' : 'dead'}\nMainPID=${this.active ? 4242 : 0}\nUnitFileState=${this.enabled ? 'enabled' : 'disabled'}\n` };
      default:
        return undefined;
    }
  }
}

async function hostWithBundle(root: string): Promise<FakeSystemd> {
  await mkdir(path.join(root, PREFIX, 'dist'), { recursive: true });
  await writeFile(path.join(root, PREFIX, 'dist', 'appstream-creds.cjs'), '// bundle');
  return new FakeSystemd(root);
}
const live = (host: FakeSystemd) => createServiceManager('linux', host.runner, { prefix: PREFIX, root: host.root, packaging: false });

test('linux install: user and group, state folders, unit, launcher, link, daemon-reload and enable --now', async () => {
  await withSandbox(async (root) => {
    const host = await hostWithBundle(root);
    const outcome = await live(host).install(config());
    assert.equal(outcome.action, 'installed');
    const runner = host.runner;
    const useradd = ['useradd', '--system', '--gid', 'appstream-creds', '--home-dir', STATE, '--no-create-home', '--shell', '/sbin/nologin', '--comment', 'AppStream credential agent', 'appstream-creds'];
    for (const expected of [
      ['groupadd', '--system', 'appstream-creds'],
      useradd,
      ['install', '-d', '-o', 'appstream-creds', '-g', 'appstream-creds', '-m', '0755', STATE],
      ['install', '-d', '-o', 'appstream-creds', '-g', 'appstream-creds', '-m', '0750', `${STATE}/logs`],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'appstream-credential-agent.service'],
    ]) {
      assert.ok(runner.has(expected), `missing ${JSON.stringify(expected)} in\n${runner.describe()}`);
    }
    assert.ok(runner.indexOf(['groupadd', '--system', 'appstream-creds']) < runner.indexOf(useradd), 'group before the user that needs it');
    assert.equal(host.active && host.enabled, true);
    assert.deepEqual((await live(host).status()).state, 'running');

    const unit = await readFile(path.join(root, UNIT), 'utf8');
    assert.equal(statSync(path.join(root, UNIT)).mode & 0o777, 0o644);
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/appstream-credential-agent\/dist\/appstream-creds\.cjs serve$/m);
    assert.match(unit, /^User=appstream-creds$/m);
    assert.match(unit, /^Group=appstream-creds$/m);
    assert.match(unit, /^Environment=APPSTREAM_CREDS_TOKEN_GROUP=appstream-creds$/m);
    assert.match(unit, /^ReadWritePaths=\/var\/lib\/appstream-credential-agent$/m);
    const launcher = path.join(root, PREFIX, 'bin', 'appstream-creds');
    assert.equal(statSync(launcher).mode & 0o777, 0o755);
    assert.equal(readlinkSync(path.join(root, 'usr/bin/appstream-creds')), `${PREFIX}/bin/appstream-creds`);
    assert.ok(outcome.created.includes(UNIT) && outcome.created.includes('/usr/bin/appstream-creds'), outcome.created.join(', '));
    assert.ok(!existsSync(path.join(root, 'etc/profile.d/appstream-creds.sh')), 'machine env is opt-in');
    assert.ok(outcome.notes.some((n) => /systemd 239 ignores/.test(n)) === false, 'systemd 239 supports the directives used');
  });
});

test('linux install twice is an upgrade: unit rewritten, service restarted, accounts not recreated', async () => {
  await withSandbox(async (root) => {
    const host = await hostWithBundle(root);
    await live(host).install(config());
    host.runner.clear();
    const outcome = await live(host).install(config({ port: 9944 }));
    assert.equal(outcome.action, 'upgraded');
    const runner = host.runner;
    assert.ok(!runner.argvs().some(([command]) => command === 'groupadd' || command === 'useradd'), runner.describe());
    const restart = runner.indexOf(['systemctl', 'restart', 'appstream-credential-agent.service']);
    assert.ok(restart >= 0, runner.describe());
    assert.ok(runner.indexOf(['systemctl', 'daemon-reload']) < restart);
    assert.equal(host.restarts, 1);
    assert.match(await readFile(path.join(root, UNIT), 'utf8'), /^Environment=APPSTREAM_CREDS_PORT=9944$/m);
    assert.deepEqual(outcome.created, [], 'an upgrade creates nothing new');
  });
});

test('linux --set-machine-env writes profile.d and environment.d; uninstall removes them, the unit and the launcher, keeps logs', async () => {
  await withSandbox(async (root) => {
    const host = await hostWithBundle(root);
    await live(host).install(config({ setMachineEnv: true }));
    const profile = await readFile(path.join(root, 'etc/profile.d/appstream-creds.sh'), 'utf8');
    assert.match(profile, /^export AWS_CONTAINER_CREDENTIALS_FULL_URI='http:\/\/127\.0\.0\.1:9920\/v1\/credentials'$/m);
    assert.match(profile, /^export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='\/var\/lib\/appstream-credential-agent\/token'$/m);
    const envd = await readFile(path.join(root, 'etc/environment.d/60-appstream-creds.conf'), 'utf8');
    assert.match(envd, /^AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=\/var\/lib\/appstream-credential-agent\/token$/m);

    await writeFile(path.join(root, STATE, 'logs', 'agent.log'), '{"msg":"agent listening"}\n');
    host.runner.clear();
    const outcome = await live(host).uninstall();
    assert.equal(outcome.removed, true);
    assert.ok(host.runner.has(['systemctl', 'disable', '--now', 'appstream-credential-agent.service']), host.runner.describe());
    assert.equal(host.active || host.enabled, false);
    for (const gone of [UNIT, '/etc/profile.d/appstream-creds.sh', '/etc/environment.d/60-appstream-creds.conf', `${PREFIX}/bin/appstream-creds`, '/usr/bin/appstream-creds']) {
      assert.ok(!existsSync(path.join(root, gone)), `${gone} removed`);
    }
    assert.ok(existsSync(path.join(root, STATE, 'logs', 'agent.log')), 'logs kept');
    assert.equal((await live(host).status()).state, 'not-installed');
  });
});

test('linux install keeps a foreign /usr/bin/appstream-creds, adds a supplementary token group, and notes an old systemd', async () => {
  await withSandbox(async (root) => {
    const host = await hostWithBundle(root);
    host.version = 219;
    host.groups.add('scripts');
    await mkdir(path.join(root, 'usr/bin'), { recursive: true });
    await writeFile(path.join(root, 'usr/bin/appstream-creds'), '#!/bin/sh\necho someone else\n');
    const outcome = await live(host).install(config({ tokenGroup: 'scripts' }));
    assert.ok(!lstatSync(path.join(root, 'usr/bin/appstream-creds')).isSymbolicLink(), 'not replaced');
    assert.ok(outcome.notes.some((n) => n.includes('/usr/bin/appstream-creds')));
    assert.ok(outcome.notes.some((n) => /systemd 219 .*AmbientCapabilities/.test(n)), outcome.notes.join('\n'));
    const unit = await readFile(path.join(root, UNIT), 'utf8');
    assert.match(unit, /^SupplementaryGroups=scripts$/m);
    assert.match(unit, /^Environment=APPSTREAM_CREDS_TOKEN_GROUP=scripts$/m);

    const missing = await hostWithBundle(path.join(root, 'other'));
    await assert.rejects(live(missing).install(config({ tokenGroup: 'nosuch' })), (e: unknown) => isAgentError(e) && /token group "nosuch" does not exist/.test(e.message));
  });
});

test('linux install refuses without the bundle, and --set-machine-env on port 0', async () => {
  await withSandbox(async (root) => {
    const host = new FakeSystemd(root);
    await assert.rejects(live(host).install(config()), (e: unknown) => isAgentError(e) && e.exitCode === 2 && /no bundle at/.test(e.message));
    const withBundle = await hostWithBundle(root);
    await assert.rejects(live(withBundle).install(config({ port: 0, setMachineEnv: true })), (e: unknown) => isAgentError(e) && /fixed port/.test(e.message));
    assert.equal(withBundle.runner.calls.length, 0, 'nothing ran before the refusal');
  });
});

test('packaging mode (root other than /) writes files and runs no command', async () => {
  await withSandbox(async (root) => {
    const host = await hostWithBundle(root);
    const manager = createServiceManager('linux', host.runner, { prefix: PREFIX, root });
    const outcome = await manager.install(config({ setMachineEnv: true }));
    assert.equal(outcome.action, 'staged');
    assert.equal(host.runner.calls.length, 0, host.runner.describe());
    assert.ok(existsSync(path.join(root, UNIT)));
    await manager.uninstall();
    assert.equal(host.runner.calls.length, 0);
    assert.ok(!existsSync(path.join(root, UNIT)));
  });
});

test('systemctl show output maps to service states', () => {
  const show = (stdout: string, code = 0) => parseSystemctlShow({ code, stdout, stderr: code ? 'System has not been booted with systemd as init system (PID 1). Can\'t operate.' : '' });
  assert.equal(show('LoadState=not-found\nActiveState=inactive\nSubState=dead\n').state, 'not-installed');
  assert.deepEqual(show('LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=77\nUnitFileState=enabled\n'), { state: 'running', detail: 'active (running), pid 77, enabled' });
  assert.equal(show('LoadState=loaded\nActiveState=failed\nSubState=failed\n').state, 'stopped');
  assert.equal(show('LoadState=loaded\nActiveState=activating\nSubState=auto-restart\n').state, 'stopped');
  assert.equal(show('LoadState=loaded\nActiveState=deactivating\nSubState=stop-sigterm\n').state, 'unknown');
  const offline = show('', 1);
  assert.equal(offline.state, 'unknown');
  assert.match(offline.detail, /not been booted with systemd/);
});
