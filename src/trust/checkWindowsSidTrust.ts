import path from 'node:path';
import type { TrustRefusal } from './checkPathTrust.js';
import { ACCESS, ACE_FLAG, ACE_TYPE, type SecurityInfo } from '../native/win32/securityDescriptor.js';
import { WELL_KNOWN, WELL_KNOWN_NAMES } from '../native/win32/sid.js';

/** What the rule reads, injected: the native route on Windows, captured bytes in tests. */
export interface SecurityReader {
  /** Owner and DACL of a path. Throws when they cannot be read; `missing: true` on the error when the path is gone. */
  read(path: string): Promise<SecurityInfo>;
  /** `DOMAIN\name` for messages, when the SID resolves. Never used to decide. */
  name(sid: string): string | undefined;
  /** The final path (symlinks, junctions resolved); throws when the path does not exist. */
  realpath(path: string): Promise<string>;
}

/** SIDs that are the OS itself: their ownership or write access is not a way in. */
export const SYSTEM_SIDS: readonly string[] = [WELL_KNOWN.system, WELL_KNOWN.administrators, WELL_KNOWN.trustedInstaller];
/** ACE subjects that stand for the owner (judged as the owner) or only for future children. */
const OWNER_STANDINS = new Set<string>([WELL_KNOWN.creatorOwner, WELL_KNOWN.ownerRights]);

/**
 * Bits that let an account change the object itself, its DACL or its owner, or remove it. Delete
 * child counts too: when the path judged is a folder (the state folder), it removes what is in it.
 */
export const OBJECT_WRITE =
  ACCESS.writeData | ACCESS.appendData | ACCESS.writeEa | ACCESS.deleteChild | ACCESS.writeAttributes | ACCESS.delete | ACCESS.writeDac | ACCESS.writeOwner | ACCESS.genericAll | ACCESS.genericWrite;
/**
 * On a folder above, only bits that can remove, rename or re-permission what is there count:
 * adding entries (as every user may in C:\ProgramData) cannot replace ours, and what is added
 * is judged by its own owner when it is on the path.
 */
export const FOLDER_ABOVE_WRITE = ACCESS.deleteChild | ACCESS.delete | ACCESS.writeDac | ACCESS.writeOwner | ACCESS.genericAll;

const BIT_NAMES: [number, string][] = [
  [ACCESS.genericAll, 'GENERIC_ALL'],
  [ACCESS.genericWrite, 'GENERIC_WRITE'],
  [ACCESS.writeData, 'write data/add file'],
  [ACCESS.appendData, 'append data/add folder'],
  [ACCESS.writeEa, 'write extended attributes'],
  [ACCESS.deleteChild, 'delete child'],
  [ACCESS.writeAttributes, 'write attributes'],
  [ACCESS.delete, 'DELETE'],
  [ACCESS.writeDac, 'WRITE_DAC'],
  [ACCESS.writeOwner, 'WRITE_OWNER'],
];

const hex = (mask: number): string => `0x${(mask >>> 0).toString(16)}`;
const bitsOf = (mask: number, of: number): string => BIT_NAMES.filter(([bit]) => mask & of & bit).map(([, name]) => name).join(', ');

/** "Everyone (S-1-1-0)", or the SID alone when it resolves to nothing. */
export function describeSid(sid: string, name: (sid: string) => string | undefined): string {
  const resolved = name(sid) ?? WELL_KNOWN_NAMES.get(sid);
  return resolved ? `${resolved} (${sid})` : sid;
}

/** The path and each folder above it, deepest first (C:\a\b, C:\a, C:\). */
function ancestry(p: string): string[] {
  const out = [p];
  for (let dir = path.win32.dirname(p); dir !== out[out.length - 1]; dir = path.win32.dirname(dir)) out.push(dir);
  return out;
}

/** `\\?\C:\x` (what a final-path lookup may return) as `C:\x`. */
const plain = (p: string): string => p.replace(/^\\\\\?\\(?=[A-Za-z]:)/, '');

