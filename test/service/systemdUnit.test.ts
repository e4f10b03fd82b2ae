import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderSystemdUnit, systemdWord } from '../../src/service/systemdUnit.js';
import { isAgentError } from '../../src/errors.js';
import { repoRoot } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyze = analyze.error || analyze.status !== 0 ? 'systemd-analyze is not installed (apt-get install systemd); .ci/run installs it' : undefined;

const baseOptions = {
  user: 'appstream-creds',
  group: 'appstream-creds',
  port: 9920,
  stateDir: '/var/lib/appstream-credential-agent',
  environment: [['APPSTREAM_CREDS_STATE_DIR', '/var/lib/appstream-credential-agent']] as Array<[string, string]>,
};

/** `systemd-analyze verify` on a unit file: exit code and everything it said. */
function verify(unitFile: string): { status: number | null; output: string } {
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', unitFile], { encoding: 'utf8', cwd: path.dirname(unitFile), timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

test('the rendered unit passes systemd-analyze verify without a warning', { skip: noAnalyze }, async () => {
  await withSandbox(async (dir) => {
    // Paths that exist here: this node, a copy of the shipped dist/ folder.
    const prefix = path.join(dir, 'opt', 'appstream-credential-agent');
    cpSync(path.join(repoRoot, 'dist'), path.join(prefix, 'dist'), { recursive: true });
    const unitFile = path.join(dir, 'appstream-credential-agent.service');
    writeFileSync(unitFile, renderSystemdUnit({ ...baseOptions, nodePath: process.execPath, args: [path.join(prefix, 'dist', 'appstream-creds.cjs'), 'serve'] }));
    const result = verify(unitFile);
    assert.equal(result.status, 0, result.output);
    assert.equal(result.output, '', 'no warnings (unknown keys, bad values)');
  });
});

test('paths with spaces, quotes, % and $ survive systemd quoting (verify finds the executable)', { skip: noAnalyze }, async () => {
  await withSandbox(async (dir) => {
    const odd = path.join(dir, 'my node $HOME 100%');
    mkdirSync(odd);
    symlinkSync(process.execPath, path.join(odd, 'node'));
    const unitFile = path.join(dir, 'odd.service');
    writeFileSync(
      unitFile,
      renderSystemdUnit({
        ...baseOptions,
        nodePath: path.join(odd, 'node'),
        args: [path.join(dir, 'a "quoted" dir', 'appstream-creds.cjs'), '--config', '/etc/x y.json', 'serve'],
        environment: [['APPSTREAM_CREDS_PROFILE', 'name with space'], ['APPSTREAM_CREDS_LOG_LEVEL', '50%']],
      }),
    );
    const result = verify(unitFile);
    assert.equal(result.status, 0, result.output);
    assert.equal(result.output, '');
    // A deliberately wrong line is reported, so the check above can fail.
    writeFileSync(unitFile, `[Service]\nExecStart=${path.join(odd, 'node')} serve\n`);
    assert.notEqual(verify(unitFile).status, 0, 'an unquoted path with spaces is caught');
  });
});

test('unit content: restart policy, hardening, dedicated account, settings by environment', () => {
  const unit = renderSystemdUnit({ ...baseOptions, nodePath: '/usr/bin/node', args: ['/opt/a/dist/appstream-creds.cjs', 'serve'] });
  const lines = unit.split('\n');
  for (const expected of [
    'ExecStart=/usr/bin/node /opt/a/dist/appstream-creds.cjs serve',
    'Restart=always',
    'RestartSec=1s',
    'StartLimitIntervalSec=0',
    'User=appstream-creds',
    'Group=appstream-creds',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    'ReadWritePaths=/var/lib/appstream-credential-agent',
    'StateDirectory=appstream-credential-agent',
    'PrivateTmp=yes',
    'AmbientCapabilities=CAP_DAC_READ_SEARCH',
    'CapabilityBoundingSet=CAP_DAC_READ_SEARCH',
    'Environment=APPSTREAM_CREDS_STATE_DIR=/var/lib/appstream-credential-agent',
    'WantedBy=multi-user.target',
  ]) {
    assert.ok(lines.includes(expected), `missing ${expected}`);
  }
  assert.ok(lines.lastIndexOf('ProtectSystem=strict') > lines.indexOf('ProtectSystem=full'), 'strict wins on current systemd');
  assert.ok(!lines.includes('ProtectHome=yes'), 'homes must stay readable: the profile lives there');
  const lowPort = renderSystemdUnit({ ...baseOptions, port: 80, nodePath: '/usr/bin/node', args: ['serve'] });
  assert.match(lowPort, /^AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_NET_BIND_SERVICE$/m);
  // IMDS on its own privileged port needs the bind as well, whatever the agent's port.
  const lowImds = renderSystemdUnit({ ...baseOptions, port: 9920, imdsPort: 921, nodePath: '/usr/bin/node', args: ['serve'] });
  assert.match(lowImds, /^AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_NET_BIND_SERVICE$/m);
  const elsewhere = renderSystemdUnit({ ...baseOptions, stateDir: '/srv/agent', nodePath: '/usr/bin/node', args: ['serve'] });
  assert.doesNotMatch(elsewhere, /StateDirectory=/, 'StateDirectory= only covers /var/lib');
  const logsElsewhere = renderSystemdUnit({ ...baseOptions, logDir: '/var/log/appstream-creds', nodePath: '/usr/bin/node', args: ['serve'] });
  assert.match(logsElsewhere, /^ReadWritePaths=\/var\/lib\/appstream-credential-agent \/var\/log\/appstream-creds$/m, 'a log dir outside the state dir is writable too');
  const logsInside = renderSystemdUnit({ ...baseOptions, logDir: '/var/lib/appstream-credential-agent/logs', nodePath: '/usr/bin/node', args: ['serve'] });
  assert.match(logsInside, /^ReadWritePaths=\/var\/lib\/appstream-credential-agent$/m);
});

test('state dirs systemd cannot carry and relative node paths are usage errors', () => {
  for (const stateDir of ['relative/state', '/var/lib/with space', '/var/lib/100%']) {
    assert.throws(
      () => renderSystemdUnit({ ...baseOptions, stateDir, nodePath: '/usr/bin/node', args: ['serve'] }),
      (e: unknown) => isAgentError(e) && e.exitCode === 2,
      stateDir,
    );
  }
  assert.throws(() => renderSystemdUnit({ ...baseOptions, nodePath: 'node', args: ['serve'] }), (e: unknown) => isAgentError(e) && e.exitCode === 2);
  assert.equal(systemdWord('/usr/bin/node'), '/usr/bin/node');
  assert.equal(systemdWord('a b'), '"a b"');
  assert.equal(systemdWord('50%'), '50%%');
  assert.equal(systemdWord('$x'), '"$$x"');
});
