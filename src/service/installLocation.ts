import path from 'node:path';
import { AgentError, ExitCode, usageError } from '../errors.js';
import { BUNDLE_RELATIVE } from './constants.js';
import { defaultPrefix } from './createServiceManager.js';

export interface LocationRequest {
  /** --prefix: the install folder holding dist/. */
  prefix?: string | undefined;
  /** --root: Linux only, write every file under this folder (like DESTDIR) and run no system command. */
  root?: string | undefined;
  /** Whether the action changes the system (install, uninstall, start, stop), not just reads it. */
  live: boolean;
  platform: NodeJS.Platform;
  cwd: string;
  /** This CLI's entry script: a bundle at <prefix>/dist/appstream-creds.cjs names its own prefix. */
  selfScript: string;
  env: Readonly<Record<string, string | undefined>>;
  uid: number | undefined;
}

export interface ServiceLocation {
  prefix: string;
  /** Resolved staging root, when packaging. */
  root?: string;
}

/**
 * Where the service is installed: --prefix, else the folder this bundle runs from (made
 * relative to --root when the bundle sits inside it), else the platform default. Refuses
 * --root off Linux, and live changes without root on Linux unless staging into a root.
 */
export function serviceLocation(request: LocationRequest): ServiceLocation {
  const { platform } = request;
  const pathModule = platform === 'win32' ? path.win32 : path.posix;
  if (request.root !== undefined && platform !== 'linux') throw usageError('--root (packaging into a staging folder) is for Linux only');
  const root = request.root === undefined ? undefined : pathModule.resolve(request.cwd, request.root);
  const packaging = root !== undefined && root !== '/';
  if (request.live && platform === 'linux' && !packaging && request.uid !== undefined && request.uid !== 0) {
    throw new AgentError('changing the system service needs root: run it with sudo (or use --root DIR to stage files for a package)', { exitCode: ExitCode.runtime, code: 'needs-root' });
  }
  return { prefix: prefixFor(request, pathModule), ...(root === undefined ? {} : { root }) };
}

function prefixFor(request: LocationRequest, pathModule: path.PlatformPath): string {
  if (request.prefix) return request.prefix;
  const self = request.selfScript;
  const [distFolder, bundleName] = BUNDLE_RELATIVE;
  if (pathModule.basename(pathModule.dirname(self)) === distFolder && pathModule.basename(self) === bundleName) {
    const fromSelf = pathModule.dirname(pathModule.dirname(pathModule.resolve(self)));
    if (!request.root) return fromSelf;
    const relative = pathModule.relative(pathModule.resolve(request.root), fromSelf);
    if (!relative.startsWith('..') && !pathModule.isAbsolute(relative)) return `/${relative.split(pathModule.sep).join('/')}`;
  }
  return defaultPrefix(request.platform, request.env);
}
