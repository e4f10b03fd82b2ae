import path from 'node:path';
import { AgentError, ExitCode, usageError } from '../errors.js';
import { BUNDLE_RELATIVE, SERVICE_DESCRIPTION, SERVICE_DISPLAY_NAME, SERVICE_ID } from './constants.js';
import { nodeFileOps, type FileOps } from './fileOps.js';
import { MACHINE_ENV_NAMES, machineEnvVars, WINDOWS_ENVIRONMENT_KEY } from './machineEnv.js';
import type { CommandRunner, InstallOutcome, PlatformServiceManager, ServiceInstallConfig, ServiceStatus, UninstallOutcome } from './managerTypes.js';
import { describeCommand, runChecked } from './runChecked.js';
import { serveArguments, serviceEnvironment } from './serviceEnvironment.js';
import { tokenPath } from '../agent/contract.js';
import { parseScQuery, parseWinswStatus } from './winswStatus.js';
import { renderWinswXml, windowsArg } from './winswXml.js';

export interface WindowsServiceManagerOptions {
  runner: CommandRunner;
  /** Install folder, e.g. C:\Program Files\AppStreamCredentialAgent (holds dist\, service\, bin\). */
  prefix: string;
  files?: FileOps;
}

const win = path.win32;
const SYSTEM = '*S-1-5-18';
const ADMINISTRATORS = '*S-1-5-32-544';
/**
 * sc.exe recovery, belt and braces over WinSW's <onfailure>: restart after 1 s every time (while
 * the agent is down any user can bind its port); the failure count resets after an hour.
 */
const SC_FAILURE_ARGS = ['failure', SERVICE_ID, 'reset=', '3600', 'actions=', 'restart/1000/restart/1000/restart/1000'] as const;

export function windowsServicePaths(prefix: string) {
  const serviceDir = win.join(prefix, 'service');
  const wrapperExe = win.join(serviceDir, `${SERVICE_ID}.exe`);
  return {
    serviceDir,
    wrapperExe,
    wrapperConfig: `${wrapperExe}.config`,
    wrapperXml: win.join(serviceDir, `${SERVICE_ID}.xml`),
    bundle: win.join(prefix, ...BUNDLE_RELATIVE),
    launcher: win.join(prefix, 'bin', 'appstream-creds.bat'),
    winswSource: win.join(prefix, 'dist', 'winsw', 'winsw.exe'),
  };
}

