import path from 'node:path';
import { usageError } from '../errors.js';
import { BUNDLE_RELATIVE, SERVICE_GROUP, SERVICE_USER, SYSTEMD_UNIT } from './constants.js';
import { nodeFileOps, type FileOps } from './fileOps.js';
import { LINUX_ENVIRONMENT_D, LINUX_MACHINE_ENV_FILES, LINUX_PROFILE_SCRIPT, machineEnvVars, renderEnvironmentD, renderProfileScript } from './machineEnv.js';
import type { CommandRunner, InstallOutcome, PlatformServiceManager, ServiceInstallConfig, ServiceStatus, UninstallOutcome } from './managerTypes.js';
import { describeCommand, runChecked } from './runChecked.js';
import { serveArguments, serviceEnvironment } from './serviceEnvironment.js';
import { parseSystemctlShow, SHOW_ARGS } from './systemdStatus.js';
import { renderSystemdUnit } from './systemdUnit.js';

export interface LinuxServiceManagerOptions {
  runner: CommandRunner;
  /** Install prefix on the target (the bundle is <prefix>/dist/appstream-creds.cjs). */
  prefix: string;
  /** Every file goes under this folder, like DESTDIR (default '/'). */
  root?: string;
  /** Write files only and run no command: for packaging into a staging root (default: root is not '/'). */
  packaging?: boolean;
  files?: FileOps;
}

