import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser, onErrorStopParsing, type Element } from '@xmldom/xmldom';
import { createServiceManager } from '../../src/service/createServiceManager.js';
import type { ServiceInstallConfig } from '../../src/service/managerTypes.js';
import { parseScQuery, parseWinswStatus } from '../../src/service/winswStatus.js';
import { windowsArg } from '../../src/service/winswXml.js';
import { isAgentError } from '../../src/errors.js';
import { FakeWindows, RecordingRunner } from './fakes.js';

const PREFIX = 'C:\\Program Files\\AppStreamCredentialAgent';
const NODE = 'C:\\Program Files\\nodejs\\node.exe';
const STATE = 'C:\\ProgramData\\AppStreamCredentialAgent';
const WRAPPER = `${PREFIX}\\service\\appstream-credential-agent.exe`;
const XML_PATH = `${PREFIX}\\service\\appstream-credential-agent.xml`;

const config = (overrides: Partial<ServiceInstallConfig> = {}): ServiceInstallConfig => ({
  nodePath: NODE,
  stateDir: STATE,
  port: 9920,
  logMaxSizeMb: 10,
  logMaxFiles: 5,
  setMachineEnv: false,
  start: true,
  // The WinSW cases name their host; the default (NSSM) has its own tests below.
  host: 'winsw',
  ...overrides,
});

/** A Windows machine with node, the copied dist folder (bundle + WinSW) and nothing installed. */
function machine(): FakeWindows {
  const win = new FakeWindows();
  win.files.set(NODE, 'node');
  win.files.set(`${PREFIX}\\dist\\appstream-creds.cjs`, 'bundle');
  win.files.set(`${PREFIX}\\dist\\winsw\\winsw.exe`, 'MZ winsw');
  win.files.set(`${PREFIX}\\dist\\winsw\\winsw.exe.config`, '<configuration/>');
  return win;
}
const managerOn = (win: FakeWindows) => createServiceManager('win32', win.runner, { prefix: PREFIX, files: win.fileOps });

function parseXml(text: string): Element {
  const doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(text, 'text/xml');
  const root = doc.documentElement;
  assert.ok(root, 'XML has a root element');
  return root;
}
const children = (root: Element, name: string): Element[] => Array.from(root.getElementsByTagName(name));
const text = (root: Element, name: string): string | undefined => children(root, name)[0]?.textContent ?? undefined;