/** A Windows service through WinSW, with SCM recovery, locked-down ACLs and optional machine variables. */
export function createWindowsServiceManager(options: WindowsServiceManagerOptions): PlatformServiceManager {
  const { runner, prefix } = options;
  const files = options.files ?? nodeFileOps;
  const paths = windowsServicePaths(prefix);

  const status = async (): Promise<ServiceStatus> =>
    (await files.exists(paths.wrapperExe)) ? parseWinswStatus(await runner.run(paths.wrapperExe, ['status'])) : parseScQuery(await runner.run('sc.exe', ['query', SERVICE_ID]));

  const envIsSet = async (): Promise<boolean> => (await runner.run('reg', ['query', WINDOWS_ENVIRONMENT_KEY, '/v', MACHINE_ENV_NAMES[0]])).code === 0;

  /** Start/stop through the wrapper when it is there, else straight through the SCM. */
  const control = async (verb: 'start' | 'stop'): Promise<void> => {
    if (await files.exists(paths.wrapperExe)) await runChecked(runner, paths.wrapperExe, [verb]);
    else await runChecked(runner, 'sc.exe', [verb, SERVICE_ID]);
  };

  async function install(config: ServiceInstallConfig): Promise<InstallOutcome> {
    const steps: string[] = [];
    const created: string[] = [];
    const run = async (command: string, args: readonly string[]): Promise<void> => {
      await runChecked(runner, command, args);
      steps.push(`ran ${describeCommand(command, args)}`);
    };
    const write = async (file: string, content: string): Promise<void> => {
      const isNew = !(await files.exists(file));
      created.push(...(await files.writeAtomic(file, content, 0o644)), ...(isNew ? [file] : []));
      steps.push(`wrote ${file}`);
    };
    const winswSource = config.winswSource ?? paths.winswSource;
    if (config.setMachineEnv && config.port === 0) throw usageError('--set-machine-env needs a fixed port (not 0): scripts must know where the agent listens');
    if (!(await files.exists(config.nodePath))) throw usageError(`node.exe not found at ${config.nodePath}; pass --node-path`);
    if (!(await files.exists(paths.bundle))) throw usageError(`no bundle at ${paths.bundle}: copy dist\\ there first (installer\\windows\\install.ps1 does), or pass --prefix`);
    if (!(await files.exists(winswSource))) {
      throw new AgentError(`WinSW not found at ${winswSource}; the build ships it as dist\\winsw\\winsw.exe (from the node-windows package), or pass --winsw`, { exitCode: ExitCode.runtime, code: 'winsw-missing' });
    }

    const before = await status();
    const upgrade = before.state !== 'not-installed';
    if (before.state === 'running') {
      await control('stop');
      steps.push('stopped the service for the upgrade');
    }

    const logDir = config.logDir ?? win.join(config.stateDir, 'logs');
    for (const [from, to] of [[winswSource, paths.wrapperExe], [`${winswSource}.config`, paths.wrapperConfig]] as const) {
      if (!(await files.exists(from))) continue;
      const isNew = !(await files.exists(to));
      created.push(...(await files.copy(from, to)), ...(isNew ? [to] : []));
      steps.push(`copied ${from} to ${to}`);
    }
    created.push(...(await files.ensureDir(config.stateDir)), ...(await files.ensureDir(logDir)));
    await write(
      paths.wrapperXml,
      renderWinswXml({
        id: SERVICE_ID,
        name: SERVICE_DISPLAY_NAME,
        description: SERVICE_DESCRIPTION,
        executable: config.nodePath,
        args: serveArguments(paths.bundle, config.configFile),
        env: serviceEnvironment({ ...config, logDir }, win, config.tokenGroup),
        workingDirectory: config.stateDir,
        logPath: logDir,
        logSizeKb: config.logMaxSizeMb * 1024,
        logKeepFiles: config.logMaxFiles,
      }),
    );
    const batch = (value: string): string => windowsArg(value).replace(/%/g, '%%');
    await write(paths.launcher, `@echo off\r\nrem appstream-creds launcher, written by "service install".\r\n${batch(config.nodePath)} ${batch(paths.bundle)} %*\r\nexit /b %ERRORLEVEL%\r\n`);

    if (upgrade) {
      // WinSW 1.x has no "refresh": re-apply what the SCM keeps, the XML is read at each start.
      await run('sc.exe', ['config', SERVICE_ID, 'start=', 'auto']);
      await run('sc.exe', ['description', SERVICE_ID, SERVICE_DESCRIPTION]);
    } else {
      await run(paths.wrapperExe, ['install']);
    }
    await run('sc.exe', SC_FAILURE_ARGS);

    // State folder: SYSTEM and Administrators only, nothing inherited; the token group may list
    // it and read the files directly in it (token, agent.json), which new token files inherit.
    const group = config.tokenGroup;
    await run('icacls', [config.stateDir, '/inheritance:r', '/grant:r', `${SYSTEM}:(OI)(CI)F`, `${ADMINISTRATORS}:(OI)(CI)F`, ...(group ? [`${group}:(OI)(NP)RX`] : [])]);
    const token = tokenPath(config.stateDir, win);
    if (await files.exists(token)) {
      await run('icacls', [token, '/inheritance:r', '/grant:r', `${SYSTEM}:R`, `${ADMINISTRATORS}:R`, ...(group ? [`${group}:R`] : [])]);
    }

    if (config.setMachineEnv || (await envIsSet())) {
      if (config.port === 0) throw usageError('the machine environment is set, so the port must be fixed (not 0)');
      for (const [name, value] of machineEnvVars(config.port, config.stateDir, win)) await run('setx', [name, value, '/M']);
    }
    if (config.start) await run(paths.wrapperExe, ['start']);
    const notes = group ? [] : ['only SYSTEM and Administrators can read the token; pass --token-group GROUP to let script users read it'];
    return { action: upgrade ? 'upgraded' : 'installed', created, steps, notes };
  }

  async function uninstall(): Promise<UninstallOutcome> {
    const steps: string[] = [];
    const before = await status();
    const hasWrapper = await files.exists(paths.wrapperExe);
    if (before.state === 'running') {
      await control('stop');
      steps.push('stopped the service');
    }
    if (before.state !== 'not-installed') {
      if (hasWrapper) await runChecked(runner, paths.wrapperExe, ['uninstall']);
      else await runChecked(runner, 'sc.exe', ['delete', SERVICE_ID]);
      steps.push('removed the Windows service');
    }
    for (const name of MACHINE_ENV_NAMES) {
      if ((await runner.run('reg', ['query', WINDOWS_ENVIRONMENT_KEY, '/v', name])).code !== 0) continue;
      const args = ['delete', WINDOWS_ENVIRONMENT_KEY, '/v', name, '/f'];
      await runChecked(runner, 'reg', args);
      steps.push(`ran ${describeCommand('reg', args)}`);
    }
    for (const file of [paths.wrapperExe, paths.wrapperConfig, paths.wrapperXml, paths.launcher]) {
      if (await files.remove(file)) steps.push(`removed ${file}`);
    }
    await files.removeDirIfEmpty(paths.serviceDir);
    await files.removeDirIfEmpty(win.dirname(paths.launcher));
    return { removed: before.state !== 'not-installed', steps, notes: ['kept the state folder and its logs'] };
  }

  return { platform: 'win32', status, install, uninstall, start: () => control('start'), stop: () => control('stop') };
}