const UNIT_PATH = `/etc/systemd/system/${SYSTEMD_UNIT}`;
const COMMAND_LINK = '/usr/bin/appstream-creds';
const posix = path.posix;
const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** systemd: a unit, a dedicated user and group, optional machine-wide variables. */
export function createLinuxServiceManager(options: LinuxServiceManagerOptions): PlatformServiceManager {
  const root = options.root ?? '/';
  const packaging = options.packaging ?? path.resolve(root) !== '/';
  const files = options.files ?? nodeFileOps;
  const { runner, prefix } = options;
  const at = (target: string): string => path.join(root, target);
  const toTarget = (host: string): string => `/${path.relative(root, host).split(path.sep).join('/')}`;
  const bundlePath = posix.join(prefix, ...BUNDLE_RELATIVE);
  const launcherPath = posix.join(prefix, 'bin', 'appstream-creds');

  const status = async (): Promise<ServiceStatus> => parseSystemctlShow(await runner.run('systemctl', SHOW_ARGS));

  async function install(config: ServiceInstallConfig): Promise<InstallOutcome> {
    const steps: string[] = [];
    const notes: string[] = [];
    const created: string[] = [];
    const run = async (command: string, args: string[]): Promise<string> => {
      const { stdout } = await runChecked(runner, command, args);
      steps.push(`ran ${describeCommand(command, args)}`);
      return stdout;
    };
    /** Writes a target file, recording it and any folder it needed when they are new. */
    const write = async (target: string, content: string, mode: number): Promise<void> => {
      const isNew = !(await files.exists(at(target)));
      created.push(...(await files.writeAtomic(at(target), content, mode)).map(toTarget), ...(isNew ? [target] : []));
      steps.push(`wrote ${target}`);
    };

    if (!(await files.exists(at(bundlePath)))) {
      throw usageError(`no bundle at ${at(bundlePath)}: copy dist/ to ${prefix}/dist first (installer/linux/install.sh does), or pass --prefix`);
    }
    if (config.setMachineEnv && config.port === 0) throw usageError('--set-machine-env needs a fixed port (not 0): scripts must know where the agent listens');
    const upgrade = await files.exists(at(UNIT_PATH));
    const tokenGroup = config.tokenGroup ?? SERVICE_GROUP;
    const logDir = config.logDir ?? posix.join(config.stateDir, 'logs');
    const unit = renderSystemdUnit({
      nodePath: config.nodePath,
      args: serveArguments(bundlePath, config.configFile),
      stateDir: config.stateDir,
      logDir,
      environment: serviceEnvironment({ ...config, logDir }, posix, tokenGroup),
      user: SERVICE_USER,
      group: SERVICE_GROUP,
      ...(tokenGroup === SERVICE_GROUP ? {} : { supplementaryGroups: [tokenGroup] }),
      port: config.port,
      imdsPort: config.imdsPort,
    });

    if (packaging) {
      // The package's own scripts create the account; StateDirectory= creates /var/lib/… at start.
      if (!config.stateDir.startsWith('/var/lib/')) created.push(...(await files.ensureDir(at(config.stateDir))).map(toTarget));
      if (!logDir.startsWith(`${config.stateDir}/`)) created.push(...(await files.ensureDir(at(logDir))).map(toTarget));
    } else {
      if ((await runner.run('getent', ['group', SERVICE_GROUP])).code !== 0) await run('groupadd', ['--system', SERVICE_GROUP]);
      if ((await runner.run('getent', ['passwd', SERVICE_USER])).code !== 0) {
        await run('useradd', ['--system', '--gid', SERVICE_GROUP, '--home-dir', config.stateDir, '--no-create-home', '--shell', '/sbin/nologin', '--comment', 'AppStream credential agent', SERVICE_USER]);
      }
      if (tokenGroup !== SERVICE_GROUP && (await runner.run('getent', ['group', tokenGroup])).code !== 0) {
        throw usageError(`token group "${tokenGroup}" does not exist; create it first (groupadd ${tokenGroup})`);
      }
      await run('install', ['-d', '-o', SERVICE_USER, '-g', SERVICE_GROUP, '-m', '0755', config.stateDir]);
      await run('install', ['-d', '-o', SERVICE_USER, '-g', SERVICE_GROUP, '-m', '0750', logDir]);
      const version = Number(/systemd (\d+)/.exec((await runner.run('systemctl', ['--version'])).stdout)?.[1] ?? 'NaN');
      if (version < 232) {
        notes.push(
          `systemd ${version} ignores some hardening (ProtectSystem=strict, ReadWritePaths, StateDirectory)` +
            (version < 229 ? ' and AmbientCapabilities, so the service user can read only profiles it has permission for (grant it read with setfacl, or set credentialsFile/configFile)' : ''),
        );
      }
    }

    await write(UNIT_PATH, unit, 0o644);
    await write(launcherPath, `#!/bin/sh\n# appstream-creds launcher, written by \`service install\`.\nexec ${shellQuote(config.nodePath)} ${shellQuote(bundlePath)} "$@"\n`, 0o755);
    const link = await files.readLink(at(COMMAND_LINK));
    if (link === undefined && !(await files.exists(at(COMMAND_LINK)))) {
      created.push(...(await files.symlink(launcherPath, at(COMMAND_LINK))).map(toTarget), COMMAND_LINK);
      steps.push(`linked ${COMMAND_LINK} -> ${launcherPath}`);
    } else if (link !== launcherPath) {
      notes.push(`left ${COMMAND_LINK} alone (it is not ours); run ${launcherPath} instead`);
    }

    // Machine variables: opt-in, and kept current on upgrade once they exist.
    const envPresent = (await Promise.all(LINUX_MACHINE_ENV_FILES.map((f) => files.exists(at(f))))).some(Boolean);
    if (config.setMachineEnv || envPresent) {
      if (config.port === 0) throw usageError('machine environment files exist, so the port must be fixed (not 0)');
      const vars = machineEnvVars(config.port, config.stateDir, posix);
      await write(LINUX_PROFILE_SCRIPT, renderProfileScript(vars), 0o644);
      await write(LINUX_ENVIRONMENT_D, renderEnvironmentD(vars), 0o644);
    }

    if (!packaging) {
      await run('systemctl', ['daemon-reload']);
      if (upgrade) {
        await run('systemctl', ['enable', SYSTEMD_UNIT]);
        if (config.start) await run('systemctl', ['restart', SYSTEMD_UNIT]);
      } else {
        await run('systemctl', config.start ? ['enable', '--now', SYSTEMD_UNIT] : ['enable', SYSTEMD_UNIT]);
      }
      if (tokenGroup === SERVICE_GROUP) notes.push(`scripts read the token as members of group ${SERVICE_GROUP}: usermod -aG ${SERVICE_GROUP} USER`);
    } else {
      notes.push(`packaging mode: no account created, nothing enabled; the package's scripts should run \`${launcherPath} service install\` (or create user/group ${SERVICE_USER} and run systemctl enable --now ${SYSTEMD_UNIT})`);
    }
    return { action: packaging ? 'staged' : upgrade ? 'upgraded' : 'installed', created, steps, notes };
  }

  async function uninstall(): Promise<UninstallOutcome> {
    const steps: string[] = [];
    const remove = async (target: string): Promise<boolean> => {
      const gone = await files.remove(at(target));
      if (gone) steps.push(`removed ${target}`);
      return gone;
    };
    if (!packaging && (await status()).state !== 'not-installed') {
      await runChecked(runner, 'systemctl', ['disable', '--now', SYSTEMD_UNIT]);
      steps.push(`ran systemctl disable --now ${SYSTEMD_UNIT}`);
    }
    const removed = await remove(UNIT_PATH);
    if ((await files.readLink(at(COMMAND_LINK))) === launcherPath) await remove(COMMAND_LINK);
    await remove(launcherPath);
    await files.removeDirIfEmpty(at(posix.dirname(launcherPath)));
    for (const file of LINUX_MACHINE_ENV_FILES) await remove(file);
    if (!packaging) {
      await runChecked(runner, 'systemctl', ['daemon-reload']);
      await runner.run('systemctl', ['reset-failed', SYSTEMD_UNIT]); // fine to fail: nothing to reset
      steps.push('ran systemctl daemon-reload');
    }
    return { removed, steps, notes: [`kept the state folder and its logs, and user/group ${SERVICE_USER}`] };
  }

  return {
    platform: 'linux',
    status,
    install,
    uninstall,
    start: async () => void (await runChecked(runner, 'systemctl', ['start', SYSTEMD_UNIT])),
    stop: async () => void (await runChecked(runner, 'systemctl', ['stop', SYSTEMD_UNIT])),
  };
}