test('windows install: wrapper, well-formed WinSW XML with recovery, sc.exe failure, ACLs, then start', async () => {
  const win = machine();
  const outcome = await managerOn(win).install(config({ tokenGroup: 'AppStream Scripts' }));
  assert.equal(outcome.action, 'installed');
  assert.equal(win.installed && win.running, true, 'service installed and running');
  assert.equal(win.files.get(WRAPPER), 'MZ winsw', 'WinSW copied under the service id');
  assert.ok(win.files.has(`${WRAPPER}.config`), 'the .NET runtime config travels with it');
  assert.ok(win.dirs.has(`${STATE}\\logs`));

  const root = parseXml(win.files.get(XML_PATH)!);
  assert.equal(root.tagName, 'service');
  assert.equal(text(root, 'id'), 'appstream-credential-agent');
  assert.equal(text(root, 'executable'), NODE);
  assert.equal(text(root, 'arguments'), `"${PREFIX}\\dist\\appstream-creds.cjs" serve`);
  assert.equal(text(root, 'startmode'), 'Automatic');
  const failures = children(root, 'onfailure');
  assert.equal(failures.length, 3);
  for (const f of failures) assert.deepEqual([f.getAttribute('action'), f.getAttribute('delay')], ['restart', '1 sec']);
  assert.equal(text(root, 'resetfailure'), '1 hour');
  assert.equal(children(root, 'log')[0]?.getAttribute('mode'), 'roll-by-size');
  assert.equal(text(root, 'sizeThreshold'), String(10 * 1024));
  assert.equal(text(root, 'logpath'), `${STATE}\\logs`);
  const env = Object.fromEntries(children(root, 'env').map((e) => [e.getAttribute('name'), e.getAttribute('value')]));
  assert.deepEqual(env, {
    APPSTREAM_CREDS_STATE_DIR: STATE,
    APPSTREAM_CREDS_LOG_DIR: `${STATE}\\logs`,
    APPSTREAM_CREDS_PORT: '9920',
    APPSTREAM_CREDS_TOKEN_GROUP: 'AppStream Scripts',
  });

  const runner = win.runner;
  const at = (argv: string[]): number => {
    const i = runner.indexOf(argv);
    assert.ok(i >= 0, `expected ${JSON.stringify(argv)} in:\n${runner.describe()}`);
    return i;
  };
  const install = at([WRAPPER, 'install']);
  const failure = at(['sc.exe', 'failure', 'appstream-credential-agent', 'reset=', '3600', 'actions=', 'restart/1000/restart/1000/restart/1000']);
  // The group name has a space: it must reach icacls as one argument with its grant.
  const acl = at(['icacls', STATE, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F', 'AppStream Scripts:(OI)(NP)RX']);
  const start = at([WRAPPER, 'start']);
  assert.ok(install < failure && failure < start && acl < start, 'recovery and ACLs are set before the agent starts');
  assert.equal(runner.argvs().filter(([command]) => command === 'setx').length, 0, 'machine env is opt-in');
  assert.ok(win.files.get(`${PREFIX}\\bin\\appstream-creds.bat`)?.includes(`"${NODE}" "${PREFIX}\\dist\\appstream-creds.cjs" %*`));
});

test('windows install --set-machine-env sets both variables machine-wide; the token ACL is applied when the token exists', async () => {
  const win = machine();
  win.files.set(`${STATE}\\token`, 'secret');
  await managerOn(win).install(config({ setMachineEnv: true, port: 9931 }));
  assert.deepEqual(Object.fromEntries(win.machineEnv), {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9931/v1/credentials',
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: `${STATE}\\token`,
  });
  assert.ok(win.runner.has(['setx', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'http://127.0.0.1:9931/v1/credentials', '/M']), win.runner.describe());
  assert.ok(win.runner.has(['icacls', `${STATE}\\token`, '/inheritance:r', '/grant:r', '*S-1-5-18:R', '*S-1-5-32-544:R']), win.runner.describe());
});

test('windows install twice is an upgrade: no error, service stopped, refreshed and started again', async () => {
  const win = machine();
  const manager = managerOn(win);
  await manager.install(config({ setMachineEnv: true }));
  win.runner.clear();
  const outcome = await manager.install(config({ port: 9940 }));
  assert.equal(outcome.action, 'upgraded');
  const runner = win.runner;
  assert.ok(!runner.has([WRAPPER, 'install']), 'no second WinSW install');
  const stop = runner.indexOf([WRAPPER, 'stop']);
  const start = runner.indexOf([WRAPPER, 'start']);
  assert.ok(stop >= 0 && start > stop, runner.describe());
  assert.ok(runner.has(['sc.exe', 'config', 'appstream-credential-agent', 'start=', 'auto']), runner.describe());
  assert.ok(runner.argvs().some(([command, verb]) => command === 'sc.exe' && verb === 'failure'));
  assert.equal(win.running, true);
  assert.match(win.files.get(XML_PATH)!, /name="APPSTREAM_CREDS_PORT" value="9940"/);
  assert.equal(win.machineEnv.get('AWS_CONTAINER_CREDENTIALS_FULL_URI'), 'http://127.0.0.1:9940/v1/credentials', 'existing machine env follows the new port');
});

test('windows uninstall removes the service, the machine env and the wrapper, and leaves the logs', async () => {
  const win = machine();
  const manager = managerOn(win);
  await manager.install(config({ setMachineEnv: true }));
  win.files.set(`${STATE}\\logs\\agent.log`, '{"msg":"agent listening"}');
  const outcome = await manager.uninstall();
  assert.equal(outcome.removed, true);
  assert.equal(win.installed, false);
  assert.equal(win.running, false);
  assert.equal(win.machineEnv.size, 0);
  for (const file of [WRAPPER, `${WRAPPER}.config`, XML_PATH, `${PREFIX}\\bin\\appstream-creds.bat`]) assert.ok(!win.files.has(file), `${file} removed`);
  assert.ok(win.files.has(`${STATE}\\logs\\agent.log`), 'logs kept');
  const stop = win.runner.indexOf([WRAPPER, 'stop']);
  assert.ok(stop >= 0 && stop < win.runner.indexOf([WRAPPER, 'uninstall']), win.runner.describe());
  assert.deepEqual(await manager.status(), { state: 'not-installed', detail: 'the Windows service is not installed' });
  assert.equal((await manager.uninstall()).removed, false, 'uninstalling twice is harmless');
});

test('windows status: WinSW output and sc.exe query map to service states', async () => {
  const cases: Array<[string, string]> = [
    ['Started\r\n', 'running'],
    ['Stopped\r\n', 'stopped'],
    ['NonExistent\r\n', 'not-installed'],
    ['Active (running)\r\n', 'running'],
    ['Inactive (stopped)\r\n', 'stopped'],
    ['', 'unknown'],
  ];
  for (const [stdout, state] of cases) assert.equal(parseWinswStatus({ code: 0, stdout, stderr: '' }).state, state, JSON.stringify(stdout));
  assert.equal(parseScQuery({ code: 1060, stdout: '', stderr: '' }).state, 'not-installed');
  assert.equal(parseScQuery({ code: 0, stdout: 'STATE              : 4  RUNNING', stderr: '' }).state, 'running');
  assert.equal(parseScQuery({ code: 0, stdout: 'STATE              : 2  START_PENDING', stderr: '' }).state, 'unknown');

  // Through the manager: the wrapper answers once it is there, the SCM before.
  const win = machine();
  const manager = managerOn(win);
  assert.equal((await manager.status()).state, 'not-installed');
  assert.deepEqual(win.runner.calls.at(-1), { command: 'sc.exe', args: ['query', 'appstream-credential-agent'] });
  await manager.install(config());
  assert.equal((await manager.status()).state, 'running');
  await manager.stop();
  assert.equal((await manager.status()).state, 'stopped');
  assert.deepEqual(win.runner.calls.at(-1), { command: WRAPPER, args: ['status'] });
});

test('windows install refuses clearly: missing WinSW, missing node, machine env on port 0', async () => {
  const noWinsw = machine();
  noWinsw.files.delete(`${PREFIX}\\dist\\winsw\\winsw.exe`);
  await assert.rejects(managerOn(noWinsw).install(config()), (e: unknown) => isAgentError(e) && /WinSW not found .*--winsw/.test(e.message));
  const noNode = machine();
  noNode.files.delete(NODE);
  await assert.rejects(managerOn(noNode).install(config()), (e: unknown) => isAgentError(e) && e.exitCode === 2 && /--node-path/.test(e.message));
  await assert.rejects(managerOn(machine()).install(config({ port: 0, setMachineEnv: true })), (e: unknown) => isAgentError(e) && e.exitCode === 2);
  assert.equal(noWinsw.runner.calls.filter((c) => c.command !== 'sc.exe').length, 0, 'nothing changed before the refusal');
});

test('a failing command surfaces as one AgentError naming the command', async () => {
  const win = machine();
  const runner = new RecordingRunner((command) => (command === 'icacls' ? { code: 5, stderr: 'Access is denied.' } : undefined));
  const manager = createServiceManager('win32', runner, { prefix: PREFIX, files: win.fileOps });
  await assert.rejects(manager.install(config()), (e: unknown) => isAgentError(e) && /`icacls .*` failed with exit code 5: Access is denied\./.test(e.message));
});

test('windowsArg quotes like CommandLineToArgvW expects', () => {
  assert.equal(windowsArg('serve'), 'serve');
  assert.equal(windowsArg('C:\\Program Files\\x.cjs'), '"C:\\Program Files\\x.cjs"');
  assert.equal(windowsArg('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
  assert.equal(windowsArg('say "hi"'), '"say \\"hi\\""');
  assert.equal(windowsArg(''), '""');
});

// --host nssm: the native host (no .NET) the Wine lane runs for real (test/windows/service.test.ts).
const NSSM = `${PREFIX}\\service\\nssm.exe`;
const nssmMachine = (): FakeWindows => {
  const win = machine();
  win.files.set(`${PREFIX}\\dist\\nssm\\nssm.exe`, 'MZ nssm');
  return win;
};

test('windows install --host nssm: NSSM registers node + bundle, Ctrl+C stop, restart on exit, environment; SCM recovery, then sc start', async () => {
  const win = nssmMachine();
  const outcome = await managerOn(win).install(config({ host: 'nssm', configFile: 'C:\\cfg\\agent config.json' }));
  assert.equal(outcome.action, 'installed');
  assert.equal(win.installed && win.running, true);
  assert.equal(win.files.get(NSSM), 'MZ nssm', 'NSSM copied beside the install');
  assert.equal(win.files.has(WRAPPER) || win.files.has(XML_PATH), false, 'no WinSW files');
  const calls = win.runner;
  assert.ok(calls.has([NSSM, 'install', 'appstream-credential-agent', NODE]), calls.describe());
  assert.deepEqual(win.nssm.get('AppParameters'), [`${windowsArg(`${PREFIX}\\dist\\appstream-creds.cjs`)} --config "C:\\cfg\\agent config.json" serve`]);
  assert.deepEqual(win.nssm.get('AppDirectory'), [STATE]);
  assert.deepEqual(win.nssm.get('Start'), ['SERVICE_AUTO_START']);
  assert.deepEqual(win.nssm.get('AppStopMethodConsole'), ['10000'], 'Ctrl+C first: the agent removes agent.json');
  assert.deepEqual(win.nssm.get('AppExit'), ['Default', 'Restart']);
  const env = win.nssm.get('AppEnvironmentExtra') ?? [];
  assert.ok(env.includes(`APPSTREAM_CREDS_STATE_DIR=${STATE}`) && env.includes('APPSTREAM_CREDS_PORT=9920') && env.includes(`APPSTREAM_CREDS_LOG_DIR=${STATE}\\logs`), env.join(' | '));
  assert.deepEqual(win.nssm.get('AppStdout'), [`${STATE}\\logs\\service.out.log`]);
  const failure = calls.indexOf(['sc.exe', 'failure', 'appstream-credential-agent', 'reset=', '3600', 'actions=', 'restart/1000/restart/1000/restart/1000']);
  const start = calls.indexOf(['sc.exe', 'start', 'appstream-credential-agent']);
  assert.ok(failure >= 0 && start > failure, calls.describe());
});

test('windows install --host nssm twice is an upgrade: stop, re-apply the settings, keep the installed NSSM, start', async () => {
  const win = nssmMachine();
  const manager = managerOn(win);
  await manager.install(config({ host: 'nssm' }));
  win.files.set(NSSM, 'MZ nssm (running copy)');
  win.runner.clear();
  const outcome = await manager.install(config({ host: 'nssm', port: 9921 }));
  assert.equal(outcome.action, 'upgraded');
  assert.equal(win.runner.has([NSSM, 'install', 'appstream-credential-agent', NODE]), false, 'no second registration');
  assert.equal(win.files.get(NSSM), 'MZ nssm (running copy)', 'the running NSSM file is not replaced');
  const stop = win.runner.indexOf(['sc.exe', 'stop', 'appstream-credential-agent']);
  const set = win.runner.argvs().findIndex((argv) => argv[0] === NSSM && argv[1] === 'set');
  const start = win.runner.indexOf(['sc.exe', 'start', 'appstream-credential-agent']);
  assert.ok(stop >= 0 && set > stop && start > set, win.runner.describe());
  assert.ok(win.nssm.get('AppEnvironmentExtra')?.includes('APPSTREAM_CREDS_PORT=9921'));
  assert.equal(win.running, true);
});

test('windows uninstall of an NSSM service: sc stop (waits for STOPPED), sc delete, NSSM and launcher removed', async () => {
  const win = nssmMachine();
  const manager = managerOn(win);
  await manager.install(config({ host: 'nssm' }));
  const outcome = await manager.uninstall();
  assert.equal(outcome.removed, true);
  assert.equal(win.installed || win.running, false);
  assert.equal(win.files.has(NSSM), false);
  assert.equal(win.files.has(`${PREFIX}\\bin\\appstream-creds.bat`), false);
  assert.deepEqual(await manager.status(), { state: 'not-installed', detail: 'the Windows service is not installed' });
});

test('windows install --host nssm without NSSM in dist: one clear error naming where it was looked for', async () => {
  const win = machine();
  await assert.rejects(managerOn(win).install(config({ host: 'nssm' })), (error: unknown) => {
    assert.ok(isAgentError(error));
    assert.equal(error.code, 'nssm-missing');
    assert.match(error.message, /dist\\nssm\\nssm\.exe/);
    return true;
  });
  assert.equal(win.runner.calls.length, 0, 'nothing was run');
});

// The exe as the product: `service install` run from the package's appstream-creds.exe.
const PACKAGE = 'D:\\media\\appstream-creds\\dist-win';
const EXE = `${PREFIX}\\bin\\appstream-creds.exe`;
const NATIVE = `${PREFIX}\\bin\\native\\koffi-win32-x64.node`;
const exeMachine = (): FakeWindows => {
  const win = new FakeWindows();
  win.files.set(`${PACKAGE}\\appstream-creds.exe`, 'MZ exe v1');
  win.files.set(`${PACKAGE}\\native\\koffi-win32-x64.node`, 'MZ koffi');
  win.files.set(`${PACKAGE}\\nssm\\nssm.exe`, 'MZ nssm');
  return win;
};
const exeConfig = (overrides: Partial<ServiceInstallConfig> = {}) => config({ host: undefined, exeSource: `${PACKAGE}\\appstream-creds.exe`, configFile: 'C:\\cfg\\agent.json', ...overrides });

test('windows install from the exe: NSSM by default, no node or dist\\; the exe and koffi copied to bin\\, the service runs that exe', async () => {
  const win = exeMachine();
  const outcome = await managerOn(win).install(exeConfig());
  assert.equal(outcome.action, 'installed');
  assert.equal(win.installed && win.running, true);
  assert.equal(win.files.get(EXE), 'MZ exe v1');
  assert.equal(win.files.get(NATIVE), 'MZ koffi', 'koffi beside the installed exe, where loadKoffi looks');
  assert.equal(win.files.get(NSSM), 'MZ nssm', 'NSSM (the default host) from the package');
  assert.ok(win.runner.has([NSSM, 'install', 'appstream-credential-agent', EXE]), win.runner.describe());
  assert.deepEqual(win.nssm.get('Application'), [EXE]);
  assert.deepEqual(win.nssm.get('AppParameters'), ['--config C:\\cfg\\agent.json serve'], 'no bundle argument');
  assert.equal(win.files.has(`${PREFIX}\\bin\\appstream-creds.bat`), false, 'the exe is its own command');
  assert.equal(win.files.has(WRAPPER), false, 'no WinSW');
});

test('windows upgrade from a newer exe: the service is stopped before the running exe is replaced, then started', async () => {
  const win = exeMachine();
  const manager = managerOn(win);
  await manager.install(exeConfig());
  win.files.set(`${PACKAGE}\\appstream-creds.exe`, 'MZ exe v2');
  const copiedWhileRunning: boolean[] = [];
  const copy = win.fileOps.copy;
  win.fileOps.copy = async (from, to) => {
    if (to === EXE) copiedWhileRunning.push(win.running);
    return copy(from, to);
  };
  win.runner.clear();
  const outcome = await manager.install(exeConfig());
  assert.equal(outcome.action, 'upgraded');
  assert.deepEqual(copiedWhileRunning, [false], 'Windows refuses to overwrite a running image');
  assert.equal(win.files.get(EXE), 'MZ exe v2');
  assert.equal(win.runner.has([NSSM, 'install', 'appstream-credential-agent', EXE]), false, 'no second registration');
  assert.equal(win.running, true);
});

test('windows install from the installed exe itself copies nothing; uninstall removes the exe and native\\', async () => {
  const win = exeMachine();
  const manager = managerOn(win);
  await manager.install(exeConfig());
  // bin\native\ is beside the installed exe; NSSM comes from the package.
  const again = await manager.install(exeConfig({ exeSource: EXE, nssmSource: `${PACKAGE}\\nssm\\nssm.exe` }));
  assert.equal(again.action, 'upgraded');
  assert.ok(!again.steps.some((s) => s.startsWith('copied') && s.endsWith(EXE)), again.steps.join('\n'));
  const outcome = await manager.uninstall();
  assert.equal(outcome.removed, true);
  assert.equal(win.files.has(EXE) || win.files.has(NATIVE) || win.files.has(NSSM), false);
});

test('windows install from an exe without its native module refuses: the rule would fall back to icacls names', async () => {
  const win = exeMachine();
  win.files.delete(`${PACKAGE}\\native\\koffi-win32-x64.node`);
  await assert.rejects(managerOn(win).install(exeConfig()), (error: unknown) => isAgentError(error) && error.code === 'native-missing' && /dist-win\\native/.test(error.message));
  assert.equal(win.runner.calls.length, 0, 'nothing was run');
});
