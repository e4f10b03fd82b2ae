import path from 'node:path';
import { checkPathTrust, nodeTrustFs, type TrustFs, type TrustRefusal } from './checkPathTrust.js';
import { checkWindowsTrust, type ReadAcl } from './checkWindowsTrust.js';
import type { TrustPolicy } from './trustPolicy.js';

/** Judges one path under the policy: a refusal, or undefined when it may be used. */
export type CheckTrust = (file: string) => Promise<TrustRefusal | undefined>;

export interface PathTrustDeps {
  fs?: TrustFs;
  /** Windows only: how to read an ACL. Without it every Windows path is refused, saying why. */
  readAcl?: ReadAcl;
}

/** The platform's form of the ownership rule, chosen once at setup. */
export function pathTrust(platform: NodeJS.Platform, policy: TrustPolicy, deps: PathTrustDeps = {}): CheckTrust {
  if (platform !== 'win32') return (file) => checkPathTrust(file, policy, deps.fs ?? nodeTrustFs, path.posix);
  const { readAcl } = deps;
  if (!readAcl) {
    return async (file) => ({
      file,
      culprit: file,
      reason: 'no way to read its owner and ACL was configured',
      fix: 'set strictPermissions=false only on rigs that cannot report owners (Wine)',
    });
  }
  return (file) => checkWindowsTrust(file, policy, readAcl, path.win32.dirname);
}
