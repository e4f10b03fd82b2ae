import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describeTrusted, describeUid, type TrustPolicy } from './trustPolicy.js';

export interface PathStat {
  uid: number;
  mode: number;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The two calls the check makes, injected so tests can describe any tree. */
export interface TrustFs {
  lstat(path: string): Promise<PathStat>;
  realpath(path: string): Promise<string>;
}

/**
 * Synchronous calls behind the async interface: a handful of stats of local metadata cost a few
 * microseconds each, while the thread-pool round trip of fs/promises costs about a hundred on a
 * busy machine, and credential-process pays for every one of them at start-up.
 */
export const nodeTrustFs: TrustFs = {
  lstat: async (p) => lstatSync(p),
  realpath: async (p) => realpathSync.native(p),
};

/** Why a path is not trusted, in words a user can act on. Never carries file content. */
export interface TrustRefusal {
  /** The file that was to be used. */
  file: string;
  /** The file itself or the folder above it that fails the rule. */
  culprit: string;
  /** "owned by uid 1001 (x), mode 0644" */
  reason: string;
  fix: string;
}

export const refusalMessage = (refusal: TrustRefusal): string =>
  refusal.culprit === refusal.file ? `${refusal.file} is not trusted: ${refusal.reason}` : `${refusal.file} is not trusted: ${refusal.culprit} is ${refusal.reason}`;

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * ssh's StrictModes for one path: the file, every folder above it, and (if any part is a
 * symlink) every part of the real path must be owned by a trusted account and writable by
 * nobody else. A folder writable by others is still safe when it is root's and sticky (/tmp):
 * nobody can then rename or replace entries they do not own, and the entry below is checked.
 * A missing path is not refused here (the caller reports it as missing).
 */
export async function checkPathTrust(file: string, policy: TrustPolicy, fs: TrustFs = nodeTrustFs, pathApi: path.PlatformPath = path.posix): Promise<TrustRefusal | undefined> {
  const absolute = pathApi.resolve(file);
  let real: string;
  try {
    real = await fs.realpath(absolute);
  } catch {
    return undefined;
  }
  const parts = new Set([...ancestry(absolute, pathApi), ...ancestry(real, pathApi)]);
  for (const part of parts) {
    let info: PathStat;
    try {
      info = await fs.lstat(part);
    } catch {
      continue; // vanished meanwhile: the read that follows reports it
    }
    const refusal = judge(file, part, info, policy);
    if (refusal) return refusal;
  }
  return undefined;
}

/**
 * The same rule for a caller that cannot wait (settings are resolved synchronously): the real
 * file system, no injection. A missing path is not refused.
 */
export function checkPathTrustSync(file: string, policy: TrustPolicy, pathApi: path.PlatformPath = path.posix): TrustRefusal | undefined {
  const absolute = pathApi.resolve(file);
  let real: string;
  try {
    real = realpathSync.native(absolute);
  } catch {
    return undefined;
  }
  for (const part of new Set([...ancestry(absolute, pathApi), ...ancestry(real, pathApi)])) {
    let info: PathStat;
    try {
      info = lstatSync(part);
    } catch {
      continue;
    }
    const refusal = judge(file, part, info, policy);
    if (refusal) return refusal;
  }
  return undefined;
}

/** The file's path and each folder above it, deepest first. */
function ancestry(p: string, pathApi: path.PlatformPath): string[] {
  const out = [p];
  for (let dir = pathApi.dirname(p); dir !== out[out.length - 1]; dir = pathApi.dirname(dir)) out.push(dir);
  return out;
}

function judge(file: string, part: string, info: PathStat, policy: TrustPolicy): TrustRefusal | undefined {
  const kind = info.isDirectory() ? 'folder' : info.isSymbolicLink() ? 'symlink' : 'file';
  const describe = (why: string): string => `${kind === 'file' ? '' : `a ${kind} `}owned by ${describeUid(policy, info.uid)}, mode ${octal(info.mode)}${why}`;
  if (!policy.uids.has(info.uid)) {
    return { file, culprit: part, reason: describe(''), fix: `only ${describeTrusted(policy)} may own it: chown root ${part} (or add its owner to trustedOwners if that account is meant to provide credentials)` };
  }
  // A symlink's own mode means nothing; its folder and its target are checked.
  if (info.isSymbolicLink()) return undefined;
  const writableByOthers = (info.mode & 0o022) !== 0;
  const stickyRootFolder = info.isDirectory() && (info.mode & 0o1000) !== 0 && info.uid === 0;
  if (writableByOthers && !stickyRootFolder) {
    const who = info.mode & 0o002 ? 'every user' : 'its group';
    return { file, culprit: part, reason: describe(` (writable by ${who})`), fix: `chmod go-w ${part}` };
  }
  return undefined;
}
