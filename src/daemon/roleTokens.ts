import type { RoleSettings } from '../config/roleSettings.js';
import type { Logger } from '../log/createLogger.js';
import { writeRoleTokenFile } from '../agent/discovery.js';
import { keptToken } from './keptToken.js';
import { roleTokenPath } from '../agent/contract.js';
import { userIds } from '../localAccounts.js';
import type { ReadText } from '../network/procNetTcp.js';
import { grantRead, type RunProgram } from './grantRead.js';
import type { OwnAcl } from '../native/win32/ownFileAcl.js';

/** Who a role's route lets in besides root/SYSTEM and the agent's user. */
export interface RoleAccess {
  allowUsers: readonly string[];
  /** tokenGroup's gid, only for a role that follows the global rule (no allowUsers of its own). */
  tokenGid: number | undefined;
}

/**
 * A role with its own allowUsers stands on its own: exactly those users, tokenGroup membership
 * not included (it would hand every group member every role). A role without one follows the
 * machine role's rule: the global allowUsers and tokenGroup.
 */
export function roleAccess(role: RoleSettings, global: RoleAccess): RoleAccess {
  return role.allowUsers === undefined ? global : { allowUsers: role.allowUsers, tokenGid: undefined };
}

export interface RoleToken {
  readonly token: string;
  readonly file: string;
  readonly access: RoleAccess;
  /** (Re)writes the file with the same token: at start, and when something deleted it. */
  write(): Promise<void>;
}

export interface RoleTokensInit {
  stateDir: string;
  platform: NodeJS.Platform;
  agentUid: number | undefined;
  global: RoleAccess;
  /** /etc/passwd, for the uids of names in allowUsers. */
  readText: ReadText;
  logger: Logger;
  run?: RunProgram;
  /** Windows: the DACL writer the machine token uses (the state folder rule's), mode 0600/0644. */
  acl?: OwnAcl | undefined;
}

class GrantFailed extends Error {}

/**
 * One token per named role, in `<state-dir>/role-<name>.token`, readable by exactly the role's
 * users: POSIX ACL entries on Linux (set on the temp file before the rename), 0644 for a role open
 * to every user (`*`). Windows: written through the machine token's DACL path (owner, SYSTEM and
 * Administrators, no tokenGroup); per-user entries for a role's users there are not written yet. When the ACL cannot be
 * set the file stays the owner's alone and the reason is logged: the role then serves root and
 * the agent's user only, never more than its allowUsers.
 */
export async function createRoleTokens(roles: ReadonlyMap<string, RoleSettings>, init: RoleTokensInit): Promise<Map<string, RoleToken>> {
  const tokens = new Map<string, RoleToken>();
  for (const [name, role] of roles) {
    const access = roleAccess(role, init.global);
    const file = roleTokenPath(init.stateDir, name);
    // Kept across restarts like the machine token (the role route checks the caller on Linux).
    const { token } = await keptToken(file, init.platform === 'win32' || init.agentUid === undefined ? false : { agentUid: init.agentUid });
    const logger = init.logger.child({ role: name });
    const write = async (): Promise<void> => {
      const mode = access.allowUsers.includes('*') ? 0o644 : 0o600;
      if (mode === 0o644 || init.platform === 'win32') {
        const { acl } = init;
        await writeRoleTokenFile(init.stateDir, name, token, { mode, grant: acl ? (temp) => acl.protect(temp, mode) : undefined });
        return;
      }
      const { uids, unknown } = await userIds(init.readText, access.allowUsers);
      if (unknown.length > 0) logger.warn({ tokenFile: file }, `role ${name}: allowUsers names no local account: ${unknown.join(', ')} (they cannot read the role's token file)`);
      const grant = { uids: uids.filter((uid) => uid !== 0 && uid !== init.agentUid), gid: access.tokenGid };
      try {
        await writeRoleTokenFile(init.stateDir, name, token, {
          mode,
          grant: (temp) => grantRead(temp, grant, init.run).catch((error: Error) => Promise.reject(new GrantFailed(error.message))),
        });
      } catch (error) {
        if (!(error instanceof GrantFailed)) throw error;
        logger.error({ tokenFile: file }, `role ${name}: its users cannot be given read access to its token file (${error.message}); only root and the agent's user can use the role (fix: install the acl package, or use a file system with POSIX ACLs for the state folder)`);
        await writeRoleTokenFile(init.stateDir, name, token, { mode });
      }
    };
    tokens.set(name, { token, file, access, write });
  }
  return tokens;
}
