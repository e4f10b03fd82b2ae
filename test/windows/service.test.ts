/**
 * The Windows lane, the service: a package folder as shipped (dist-win\ from `npm run build:exe`
 * beside installer\windows\), and installer/windows/install.cmd under Wine's cmd.exe runs the
 * package's appstream-creds.exe as `service install --host nssm`: it copies itself and native\ to
 * %ProgramFiles%\AppStreamCredentialAgent\bin\ and the agent runs as a real service under Wine's
 * service control manager (NSSM 2.23, native: WinSW needs the .NET Framework, which this Wine
 * lacks: no wine-mono). Then `service status/stop/start`, `doctor` (the native route loaded by
 * the installed exe), the machine environment through Wine's setx.exe/reg.exe, install.cmd over
 * the running service (an upgrade), and uninstall.cmd. No node.exe is involved.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { waitFor, type Discovery } from '../helpers/daemon.js';
import { freePort } from '../helpers/moto.js';
import { distWin, runWine, toWinPath, wineLane, wineTempDir } from '../helpers/wine.js';

const { rig, skip } = await wineLane();

const SERVICE = 'appstream-credential-agent';
const INSTALL_DIR = 'C:\\Program Files\\AppStreamCredentialAgent';
// Not the default state folder: the daemon lane's %ProgramData% test may run at the same time.
const STATE_DIR = 'C:\\ProgramData\\AppStreamCredentialAgentService';
const KEY = 'ASIAWINESERVICE00001';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSERVICEKEY';

describe('the Windows service under Wine (install.cmd, NSSM, the real SCM)', { skip }, () => {
  let dir: string;
  let port: number;
  let installEnv: Record<string, string>;
  let pkg: string;
  let installOutput = '';
  const linux = (winPath: string) => path.join(rig.prefix, 'drive_c', winPath.slice(3).replace(/\\/g, '/'));
  const stateDir = () => linux(STATE_DIR);
  const installedExe = `${INSTALL_DIR}\\bin\\appstream-creds.exe`;
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => runWine(rig, linux(installedExe), args, { env: { APPSTREAM_CREDS_CONFIG: undefined, ...env }, timeoutMs: 120_000 });
  const installCmd = (args: string[]) => runWine(rig, 'cmd', ['/c', toWinPath(path.join(pkg, 'installer', 'windows', 'install.cmd')), ...args], { env: installEnv, timeoutMs: 180_000 });
  const waitRunning = async () => {
    // NSSM reports RUNNING to Wine's service manager a moment after the agent already serves
    // (START_PENDING meanwhile): wait for the state itself, with a hang guard.
    let last = '';
    await waitFor(async () => /STATE\s*:\s*4\s+RUNNING/.test((last = (await scQuery()).stdout)), 90_000, () => `the service never reached RUNNING; sc query: ${last}`);
  };
  const discovery = async () => JSON.parse(await readFile(path.join(stateDir(), 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | null;
  const healthy = async () => {
    const d = await discovery();
    return Boolean(d) && (await fetch(`${d!.url}/healthz`).catch(() => undefined))?.status === 200;
  };
  const scQuery = () => runWine(rig, 'sc', ['query', SERVICE]);

  before(async () => {
    dir = await wineTempDir(rig, 'winsvc');
    port = await freePort();
    // The profile in a searched home, as on an image (no AWS_* variables reach a service).
    await mkdir(path.join(dir, 'home', '.aws'), { recursive: true });
    await writeFile(path.join(dir, 'home', '.aws', 'credentials'), `\ufeff[appstream_machine_role]\r\naws_access_key_id = ${KEY}\r\naws_secret_access_key = ${SECRET}\r\naws_session_token = service+token/=\r\n`);
    // strictPermissions stays on (the default): the service reads owners through the native route.
    // allowUsers "*": Wine reports no owning process for any socket (pid 0), so the Windows
    // caller check refuses every caller it cannot identify (test/windows/daemon.test.ts shows it).
    const config = { homeDirs: [toWinPath(path.join(dir, 'home'))], port, stateDir: STATE_DIR, allowUsers: ['*'] };
    await writeFile(path.join(dir, 'agent-config.json'), JSON.stringify(config, null, 2));
    installEnv = {};
    // The package as shipped: dist-win\ (exe, native\, nssm\) beside installer\windows\.
    const built = distWin();
    pkg = path.join(dir, 'pkg');
    await mkdir(path.join(pkg, 'dist-win'), { recursive: true });
    await copyFile(path.join(built, 'appstream-creds.exe'), path.join(pkg, 'dist-win', 'appstream-creds.exe'));
    for (const sub of ['native', 'nssm']) await cp(path.join(built, sub), path.join(pkg, 'dist-win', sub), { recursive: true });
    await cp(path.join(repoRoot, 'installer', 'windows'), path.join(pkg, 'installer', 'windows'), { recursive: true });
  });

  after(async () => {
    // Leave no service running in the shared prefix, whatever failed.
    if (existsSync(linux(`${INSTALL_DIR}\\service\\nssm.exe`))) {
      await runWine(rig, 'sc', ['stop', SERVICE]);
      await runWine(rig, linux(`${INSTALL_DIR}\\service\\nssm.exe`), ['remove', SERVICE, 'confirm']);
    }
    await rm(linux(INSTALL_DIR), { recursive: true, force: true });
    await rm(stateDir(), { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('install.cmd installs the exe and its native module, the NSSM service runs the exe; the agent serves the profile', async () => {
    const install = await installCmd(['--config', toWinPath(path.join(dir, 'agent-config.json')), '--set-machine-env']);
    assert.equal(install.code, 0, `install.cmd failed: ${install.stdout}\n${install.stderr}`);
    installOutput = install.stdout;
    assert.match(install.stdout, /appstream-credential-agent: installed/);
    assert.ok(install.stdout.includes(`install appstream-credential-agent "${installedExe}"`), install.stdout);
    assert.ok(existsSync(linux(installedExe)), 'the exe copied to bin\\');
    assert.ok(existsSync(linux(`${INSTALL_DIR}\\bin\\native\\koffi-win32-x64.node`)), 'koffi beside it, in the protected install folder');
    assert.ok(existsSync(linux(`${INSTALL_DIR}\\service\\nssm.exe`)), 'NSSM copied beside the install');
    assert.equal(existsSync(linux(`${INSTALL_DIR}\\dist`)), false, 'no dist\\ bundle: the exe is the product');
    assert.equal(existsSync(linux(`${INSTALL_DIR}\\bin\\appstream-creds.bat`)), false, 'no node launcher');
    const application = await runWine(rig, linux(`${INSTALL_DIR}\\service\\nssm.exe`), ['get', SERVICE, 'Application']);
    assert.equal(application.stdout.replace(/\0/g, '').trim(), installedExe, 'the service runs the installed exe');
    await waitFor(healthy, 90_000, () => `the service never served /healthz; sc query: ${JSON.stringify(scQuery)}`);
    const d = (await discovery())!;
    assert.equal(d.url, `http://127.0.0.1:${port}`);
    const token = (await readFile(path.join(stateDir(), 'token'), 'utf8')).trim();
    const response = await fetch(d.credentialsUrl, { headers: { authorization: token } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { AccessKeyId: string }).AccessKeyId, KEY);
    await waitRunning();
  });

  test('service status reads the real SCM: running', async () => {
    const run = await cli(['service', 'status', '--json', '--prefix', INSTALL_DIR]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { service: SERVICE, state: 'running', detail: 'SCM: RUNNING' });
  });

  test('--set-machine-env ran setx /M for both container variables (Wine\'s setx is a stub that stores nothing)', async () => {
    // The values setx would store are checked through the recording runner (test/service/);
    // here the real install must have called it with them.
    assert.ok(installOutput.includes(`ran setx AWS_CONTAINER_CREDENTIALS_FULL_URI http://127.0.0.1:${port}/v1/credentials /M`), installOutput);
    assert.ok(installOutput.includes(`ran setx AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "${STATE_DIR}\\token" /M`) || installOutput.includes(`ran setx AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ${STATE_DIR}\\token /M`), installOutput);
  });

  test('doctor on the installed agent: profile, credentials, agent and service found healthy', async () => {
    // Clients send the token only to a listener whose owner they can see; Wine shows none (pid 0),
    // so this client runs with the rig switch strictPermissions=false (daemon.test.ts: the refusal).
    const run = await cli(['doctor', '--json', '--config', toWinPath(path.join(dir, 'agent-config.json'))], { APPSTREAM_CREDS_STRICT_PERMISSIONS: 'false' });
    assert.ok(run.code === 0 || run.code === 6, `doctor exit ${run.code}: ${run.stderr}`);
    const findings = (JSON.parse(run.stdout) as { findings: Array<{ severity: string; code: string; path: string; message: string }> }).findings;
    const at = (p: string) => findings.filter((f) => f.path === p);
    for (const p of ['profile', 'credentials', 'agent', 'service']) {
      assert.ok(at(p).length > 0 && at(p).every((f) => f.severity !== 'error'), `doctor ${p}: ${JSON.stringify(at(p))}`);
    }
    assert.ok(at('service').some((f) => /running/i.test(f.message)), JSON.stringify(at('service')));
    // The installed exe loaded koffi from bin\\native\\ (not the icacls fallback).
    const route = findings.filter((f) => f.code === 'trust-route');
    assert.ok(route.some((f) => f.message.includes(`native: ${INSTALL_DIR}\\bin\\native\\koffi-win32-x64.node`)), JSON.stringify(route));
    assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET), 'no secret in doctor output');
  });

  test('service stop: Ctrl+C through NSSM, the agent removes agent.json; service start brings it back', async () => {
    const stop = await cli(['service', 'stop', '--prefix', INSTALL_DIR]);
    assert.equal(stop.code, 0, stop.stderr);
    await waitFor(async () => /STATE\s*:\s*1\s+STOPPED/.test((await scQuery()).stdout), 60_000, () => 'the service never reached STOPPED');
    assert.equal(await discovery(), null, 'clean shutdown removed agent.json');
    const status = await cli(['service', 'status', '--json', '--prefix', INSTALL_DIR]);
    assert.equal(status.code, 1);
    assert.equal((JSON.parse(status.stdout) as { state: string }).state, 'stopped');
    const start = await cli(['service', 'start', '--prefix', INSTALL_DIR]);
    assert.equal(start.code, 0, start.stderr);
    await waitFor(healthy, 90_000, () => 'the service did not serve again after start');
  });

  test('install.cmd over the running service is an upgrade: stopped, exe replaced, started again', async () => {
    const before = (await discovery())!;
    // A changed build: the package's exe differs from the installed one by a trailing byte (PE
    // loaders ignore the overlay), so the copy is observable.
    await writeFile(path.join(pkg, 'dist-win', 'appstream-creds.exe'), '\0', { flag: 'a' });
    const upgrade = await installCmd(['--config', toWinPath(path.join(dir, 'agent-config.json'))]);
    assert.equal(upgrade.code, 0, `the upgrade failed: ${upgrade.stdout}\n${upgrade.stderr}`);
    assert.match(upgrade.stdout, /appstream-credential-agent: upgraded/);
    assert.match(upgrade.stdout, /stopped the service for the upgrade/);
    assert.ok(upgrade.stdout.includes(`to ${installedExe}`), upgrade.stdout);
    assert.equal((await readFile(linux(installedExe))).length, (await readFile(path.join(pkg, 'dist-win', 'appstream-creds.exe'))).length, 'the new exe is installed');
    await waitFor(async () => (await healthy()) && (await discovery())!.pid !== before.pid, 90_000, () => 'the upgraded service never served');
    await waitRunning();
  });

  test('uninstall.cmd stops and removes the running service, NSSM, the exe and native\\; keeps the state folder', async () => {
    const uninstall = await runWine(rig, 'cmd', ['/c', toWinPath(path.join(pkg, 'installer', 'windows', 'uninstall.cmd'))], { env: installEnv, timeoutMs: 180_000 });
    assert.equal(uninstall.code, 0, `${uninstall.stdout}\n${uninstall.stderr}`);
    assert.match(uninstall.stdout, /appstream-credential-agent: uninstalled/);
    assert.notEqual((await scQuery()).code, 0, 'the SCM no longer knows the service');
    assert.equal(existsSync(linux(`${INSTALL_DIR}\\service\\nssm.exe`)), false);
    assert.equal(existsSync(linux(installedExe)), false, 'the installed exe removed');
    assert.equal(existsSync(linux(`${INSTALL_DIR}\\bin`)), false, 'bin\\ and native\\ removed');
    assert.equal(await discovery(), null);
    assert.ok(existsSync(stateDir()), 'the state folder and its logs are kept');
  });
});
