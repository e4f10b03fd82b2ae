import type { TrustRefusal } from './checkPathTrust.js';
import type { TrustPolicy } from './trustPolicy.js';

/** One access rule as `icacls` prints it: `BUILTIN\Users:(I)(OI)(CI)(RX)`. */
export interface AclEntry {
  account: string;
  rights: string[];
}

/**
 * Reads a path's ACL (Windows: `icacls`). Injected: under Wine `icacls` is a stub, and tests
 * describe ACLs directly. Throws when the ACL cannot be read, with the reason as message.
 */
export type ReadAcl = (path: string) => Promise<AclEntry[]>;

/** Accounts that are the OS itself: their write access is not a way in. */
const SYSTEM_ACCOUNTS = ['NT AUTHORITY\\SYSTEM', 'BUILTIN\\Administrators', 'NT SERVICE\\TrustedInstaller', 'SYSTEM', 'Administrators', 'CREATOR OWNER'];
/** Rights that let an account change the object itself or its ACL (icacls's simple and specific rights). */
const WRITE_RIGHTS = new Set(['F', 'M', 'W', 'WD', 'AD', 'WA', 'WEA', 'DC', 'D', 'WDAC', 'WO', 'GA', 'GW', 'MA']);
/**
 * On the folder holding it, only rights that can remove, rename or re-permission what is there
 * matter: creating new entries (WD/AD, as every user may in ProgramData) cannot replace ours.
 */
const PARENT_RIGHTS = new Set(['F', 'M', 'DC', 'D', 'WDAC', 'WO', 'GA', 'MA']);

/**
 * Parses icacls output. Each line after the path holds one `ACCOUNT:(flags)(rights)` entry; the
 * first line starts with the path itself; a final "Successfully processed" line is ignored.
 */
export function parseIcacls(output: string, target: string): AclEntry[] {
  const entries: AclEntry[] = [];
  for (const raw of output.split(/\r?\n/)) {
    let line = raw.trim();
    if (line.toLowerCase().startsWith(target.toLowerCase())) line = line.slice(target.length).trim();
    const match = /^(.+?):((?:\([A-Z,]+\))+)$/.exec(line);
    if (!match) continue;
    const rights = [...match[2]!.matchAll(/\(([A-Z,]+)\)/g)].flatMap((m) => m[1]!.split(','));
    entries.push({ account: match[1]!, rights });
  }
  return entries;
}

const sameAccount = (a: string, b: string): boolean => {
  const short = (s: string): string => s.toLowerCase().split('\\').pop()!;
  return a.toLowerCase() === b.toLowerCase() || (!b.includes('\\') && short(a) === short(b));
};

/**
 * Windows form of the rule: every account that may write the file, or remove or re-permission
 * entries of the folder holding it, must be the system, Administrators, the agent's own account
 * or one in trustedOwners. Inherit-only
 * entries (IO) do not apply to the object itself. An ACL that cannot be read is a refusal.
 */
export async function checkWindowsTrust(file: string, policy: TrustPolicy, readAcl: ReadAcl, dirname: (p: string) => string): Promise<TrustRefusal | undefined> {
  for (const [part, dangerous] of [[file, WRITE_RIGHTS], [dirname(file), PARENT_RIGHTS]] as const) {
    let entries: AclEntry[];
    try {
      entries = await readAcl(part);
    } catch (error) {
      return {
        file,
        culprit: part,
        reason: `its owner and ACL cannot be read (${(error as Error).message})`,
        fix: 'run where icacls works; on rigs that cannot report owners (Wine) set strictPermissions=false',
      };
    }
    if (entries.length === 0) {
      return { file, culprit: part, reason: 'its ACL cannot be read (icacls printed no entries)', fix: 'run where icacls works; on rigs that cannot report owners (Wine) set strictPermissions=false' };
    }
    const trusted = [...SYSTEM_ACCOUNTS, ...policy.accounts];
    const writer = entries.find((e) => !e.rights.includes('IO') && e.rights.some((r) => dangerous.has(r)) && !trusted.some((t) => sameAccount(e.account, t)));
    if (writer) {
      return { file, culprit: part, reason: `writable by ${writer.account} (${writer.rights.join(',')})`, fix: `icacls "${part}" /remove "${writer.account}" (or add that account to trustedOwners if it is meant to provide credentials)` };
    }
  }
  return undefined;
}

/** The production ReadAcl: `icacls PATH`, through a runner the composition root provides. */
export function icaclsReader(run: (command: string, args: string[]) => Promise<{ code: number; stdout: string }>): ReadAcl {
  return async (target) => {
    const result = await run('icacls', [target]);
    if (result.code !== 0) throw new Error(`icacls exited ${result.code}`);
    return parseIcacls(result.stdout, target);
  };
}
