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
  /** Windows: the account SID and the enabled group SIDs of the caller's process token. */
  | { kind: 'account'; sid: string; groups: readonly string[] }
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
    if ('sid' in owner) return { kind: 'account', sid: owner.sid, groups: owner.groups };
    const { uid } = owner;
    if (uid === 0 || uid === init.agentUid) return { kind: 'user', uid, gids: [] };
    const account = await localAccount(init.read, uid);
    return { kind: 'user', uid, name: account.name, gids: account.gids };
  };
}

/**
 * A platform without a lookup (Windows where the native module cannot load; others): the agent
 * does not guess: the peer is `unsupported`, so token routes rest on the token file's ACL and
 * IMDS is refused.
 */
export function unsupportedPeerUser(reason: string): PeerUser {
  const identity: PeerIdentity = { kind: 'unsupported', reason };
  const answer = Promise.resolve(identity);
  return () => answer;
}
