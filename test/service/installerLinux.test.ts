import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { cleanEnv, repoRoot, runCli, runProgram } from '../helpers/cli.js';
import { startCli, waitFor } from '../helpers/daemon.js';
import { startMoto } from '../helpers/moto.js';
import { withSandbox } from '../helpers/sandbox.js';

const PREFIX = '/opt/appstream-credential-agent';
const UNIT = '/etc/systemd/system/appstream-credential-agent.service';

/** Every path under dir (relative, sorted), folders included. */
function tree(dir: string): string[] {
  const walk = (rel: string): string[] =>
    readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
      const child = path.join(rel, entry.name);
      return entry.isDirectory() ? [child, ...walk(child)] : [child];
    });
  return walk('').sort();
}

function sh(script: string, args: string[], env: Record<string, string>): { status: number | null; output: string } {
  const result = spawnSync('sh', [path.join(repoRoot, script), ...args], { cwd: repoRoot, env: cleanEnv(env), encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** ExecStart words and Environment= pairs of a unit that uses no quoting (the default install's). */
function readUnit(text: string): { execStart: string[]; environment: Record<string, string> } {
  const execStart = /^ExecStart=(.*)$/m.exec(text)?.[1]?.split(' ') ?? [];
  const environment: Record<string, string> = {};
  for (const match of text.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)) environment[match[1]!] = match[2]!;
  return { execStart, environment };
}

test('install.sh with DESTDIR lays down dist, launcher, unit and profile snippets; the installed bundle serves; uninstall.sh removes exactly that', { timeout: 120_000 }, async (t) => {
  await withSandbox(async (sandbox) => {
    const destdir = path.join(sandbox, 'pkgroot');
    const work = path.join(sandbox, 'work');
    spawnSync('mkdir', ['-p', destdir, work]);
    const before = tree(destdir);
    const env = { DESTDIR: destdir, NODE: process.execPath };

    const install = sh('installer/linux/install.sh', ['--set-machine-env'], env);
    assert.equal(install.status, 0, install.output);
    assert.match(install.output, /appstream-credential-agent: staged/);

    // What it laid down.
    const bundle = path.join(destdir, PREFIX, 'dist', 'appstream-creds.cjs');
    assert.ok(existsSync(bundle) && existsSync(path.join(destdir, PREFIX, 'dist', 'vendor')), 'dist/ copied whole');
    assert.ok(!existsSync(path.join(destdir, PREFIX, 'node_modules')), 'no node_modules shipped');
    const launcher = path.join(destdir, PREFIX, 'bin', 'appstream-creds');
    assert.equal(statSync(launcher).mode & 0o111, 0o111, 'launcher is executable');
    assert.equal(readFileSync(launcher, 'utf8').split('\n').at(-2), `exec '${process.execPath}' '${PREFIX}/dist/appstream-creds.cjs' "$@"`);
    assert.ok(lstatSync(path.join(destdir, 'usr/bin/appstream-creds')).isSymbolicLink());
    assert.equal(readlinkSync(path.join(destdir, 'usr/bin/appstream-creds')), `${PREFIX}/bin/appstream-creds`);
    const unitText = readFileSync(path.join(destdir, UNIT), 'utf8');
    const unit = readUnit(unitText);
    assert.deepEqual(unit.execStart, [process.execPath, `${PREFIX}/dist/appstream-creds.cjs`, 'serve'], 'unit points at the target paths, not DESTDIR');
    assert.equal(unit.environment.APPSTREAM_CREDS_STATE_DIR, '/var/lib/appstream-credential-agent');
    assert.equal(unit.environment.APPSTREAM_CREDS_LOG_DIR, '/var/lib/appstream-credential-agent/logs');

    // The profile snippet sets both variables for login shells.
    const profile = spawnSync('sh', ['-c', `. '${path.join(destdir, 'etc/profile.d/appstream-creds.sh')}'; printf '%s\\n%s\\n' "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"`], { encoding: 'utf8' });
    assert.equal(profile.stdout, 'http://127.0.0.1:920/v1/credentials\n/var/lib/appstream-credential-agent/token\n');
    assert.match(readFileSync(path.join(destdir, 'etc/environment.d/60-appstream-creds.conf'), 'utf8'), /^AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:920\/v1\/credentials$/m);
    // The default port is privileged: the unit's non-root user is granted the bind.
    assert.match(unitText, /^AmbientCapabilities=.*\bCAP_NET_BIND_SERVICE\b/m);

    // Installing again (upgrade) is fine and keeps the manifest complete.
    const again = sh('installer/linux/install.sh', [], env);
    assert.equal(again.status, 0, again.output);
    assert.ok(existsSync(path.join(destdir, 'etc/profile.d/appstream-creds.sh')), 'an upgrade keeps machine env it had');

    // Run the installed copy (no node_modules near it) the way the unit does, with the unit's
    // environment; only the host-specific parts move into the sandbox: state dir and port 0.
    const sim = path.join(work, 'sim');
    // Real credentials from moto (authentication on), so the boto3 sample's call below proves them.
    const moto = await startMoto();
    t.after(() => moto.stop());
    const simulate = await runCli(['simulate', '--dir', sim, '--rotations', '1', '--validity', '6h', '--sts-endpoint', moto.url, '--role-arn', moto.roleArn], { script: bundle, cwd: work, env: moto.callerEnv, timeoutMs: 30_000 });
    assert.equal(simulate.code, 0, simulate.stderr);
    const stateDir = path.join(work, 'state');
    const serviceEnv: Record<string, string> = { ...unit.environment, APPSTREAM_CREDS_STATE_DIR: stateDir, APPSTREAM_CREDS_LOG_DIR: path.join(stateDir, 'logs'), APPSTREAM_CREDS_PORT: '0' };
    // The unit names a token group. Serve with a real group either way: the unit's own when this
    // host has it, else (as root) a group made for this test; without root the path is skipped, loudly.
    let tokenGroup = serviceEnv.APPSTREAM_CREDS_TOKEN_GROUP;
    if (tokenGroup && spawnSync('getent', ['group', tokenGroup]).status !== 0) {
      if (process.getuid?.() === 0) {
        const made = `proofb${process.pid}tg`;
        const add = spawnSync('groupadd', [made], { encoding: 'utf8' });
        assert.equal(add.status, 0, `groupadd ${made}: ${add.stderr}`);
        t.after(() => void spawnSync('groupdel', [made]));
        t.diagnostic(`group ${tokenGroup} does not exist on this host; serving with a group made for the test, ${made}`);
        tokenGroup = serviceEnv.APPSTREAM_CREDS_TOKEN_GROUP = made;
      } else {
        t.skip(`the token-group path needs the group ${tokenGroup} or root to create one; served without APPSTREAM_CREDS_TOKEN_GROUP`);
        delete serviceEnv.APPSTREAM_CREDS_TOKEN_GROUP;
        tokenGroup = undefined;
      }
    }
    const [node, bundleArg, ...args] = unit.execStart;
    assert.equal(node, process.execPath);
    // Through the scanning helper: its output and the unit's log folder are checked for secrets.
    const agent = startCli(args, { ...serviceEnv, AWS_SHARED_CREDENTIALS_FILE: path.join(sim, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(sim, '.aws', 'config') }, { cwd: work, script: path.join(destdir, bundleArg!) });
    try {
      const discoveryFile = path.join(stateDir, 'agent.json');
      await waitFor(async () => existsSync(discoveryFile), 20_000, () => `agent never wrote ${discoveryFile}: ${agent.output()}`);
      const discovery = JSON.parse(readFileSync(discoveryFile, 'utf8')) as { credentialsUrl: string; tokenFile: string; url: string };
      await waitFor(async () => (await fetch(`${discovery.url}/healthz`).catch(() => undefined))?.status === 200, 20_000, () => `agent never became ready: ${agent.output()}`);

      if (tokenGroup) {
        // The token group took effect: the token file is 0640 and owned by that group.
        const gid = Number(spawnSync('getent', ['group', tokenGroup], { encoding: 'utf8' }).stdout.split(':')[2]);
        const info = statSync(discovery.tokenFile);
        assert.equal(info.mode & 0o777, 0o640, `token file mode ${(info.mode & 0o777).toString(8)}`);
        assert.equal(info.gid, gid, `token file group ${info.gid}, expected ${tokenGroup} (${gid})`);
      }

      // A client with only the container-endpoint protocol gets the simulated credentials.
      const token = readFileSync(discovery.tokenFile, 'utf8').trim();
      const response = await fetch(discovery.credentialsUrl, { headers: { authorization: token } });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { AccessKeyId: string; Expiration: string };
      const expectedKey = /aws_access_key_id\s*=\s*(\S+)/.exec(readFileSync(path.join(sim, '.aws', 'credentials'), 'utf8'))?.[1];
      assert.equal(body.AccessKeyId, expectedKey);
      assert.ok(Date.parse(body.Expiration) > Date.now());

      // The shipped boto3 sample finds the agent through agent.json and calls STS (moto) with it.
      const boto = await runProgram('python3', [path.join(repoRoot, 'installer/appstream/use_machine_role.py')], { env: { APPSTREAM_CREDS_STATE_DIR: stateDir, AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' } });
      assert.equal(boto.code, 0, boto.stderr);
      assert.ok(boto.stdout.startsWith(moto.assumedRolePrefix), boto.stdout);

      // The unit's log folder setting takes effect.
      await waitFor(async () => existsSync(path.join(stateDir, 'logs')) && readdirSync(path.join(stateDir, 'logs')).some((f) => f.endsWith('.log')), 10_000, () => `no log file in ${stateDir}/logs: ${agent.output()}`);
    } finally {
      await agent.stop();
    }
    assert.ok(!existsSync(path.join(stateDir, 'agent.json')), 'clean shutdown removes agent.json');

    const uninstall = sh('installer/linux/uninstall.sh', [], env);
    assert.equal(uninstall.status, 0, uninstall.output);
    assert.deepEqual(tree(destdir), before, 'uninstall.sh removes exactly what install.sh added');
  });
});

test('uninstall.sh keeps what was there before install.sh (shared folders, other files)', async () => {
  await withSandbox(async (destdir) => {
    spawnSync('mkdir', ['-p', path.join(destdir, 'etc/profile.d'), path.join(destdir, 'usr/bin')]);
    spawnSync('sh', ['-c', `echo keep > '${destdir}/etc/profile.d/other.sh'; echo keep > '${destdir}/usr/bin/tool'`]);
    const before = tree(destdir);
    const env = { DESTDIR: destdir, NODE: process.execPath };
    assert.equal(sh('installer/linux/install.sh', ['--set-machine-env'], env).status, 0);
    const uninstall = sh('installer/linux/uninstall.sh', [], env);
    assert.equal(uninstall.status, 0, uninstall.output);
    assert.deepEqual(tree(destdir), before);
  });
});

test('install.sh and uninstall.sh are POSIX sh and hold no unit text', () => {
  for (const script of ['installer/linux/install.sh', 'installer/linux/uninstall.sh']) {
    const text = readFileSync(path.join(repoRoot, script), 'utf8');
    assert.match(text, /^#!\/bin\/sh\n/);
    assert.doesNotMatch(text, /\[Service\]|ExecStart=|\[\[|function |local /, `${script}: no unit text, no bashisms`);
    const check = spawnSync('sh', ['-n', path.join(repoRoot, script)], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  }
});
