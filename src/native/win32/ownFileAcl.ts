import { buildAcl, FILE_ALL_ACCESS, FILE_READ_EXECUTE, ACE_FLAG, type AceSpec } from './securityDescriptor.js';
import { WELL_KNOWN } from './sid.js';

/**
 * How the agent's own files and folders get their access on Windows: an explicit, protected
 * DACL set through the OS (SetNamedSecurityInfoW) before any content is written, never a
 * follow-up icacls call. The POSIX mode the code already passes decides who reads: the owner
 * bits go to SYSTEM, Administrators and the agent's account (full control), the group read bit
 * to the token group's SID (if one is configured), the other read bit to Everyone. Nobody else
 * gets write access, whatever the folder above would have passed down.
 */
export interface OwnAcl {
  /** Sets the DACL of a file or folder the agent just created. Throws with the Win32 error. */
  protect(target: string, mode: number, folder?: boolean): Promise<void>;
  /** Whether a group gets read access (tokenGroup resolved to a SID). */
  readonly group: boolean;
}

export interface OwnAclInit {
  /** The agent's account (its process token's user). */
  self: string;
  /** tokenGroup as a SID, when configured. */
  groupSid?: string | undefined;
  setProtectedDacl: (target: string, acl: Uint8Array) => void;
}

/** The entries for `mode`; folders pass the owner-class ones on to what is created inside (logs, temp files). */
export function ownAclEntries(mode: number, init: Pick<OwnAclInit, 'self' | 'groupSid'>, folder = false): AceSpec[] {
  const flags = folder ? ACE_FLAG.objectInherit | ACE_FLAG.containerInherit : 0;
  const entries: AceSpec[] = [
    { sid: WELL_KNOWN.system, mask: FILE_ALL_ACCESS, flags },
    { sid: WELL_KNOWN.administrators, mask: FILE_ALL_ACCESS, flags },
  ];
  if (init.self !== WELL_KNOWN.system && init.self !== WELL_KNOWN.administrators) entries.push({ sid: init.self, mask: FILE_ALL_ACCESS, flags });
  // Readers get the folder itself only: what is created inside inherits the owner-class entries
  // alone (a log file stays private), and files meant to be read say so with their own mode.
  if (mode & 0o040 && init.groupSid) entries.push({ sid: init.groupSid, mask: FILE_READ_EXECUTE, flags: 0 });
  if (mode & 0o004) entries.push({ sid: WELL_KNOWN.everyone, mask: FILE_READ_EXECUTE, flags: 0 });
  return entries;
}

export function ownAcl(init: OwnAclInit): OwnAcl {
  return {
    group: Boolean(init.groupSid),
    protect: async (target, mode, folder = false) => init.setProtectedDacl(target, buildAcl(ownAclEntries(mode, init, folder))),
  };
}
