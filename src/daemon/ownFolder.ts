import { mkdir } from 'node:fs/promises';
import { AgentError, ExitCode } from '../errors.js';
import { refusalMessage, type TrustRefusal } from '../trust/checkPathTrust.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import type { OwnAcl } from '../native/win32/ownFileAcl.js';

export interface OwnFolderRule {
  check: CheckTrust;
  /** false (strictPermissions off): a refusal is returned for a warning instead of thrown. */
  strict: boolean;
  /** Windows: explicit DACLs for what the agent creates (folders here, token, agent.json, lock). */
  acl?: OwnAcl | undefined;
}

/**
 * A folder this user may not create is a setup mistake, not a bug: say which folder, why, and
 * the flag or setting that picks another. Other errors pass through unchanged.
 */
function folderError(label: string, dir: string, error: NodeJS.ErrnoException): Error {
  const denied = error.code === 'EACCES' || error.code === 'EPERM';
  if (!denied && error.code !== 'EROFS') return error;
  const why = denied ? `permission denied (${error.code}) for this user` : 'the file system is read-only';
  const choose = label === 'state folder' ? '--state-dir DIR (setting stateDir, variable APPSTREAM_CREDS_STATE_DIR)' : 'the logDir setting (variable APPSTREAM_CREDS_LOG_DIR)';
  return new AgentError(`cannot create the ${label} ${dir}: ${why}; run as root (as the service does), or pick a folder you own with ${choose}`, {
    exitCode: ExitCode.usage,
    code: 'folder-denied',
  });
}

/**
 * Creates a folder the agent writes (state, logs) if needed, then insists it is the agent's own:
 * owned by root or the agent's user and writable by nobody else, nor any folder above it
 * (another account could otherwise plant symlinks or a fake agent.json there). Checked after
 * creating so a folder made under a hostile parent is refused too. On Windows a folder created
 * here gets an explicit DACL first (rule.acl).
 */
export async function prepareOwnFolder(label: string, dir: string, mode: number, rule: OwnFolderRule): Promise<TrustRefusal | undefined> {
  const created = await mkdir(dir, { recursive: true, mode }).catch((error: NodeJS.ErrnoException) => {
    throw folderError(label, dir, error);
  });
  // A folder made here gets the agent's DACL (passed on to what is created in it, logs included);
  // one that was there keeps its own (an installer may have set it) and is judged below.
  if (created !== undefined && rule.acl) await rule.acl.protect(dir, mode, true);
  const refusal = await rule.check(dir);
  if (refusal && rule.strict) {
    throw new AgentError(`${label} ${refusalMessage(refusal)}: serve will not write there (another account could plant files in it); fix: ${refusal.fix}, or choose another folder`, {
      exitCode: ExitCode.usage,
      code: 'foreign-folder',
    });
  }
  return refusal;
}
