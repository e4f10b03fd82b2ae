import path from 'node:path';
import type { Command } from 'commander';
import { globalFlags, type CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandSettings } from '../commandSetup.js';
import { AgentError, ExitCode, usageError } from '../../errors.js';
import { LINUX_DEFAULT_PORT, WINDOWS_DEFAULT_PORT } from '../../agent/contract.js';
import { writeFileAtomic } from '../../writeFileAtomic.js';
import { SERVICE_ID } from '../../service/constants.js';
import { createServiceManager, defaultNodePath } from '../../service/createServiceManager.js';
import { serviceLocation, type ServiceLocation } from '../../service/installLocation.js';
import { checkServiceCode } from '../../service/checkServiceCode.js';
import { pathTrust, type CheckTrust } from '../../trust/pathTrust.js';
import { refusalMessage } from '../../trust/checkPathTrust.js';
import type { Settings } from '../../config/settingsSchema.js';
import { daemonPolicy, windowsAclReader } from '../trustSetup.js';
import { nodeFileOps, type FileOps } from '../../service/fileOps.js';
import type { CommandRunner, PlatformServiceManager } from '../../service/managerTypes.js';
import { nodeCommandRunner } from '../../service/nodeCommandRunner.js';

/** Tests swap the OS's commands and files for fakes; production uses the real runner and files. */
export interface ServiceCommandOverrides {
  runner?: CommandRunner;
  files?: FileOps;
  /** The ownership rule for the code a live install hands to the service (default: the daemon's). */
  checkTrust?: CheckTrust;
}

interface LocationOptions {
  prefix?: string;
  root?: string;
}

interface InstallOptions extends LocationOptions {
  nodePath?: string;
  port?: string;
  tokenGroup?: string;
  setMachineEnv?: boolean;
  start: boolean;
  winsw?: string;
  host?: string;
  nssm?: string;
  manifest?: string;
}

const EXAMPLES =
  '\nExamples:\n' +
  '  sudo appstream-creds service install                      # systemd unit, user and group appstream-creds\n' +
  '  sudo appstream-creds service install --set-machine-env    # also AWS_CONTAINER_* for every new process\n' +
  '  appstream-creds service install --root /tmp/pkg --no-start # packaging: write files under a staging root\n' +
  '  appstream-creds service status --json\n' +
  '  dist-win\\appstream-creds.exe service install --token-group "AppStream Scripts"   # Windows: installs this exe\n';

