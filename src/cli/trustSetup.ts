import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Settings } from '../config/settingsSchema.js';
import { trustPolicy, type TrustPolicy } from '../trust/trustPolicy.js';
import { icaclsReader } from '../trust/checkWindowsTrust.js';
import type { PathTrustDeps } from '../trust/pathTrust.js';
import { SERVICE_USER } from '../service/constants.js';
import { nativeSecurityReader, windowsApi } from '../native/win32/windowsSecurity.js';
import type { WindowsApi } from '../native/win32/windowsApi.js';
import { ownAcl, type OwnAcl } from '../native/win32/ownFileAcl.js';
import { isSid } from '../native/win32/sid.js';
import { usageError } from '../errors.js';

/** /etc/passwd, read once per process and only where owners are uids. */
let passwd: string | undefined;
const readPasswd = (platform: NodeJS.Platform): string => {
  if (passwd === undefined) {
    try {
      passwd = platform === 'win32' ? '' : readFileSync('/etc/passwd', 'utf8');
    } catch {
      passwd = '';
    }
  }
  return passwd;
};

/** This process's user name, looked up once (each lookup goes through NSS). */
let ownName: { name: string | undefined } | undefined;
const userName = (): string | undefined => {
  if (!ownName) {
    try {
      ownName = { name: os.userInfo().username };
    } catch {
      ownName = { name: undefined };
    }
  }
  return ownName.name;
};

/** The facts about this process the rule needs (from the CLI context). */
export interface Self {
  platform: NodeJS.Platform;
  uid: number | undefined;
}

/** Who may own profile files: root/SYSTEM, this process's user, and `trustedOwners`. */
export function ownerPolicy(settings: Pick<Settings, 'trustedOwners' | 'strictPermissions'>, self: Self): TrustPolicy {
  return trustPolicy({ owners: settings.trustedOwners, uid: self.uid, userName: userName(), strict: settings.strictPermissions, passwd: readPasswd(self.platform) });
}

/**
 * Who may own the agent's state folder, agent.json and token as a client sees them: root/SYSTEM,
 * this process's user and, on Linux, the service account `service install` creates (the agent's
 * user). The Windows service runs as SYSTEM and no such account is made there: trusting the name
 * would trust whoever holds it, and resolving a name no machine has asks the domain controller
 * on every client start. trustedOwners are not included: they may provide a profile, not
 * impersonate the agent.
 */
export function agentPolicy(settings: Pick<Settings, 'strictPermissions'>, self: Self): TrustPolicy {
  return trustPolicy({ owners: self.platform === 'win32' ? [] : [SERVICE_USER], uid: self.uid, userName: userName(), strict: settings.strictPermissions, passwd: readPasswd(self.platform) });
}

/** Only the agent's own user and root own the folders `serve` writes. */
export function daemonPolicy(settings: Pick<Settings, 'strictPermissions'>, self: Self): TrustPolicy {
  return trustPolicy({ owners: [], uid: self.uid, userName: userName(), strict: settings.strictPermissions, passwd: readPasswd(self.platform) });
}

/** Which way the Windows ownership rule reads owners and DACLs, for doctor and status. */
export type WindowsTrustRoute = { route: 'native'; file: string } | { route: 'icacls'; reason: string };

export function windowsTrustRoute(): WindowsTrustRoute {
  const load = windowsApi();
  return load.ok ? { route: 'native', file: load.file } : { route: 'icacls', reason: load.reason };
}

/**
 * Windows: owners and DACLs as SIDs through advapi32 (koffi); `icacls` text only where the native
 * module cannot load. Elsewhere nothing to add.
 */
export function windowsAclReader(platform: NodeJS.Platform): PathTrustDeps {
  if (platform !== 'win32') return {};
  const load = windowsApi();
  if (load.ok) {
    const { api } = load;
    return { native: { reader: nativeSecurityReader(api), currentUser: () => api.currentUser(), accountSid: (name) => api.accountSid(name) } };
  }
  return {
    readAcl: icaclsReader(async (command, args) => {
      const { execFile } = await import('node:child_process');
      return new Promise((resolve) => {
        execFile(command, args, { windowsHide: true, timeout: 10_000 }, (error, stdout) => {
          const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : 1) : 0;
          resolve({ code, stdout: String(stdout) });
        });
      });
    }),
  };
}

/**
 * Windows: the explicit DACLs `serve` gives what it creates (native route only; without it the
 * files keep the folder's inherited access and doctor names the fallback). tokenGroup is
 * resolved to a SID once here; a name that does not resolve is a usage error, as on Linux.
 */
export function ownFileAcl(platform: NodeJS.Platform, settings: Pick<Settings, 'tokenGroup'>): OwnAcl | undefined {
  if (platform !== 'win32') return undefined;
  const load = windowsApi();
  if (!load.ok) return undefined;
  const { api } = load;
  return ownAcl({ self: api.currentUser(), groupSid: tokenGroupSid(api, settings), setProtectedDacl: (target, acl) => api.setProtectedDacl(target, acl) });
}

/** tokenGroup as a SID (a SID is taken as given); a name that does not resolve is a usage error. */
export function tokenGroupSid(api: Pick<WindowsApi, 'accountSid'>, settings: Pick<Settings, 'tokenGroup'>): string | undefined {
  const group = settings.tokenGroup;
  const sid = group ? (isSid(group) ? group.toUpperCase() : api.accountSid(group)) : undefined;
  if (group && !sid) throw usageError(`setting tokenGroup: no account or group named "${group}" on this machine`);
  return sid;
}
