import path from 'node:path';
import { usageError } from '../errors.js';
import { DEFAULT_LINUX_PREFIX, WINDOWS_INSTALL_FOLDER } from './constants.js';
import type { FileOps } from './fileOps.js';
import { createLinuxServiceManager } from './linuxServiceManager.js';
import type { CommandRunner, PlatformServiceManager } from './managerTypes.js';
import { createWindowsServiceManager } from './windowsServiceManager.js';

export interface ServiceManagerOptions {
  /** Install folder holding dist/ (default: /opt/appstream-credential-agent, %ProgramFiles%\AppStreamCredentialAgent). */
  prefix?: string;
  /** Linux: write every file under this folder (DESTDIR); implies packaging unless told otherwise. */
  root?: string;
  /** Linux: write files only and run no command. */
  packaging?: boolean;
  /** For %ProgramFiles% and friends; default: none (built-in fallbacks). */
  env?: Readonly<Record<string, string | undefined>>;
  files?: FileOps;
}

export function defaultPrefix(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>> = {}): string {
  return platform === 'win32' ? path.win32.join(env.ProgramFiles ?? 'C:\\Program Files', WINDOWS_INSTALL_FOLDER) : DEFAULT_LINUX_PREFIX;
}

/** Node on the target: the AppStream agent's own copy on Windows, the running node elsewhere. */
export function defaultNodePath(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>, execPath: string): string {
  return platform === 'win32' ? path.win32.join(env.ProgramFiles ?? 'C:\\Program Files', 'nodejs', 'node.exe') : execPath;
}

function unsupported(platform: NodeJS.Platform): PlatformServiceManager {
  const refuse = async (): Promise<never> => {
    throw usageError(`service management supports Linux (systemd) and Windows, not ${platform}; run \`appstream-creds serve\` under your own supervisor`);
  };
  return {
    platform: 'linux',
    status: async () => ({ state: 'unknown', detail: `no service manager for ${platform}` }),
    install: refuse,
    uninstall: refuse,
    start: refuse,
    stop: refuse,
  };
}

/** The platform adapter; `doctor` calls createServiceManager(platform, runner).status(). */
export function createServiceManager(platform: NodeJS.Platform, runner: CommandRunner, options: ServiceManagerOptions = {}): PlatformServiceManager {
  const prefix = options.prefix ?? defaultPrefix(platform, options.env);
  if (platform === 'win32') return createWindowsServiceManager({ runner, prefix, ...(options.files ? { files: options.files } : {}) });
  if (platform === 'linux') {
    return createLinuxServiceManager({
      runner,
      prefix,
      ...(options.root === undefined ? {} : { root: options.root }),
      ...(options.packaging === undefined ? {} : { packaging: options.packaging }),
      ...(options.files ? { files: options.files } : {}),
    });
  }
  return unsupported(platform);
}
