import { clientRow, listenerPids, parseTcpTable } from './tcpTable.js';
import { WELL_KNOWN } from './sid.js';

/**
 * Windows form of the caller and listener checks: the owning process of a loopback TCP socket
 * (GetExtendedTcpTable, owner pid) and the user of that process (its token). The decisions are
 * plain functions over table bytes, tested with bytes built per MIB_TCPROW_OWNER_PID; the only
 * live run so far is Wine, which reports pid 0 for every socket (so every lookup there ends in
 * "cannot be found", and is refused).
 */
export interface WindowsProcessApi {
  tcpTable(): Uint8Array;
  processUser(pid: number): { user: string; groups: string[] } | { error: string };
}

export type WindowsOwner = { sid: string; groups: readonly string[] } | { unknown: string };

const NO_PID = 'GetExtendedTcpTable names no owning process (pid 0; Wine reports 0 for every socket)';

/** Who owns the caller's end of a connection the agent accepted. */
export function windowsPeerLookup(api: WindowsProcessApi): (client: { address: string; port: number }, server: { address: string; port: number }) => Promise<WindowsOwner> {
  return async (client, server) => {
    let row;
    try {
      row = clientRow(parseTcpTable(api.tcpTable()), client, server);
    } catch (error) {
      return { unknown: (error as Error).message };
    }
    if (!row) return { unknown: `the caller's socket ${client.address}:${client.port} is not in the IPv4 TCP table (it closed, or it is IPv6)` };
    if (row.pid === 0) return { unknown: `the caller's socket: ${NO_PID}` };
    const owner = api.processUser(row.pid);
    if ('error' in owner) return { unknown: `cannot read the user of pid ${row.pid}: ${owner.error}` };
    return { sid: owner.user, groups: owner.groups };
  };
}

/** The Windows allow rule, SIDs resolved once at start (names from allowUsers, tokenGroup). */
export interface WindowsCallerRule {
  /** The agent's own account (its process token's user). */
  agentSid: string;
  /** allowUsers entries resolved to SIDs (names that do not resolve are left out). */
  allowed: ReadonlySet<string>;
  /** tokenGroup as a SID: its members may call, as they may read the token. */
  tokenGroupSid?: string | undefined;
}

/**
 * The Linux rule in SIDs: SYSTEM (root) and an elevated administrator (Administrators enabled in
 * the token, who can read the token anyway), the agent's account, tokenGroup members, allowUsers.
 */
export function allowsWindowsCaller(rule: WindowsCallerRule): (owner: { sid: string; groups: readonly string[] }) => boolean {
  return (owner) =>
    owner.sid === WELL_KNOWN.system ||
    owner.sid === rule.agentSid ||
    rule.allowed.has(owner.sid) ||
    owner.groups.includes(WELL_KNOWN.administrators) ||
    (rule.tokenGroupSid !== undefined && owner.groups.includes(rule.tokenGroupSid));
}

export type WindowsListenerVerdict = { ok: true } | { ok: false; reason: string } | { ok: 'unknown'; reason: string };

/**
 * Before a client sends the token: every process listening on the agent's port must run as
 * SYSTEM or as the owner of agent.json (when that owner is Administrators, as files an elevated
 * admin creates are: an elevated process). Only listeners a connection to `host` can reach
 * count. A listener whose owner cannot be found is `unknown`.
 */
export function verifyWindowsListener(api: WindowsProcessApi, port: number, agentOwner: string | undefined, host?: string): WindowsListenerVerdict {
  let pids: number[];
  try {
    pids = listenerPids(parseTcpTable(api.tcpTable()), port, host);
  } catch (error) {
    return { ok: 'unknown', reason: `the owner of port ${port} cannot be found: ${(error as Error).message}` };
  }
  for (const pid of pids) {
    if (pid === 0) return { ok: 'unknown', reason: `the owner of port ${port} cannot be found: ${NO_PID}` };
    const owner = api.processUser(pid);
    if ('error' in owner) return { ok: 'unknown', reason: `the owner of port ${port} cannot be found: ${owner.error}` };
    const agent = owner.user === WELL_KNOWN.system || owner.user === agentOwner || (agentOwner === WELL_KNOWN.administrators && owner.groups.includes(WELL_KNOWN.administrators));
    if (!agent) return { ok: false, reason: `port ${port} is held by pid ${pid} running as ${owner.user}, not by SYSTEM or the agent's account${agentOwner ? ` (${agentOwner})` : ''}` };
  }
  return { ok: true };
}
