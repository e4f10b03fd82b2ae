import type { Socket } from 'node:net';
import type { ReadText } from '../network/procNetTcp.js';
import type { PeerLookup } from '../network/peerLookup.js';
import { localAccount } from '../localAccounts.js';

/**
 * Who is on the other end of a loopback connection. `user`: found, with what the allow rule
 * needs; `unknown`: the lookup failed (the client already left, or the table did not list it),
 * which is refused; `unsupported`: the platform cannot say without native code (Windows).
 */
export type PeerIdentity =
  | { kind: 'user'; uid: number; name?: string | undefined; gids: readonly number[] }
  | { kind: 'unknown'; reason: string }
  | { kind: 'unsupported'; reason: string };

/** Looks up the user holding the client end of `socket` (called once per connection). */
export type PeerUser = (socket: Socket) => Promise<PeerIdentity>;

/**
 * The owner uid of the client's socket from the platform's lookup (peerLookup.ts: netlink
 * sock_diag, or /proc/net/tcp where netlink is refused). Root and the agent's own user are
 * answered from the uid alone; anyone else also gets name and groups (for allowUsers and
 * tokenGroup) from /etc/passwd and /etc/group.
 */
export function fromPeerLookup(init: { lookup: PeerLookup; read: ReadText; agentUid: number | undefined }): PeerUser {
  return async (socket) => {
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    if (!remoteAddress || !remotePort || !localAddress || !localPort) return { kind: 'unknown', reason: 'the connection is already closed' };
    const owner = await init.lookup({ address: remoteAddress, port: remotePort }, { address: localAddress, port: localPort });
    if ('unknown' in owner) return { kind: 'unknown', reason: owner.unknown };
    const { uid } = owner;
    if (uid === 0 || uid === init.agentUid) return { kind: 'user', uid, gids: [] };
    const account = await localAccount(init.read, uid);
    return { kind: 'user', uid, name: account.name, gids: account.gids };
  };
}

/**
 * Windows: the owning pid of a TCP connection comes from GetExtendedTcpTable (or `netstat -ano`,
 * a process per connection, and then the pid's user from another one), neither reachable from
 * Node without native code or a process per connection. The agent does not guess: the peer is
 * `unsupported`, so token routes rest on the token file's ACL and IMDS is refused.
 */
export function unsupportedPeerUser(reason: string): PeerUser {
  const identity: PeerIdentity = { kind: 'unsupported', reason };
  const answer = Promise.resolve(identity);
  return () => answer;
}