/**
 * The Windows form of ssh's StrictModes, read as SIDs: the file, every folder above it and (if a
 * part is a link) every part of its real path must be owned by a trusted SID (SYSTEM,
 * Administrators, TrustedInstaller, the agent's account, trustedOwners), and no other SID may
 * hold a bit that writes the file or replaces it through a folder. Names never decide: they are
 * localized and appear in messages only. A missing path is not refused (the caller reports it).
 */
export async function checkWindowsSidTrust(file: string, trusted: ReadonlySet<string>, reader: SecurityReader): Promise<TrustRefusal | undefined> {
  const absolute = path.win32.resolve(file);
  let real: string;
  try {
    real = plain(await reader.realpath(absolute));
  } catch {
    return undefined;
  }
  const leaves = new Set([absolute.toLowerCase(), real.toLowerCase()]);
  const seen = new Set<string>();
  for (const part of [...ancestry(absolute), ...ancestry(real)]) {
    if (seen.has(part.toLowerCase())) continue;
    seen.add(part.toLowerCase());
    let info: SecurityInfo;
    try {
      info = await reader.read(part);
    } catch (error) {
      if ((error as { missing?: boolean }).missing) continue; // vanished meanwhile: the read that follows reports it
      return { file, culprit: part, reason: `its owner and DACL cannot be read (${(error as Error).message})`, fix: 'run the agent as an account that may read the security of this path (SYSTEM, Administrators or its owner)' };
    }
    const refusal = judge(file, part, info, trusted, leaves.has(part.toLowerCase()) ? OBJECT_WRITE : FOLDER_ABOVE_WRITE, reader.name);
    if (refusal) return refusal;
  }
  return undefined;
}

export function judge(file: string, part: string, info: SecurityInfo, trusted: ReadonlySet<string>, dangerous: number, name: (sid: string) => string | undefined): TrustRefusal | undefined {
  const trustedList = [...trusted].map((sid) => describeSid(sid, name)).join(', ');
  if (!info.owner || !trusted.has(info.owner)) {
    const owner = info.owner ? describeSid(info.owner, name) : 'nobody (no owner recorded)';
    return {
      file,
      culprit: part,
      reason: `owned by ${owner}`,
      fix: `only ${trustedList} may own it: icacls "${part}" /setowner *${WELL_KNOWN.administrators} (or add its owner to trustedOwners if that account is meant to provide credentials)`,
    };
  }
  if (info.dacl === null) {
    return { file, culprit: part, reason: 'without a DACL (everyone has full control)', fix: `icacls "${part}" /inheritance:r /grant:r *${WELL_KNOWN.system}:F *${WELL_KNOWN.administrators}:F` };
  }
  for (const ace of info.dacl) {
    if (ace.flags & ACE_FLAG.inheritOnly) continue; // a template for children, not this object's access
    if (ace.type === ACE_TYPE.deny) continue; // can only take rights away
    if (ace.type !== ACE_TYPE.allow && ace.type !== 9) {
      return { file, culprit: part, reason: `carrying an access entry of type ${ace.type}, which this rule cannot judge`, fix: `reset its DACL: icacls "${part}" /reset` };
    }
    if (!ace.sid || trusted.has(ace.sid) || OWNER_STANDINS.has(ace.sid) || !(ace.mask & dangerous)) continue;
    const who = describeSid(ace.sid, name);
    const inherited = ace.flags & ACE_FLAG.inherited ? ` (inherited: first icacls "${part}" /inheritance:d)` : '';
    return {
      file,
      culprit: part,
      reason: `writable by ${who} (access ${hex(ace.mask)}: ${bitsOf(ace.mask, dangerous)})`,
      fix: `icacls "${part}" /remove:g *${ace.sid}${inherited} (or add that account to trustedOwners if it is meant to provide credentials)`,
    };
  }
  return undefined;
}