export function registerService(program: Command, deps: CommandDeps, overrides: ServiceCommandOverrides = {}): void {
  const { platform, env } = deps.ctx;
  const pathModule = platform === 'win32' ? path.win32 : path.posix;

  const locate = (opts: LocationOptions, live: boolean): ServiceLocation =>
    serviceLocation({ prefix: opts.prefix, root: opts.root, live, platform, cwd: deps.ctx.cwd, selfScript: deps.ctx.selfScript, env, uid: deps.ctx.uid });
  const managerFor = (opts: LocationOptions, live: boolean, location = locate(opts, live)): PlatformServiceManager => {
    return createServiceManager(platform, overrides.runner ?? nodeCommandRunner, {
      prefix: location.prefix,
      env,
      ...(location.root === undefined ? {} : { root: location.root }),
      ...(overrides.files ? { files: overrides.files } : {}),
    });
  };
  /**
   * The code the service will run must be safe from other accounts (checkServiceCode): refused
   * before anything changes; with strictPermissions=false, installed with a note saying why not.
   */
  const codeRefusal = async (settings: Settings, prefix: string, nodePath: string | undefined): Promise<string | undefined> => {
    const check = overrides.checkTrust ?? pathTrust(platform, daemonPolicy(settings, deps.ctx), windowsAclReader(platform));
    const fromExe = nodePath === undefined;
    const refusal = await checkServiceCode(
      { files: fromExe ? [] : [nodePath], trees: [pathModule.join(prefix, fromExe ? 'bin' : 'dist')], installFolder: prefix },
      check,
      pathModule,
    );
    if (!refusal) return undefined;
    const message = `the service would run code other accounts can change: ${refusalMessage(refusal)} (fix: ${refusal.fix})`;
    if (settings.strictPermissions) throw new AgentError(`${message}; nothing was installed`, { exitCode: ExitCode.usage, code: 'untrusted-install' });
    return `${message}; installed anyway because strictPermissions is false`;
  };
  const print = (lines: string[]): void => deps.ctx.io.stdout(lines.length ? `${lines.join('\n')}\n` : '');

  const service = program
    .command('service')
    .description('install, remove, start, stop or inspect the OS service that runs `serve` (systemd unit or Windows service)')
    .addHelpText('after', EXAMPLES);

  const withLocation = (command: Command, root: boolean): Command => {
    command.option('--prefix <dir>', 'install folder holding dist/ (default: where this bundle runs from)');
    if (root) command.option('--root <dir>', 'Linux: write every file under this folder (like DESTDIR) and run no system command');
    return command;
  };

  withLocation(service.command('install'), true)
    .description('install (or upgrade) the service, enable it at boot and start it; installing twice is an upgrade')
    .option('--node-path <path>', 'node the service runs with the dist bundle (default: Linux the running node; Windows %ProgramFiles%\\nodejs\\node.exe; from appstream-creds.exe: none, the service runs the exe)')
    .option('--port <port>', `loopback port of the agent (default ${LINUX_DEFAULT_PORT} on Linux, privileged; ${WINDOWS_DEFAULT_PORT} on Windows)`)
    .option('--token-group <group>', 'group whose members may read the token (Linux default: appstream-creds)')
    .option('--set-machine-env', 'set AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE for every new process')
    .option('--no-start', 'install and enable, but do not start (or restart) now')
    .option('--winsw <path>', 'Windows: the WinSW executable to use (default: <prefix>\\dist\\winsw\\winsw.exe)')
    .option('--host <host>', 'Windows: service host, nssm (native, no .NET) or winsw (needs the .NET Framework; never run under Wine)', 'nssm')
    .option('--nssm <path>', 'Windows: the NSSM executable to use with --host nssm (default: <prefix>\\dist\\nssm\\nssm.exe)')
    .option('--manifest <file>', 'append every file and folder this install created to FILE (installer/linux uses it to uninstall exactly)')
    .addHelpText(
      'after',
      '\nLinux: writes /etc/systemd/system/appstream-credential-agent.service (hardened; runs as user\n' +
        'appstream-creds, whose group may read the 0640 token), <prefix>/bin/appstream-creds and the\n' +
        '/usr/bin/appstream-creds link; creates the user and group; systemctl daemon-reload and enable --now.\n' +
        'Windows: a service hosted by NSSM (or, with --host winsw, WinSW): restart on failure, sc.exe recovery,\n' +
        'Ctrl+C on stop; state folder readable by SYSTEM and Administrators only (plus --token-group).\n' +
        'Run from appstream-creds.exe, it copies itself and native\\ to <prefix>\\bin\\ (after stopping a running\n' +
        'service: an upgrade) and the service runs that exe; from node + dist\\, it writes <prefix>\\bin\\appstream-creds.bat.\n' +
        '--set-machine-env: /etc/profile.d/appstream-creds.sh and /etc/environment.d/60-appstream-creds.conf,\n' +
        'or the Windows machine environment (setx /M); users outside the token group then cannot read the token.\n' +
        'A live install first checks that no other account can change what the service will run (the install\n' +
        'folder, dist/ or bin\\, the node binary): owned by root/SYSTEM/Administrators, writable by nobody else.\n' +
        EXAMPLES,
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: InstallOptions, command: Command) => {
        const settings = commandSettings(command, deps, { port: opts.port, tokenGroup: opts.tokenGroup });
        if (opts.host !== 'winsw' && opts.host !== 'nssm') throw usageError(`--host ${opts.host}: use winsw or nssm`);
        const flags = globalFlags(command);
        const location = locate(opts, true);
        const manager = managerFor(opts, true, location);
        const fromExe = platform === 'win32' && deps.ctx.selfExe !== undefined && opts.nodePath === undefined;
        const nodePath = opts.nodePath ?? defaultNodePath(platform, env, deps.ctx.execPath);
        const looseCode = location.root === undefined ? await codeRefusal(settings, location.prefix, fromExe ? undefined : nodePath) : undefined;
        const extraEnv: Record<string, string> = {};
        if (flags.profile) extraEnv.APPSTREAM_CREDS_PROFILE = settings.profile;
        if (settings.logLevel) extraEnv.APPSTREAM_CREDS_LOG_LEVEL = settings.logLevel;
        const outcome = await manager.install({
          nodePath,
          ...(fromExe ? { exeSource: deps.ctx.selfExe } : {}),
          stateDir: settings.stateDir,
          ...(settings.logDir ? { logDir: settings.logDir } : {}),
          port: settings.port,
          ...(settings.imds ? { imdsPort: settings.imdsPort } : {}),
          ...(settings.tokenGroup ? { tokenGroup: settings.tokenGroup } : {}),
          ...(flags.config ? { configFile: pathModule.resolve(deps.ctx.cwd, flags.config) } : {}),
          extraEnv,
          logMaxSizeMb: settings.logMaxSizeMb,
          logMaxFiles: settings.logMaxFiles,
          setMachineEnv: Boolean(opts.setMachineEnv),
          start: opts.start,
          ...(opts.winsw ? { winswSource: opts.winsw } : {}),
          host: opts.host,
          ...(opts.nssm ? { nssmSource: opts.nssm } : {}),
        });
        if (opts.manifest) await appendManifest(pathModule.resolve(deps.ctx.cwd, opts.manifest), outcome.created, overrides.files ?? nodeFileOps);
        const notes = [...(looseCode ? [looseCode] : []), ...outcome.notes];
        print([`${SERVICE_ID}: ${outcome.action}`, ...outcome.steps.map((s) => `  ${s}`), ...notes.map((n) => `note: ${n}`)]);
        return ExitCode.ok;
      }),
    );

  withLocation(service.command('uninstall'), true)
    .description('stop and remove the service, its launcher and the machine environment; keeps the state folder and logs')
    .addHelpText('after', '\nExamples:\n  sudo appstream-creds service uninstall\n  appstream-creds service uninstall --root /tmp/pkg\n')
    .action(
      runAction(deps.ctx, deps.slot, async (opts: LocationOptions) => {
        const outcome = await managerFor(opts, true).uninstall();
        print([`${SERVICE_ID}: ${outcome.removed ? 'uninstalled' : 'was not installed'}`, ...outcome.steps.map((s) => `  ${s}`), ...outcome.notes.map((n) => `note: ${n}`)]);
        return ExitCode.ok;
      }),
    );

  for (const verb of ['start', 'stop'] as const) {
    withLocation(service.command(verb), false)
      .description(`${verb} the installed service`)
      .addHelpText('after', `\nExample:\n  sudo appstream-creds service ${verb}\n`)
      .action(
        runAction(deps.ctx, deps.slot, async (opts: LocationOptions) => {
          await managerFor(opts, true)[verb]();
          print([`${SERVICE_ID}: ${verb === 'start' ? 'started' : 'stopped'}`]);
          return ExitCode.ok;
        }),
      );
  }

  withLocation(service.command('status'), false)
    .description('show whether the service is installed and running')
    .option('--json', 'print JSON: {"service", "state", "detail"}')
    .addHelpText(
      'after',
      '\nStates: running, stopped, not-installed, unknown. Exit code 0 when running, 1 otherwise.\n' +
        '\nExamples:\n  appstream-creds service status\n  appstream-creds service status --json\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: LocationOptions & { json?: boolean }) => {
        const status = await managerFor(opts, false).status();
        deps.ctx.io.stdout(opts.json ? `${JSON.stringify({ service: SERVICE_ID, ...status }, null, 2)}\n` : `${SERVICE_ID}: ${status.state} (${status.detail})\n`);
        return status.state === 'running' ? ExitCode.ok : ExitCode.runtime;
      }),
    );
}

/** Adds paths to an install manifest, one per line, keeping earlier installs' entries (upgrades create less). */
async function appendManifest(file: string, created: readonly string[], files: FileOps): Promise<void> {
  const existing = (await files.readText(file))?.split('\n').filter(Boolean) ?? [];
  const all = [...new Set([...existing, ...created])].sort();
  await files.ensureDir(path.dirname(file));
  await writeFileAtomic(file, `${all.join('\n')}\n`, 0o644);
}
