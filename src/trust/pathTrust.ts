import path from 'node:path';
import { checkPathTrust, nodeTrustFs, type TrustFs, type TrustRefusal } from './checkPathTrust.js';
import { checkWindowsTrust, type ReadAcl } from './checkWindowsTrust.js';
import { checkWindowsSidTrust, SYSTEM_SIDS, type SecurityReader } from './checkWindowsSidTrust.js';
import type { TrustPolicy } from './trustPolicy.js';
import { isSid } from '../native/win32/sid.js';

/** Judges one path under the policy: a refusal, or undefined when it may be used. */
export type CheckTrust = (file: string) => Promise<TrustRefusal | undefined>;

/** Windows, native route: the security reader and the two account lookups the policy needs. */
export interface NativeTrust {
  reader: SecurityReader;
  /** This process's user SID (from its token). */
  currentUser: () => string;
  /** SID for an account name, undefined when it does not resolve. */
  accountSid: (name: string) => string | undefined;
}

export interface PathTrustDeps {
  fs?: TrustFs;
  /** Windows: owners and DACLs as SIDs through the OS (preferred). */
  native?: NativeTrust;
  /** Windows fallback where the native route cannot load: `icacls` text. */
  readAcl?: ReadAcl;
}

/**
 * The SIDs whose ownership and write access are trusted: the OS itself, this process's account,
 * and the policy's accounts (trustedOwners, the service account) resolved once here. A name that
 * does not resolve is skipped, as on POSIX: it cannot own a file.
 */
export function trustedSids(policy: TrustPolicy, native: Pick<NativeTrust, 'currentUser' | 'accountSid'>): Set<string> {
  const sids = new Set(SYSTEM_SIDS);
  sids.add(native.currentUser());
  for (const account of policy.accounts) {
    const sid = isSid(account) ? account.toUpperCase() : native.accountSid(account);
    if (sid) sids.add(sid);
  }
  return sids;
}

/** The platform's form of the ownership rule, chosen once at setup. */
export function pathTrust(platform: NodeJS.Platform, policy: TrustPolicy, deps: PathTrustDeps = {}): CheckTrust {
  if (platform !== 'win32') return (file) => checkPathTrust(file, policy, deps.fs ?? nodeTrustFs, path.posix);
  const { native, readAcl } = deps;
  if (native) {
    let sids: Set<string> | undefined;
    return (file) => checkWindowsSidTrust(file, (sids ??= trustedSids(policy, native)), native.reader);
  }
  if (!readAcl) {
    return async (file) => ({
      file,
      culprit: file,
      reason: 'no way to read its owner and ACL was configured',
      fix: 'set strictPermissions=false only on rigs that cannot report owners',
    });
  }
  return (file) => checkWindowsTrust(file, policy, readAcl, path.win32.dirname);
}
