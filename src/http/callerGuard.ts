import type { Socket } from 'node:net';
import type { Refusal } from './guards.js';
import type { PeerIdentity, PeerUser } from './peerUser.js';
import type { Guard } from './routes.js';
import { allowsWindowsCaller } from '../native/win32/windowsCallers.js';
import { isSid, WELL_KNOWN } from '../native/win32/sid.js';

/** Who may get credentials or status: besides root and the agent's user. */
export interface CallerRule {
  agentUid: number | undefined;
  /** User names or numeric uids; `*` lets every local user in (no lookup at all). */
  allowUsers: readonly string[];
  /** Members of this group (the token file's group) are allowed. */
  tokenGid?: number | undefined;
  /** Windows: the same rule in SIDs (the agent's account, tokenGroup, how allowUsers names resolve). */
  windows?: WindowsCallerSids | undefined;
}

export interface WindowsCallerSids {
  agentSid: string;
  tokenGroupSid?: string | undefined;
  /** SID for an account name (LookupAccountNameW); used once, when a rule is made. */
  accountSid: (name: string) => string | undefined;
}

export type KnownPeer = Extract<PeerIdentity, { kind: 'user' | 'account' }>;

export const allowsEveryone = (rule: CallerRule): boolean => rule.allowUsers.includes('*');

/**
 * The allow rule of issue 8: root, the agent's user, tokenGroup members, allowUsers. On Windows
 * the same in SIDs, allowUsers names resolved once here (a SID may be given as is).
 */
export function allowedCallers(rule: CallerRule): (peer: KnownPeer) => boolean {
  const names = new Set(rule.allowUsers);
  const windows = rule.windows;
  const allowsAccount = windows
    ? allowsWindowsCaller({
        agentSid: windows.agentSid,
        tokenGroupSid: windows.tokenGroupSid,
        allowed: new Set(rule.allowUsers.flatMap((name) => (isSid(name) ? [name.toUpperCase()] : [windows.accountSid(name) ?? []].flat()))),
      })
    : (peer: { sid: string }) => peer.sid === WELL_KNOWN.system;
  return (peer) =>
    peer.kind === 'account' ? allowsAccount(peer) :
    peer.uid === 0 ||
    peer.uid === rule.agentUid ||
    names.has(String(peer.uid)) ||
    (peer.name !== undefined && names.has(peer.name)) ||
    (rule.tokenGid !== undefined && peer.gids.includes(rule.tokenGid));
}

const FORBIDDEN: Refusal = { status: 403, code: 'forbidden-user', message: 'this local user may not get credentials or status from the agent (see allowUsers)' };
const UNKNOWN: Refusal = { status: 403, code: 'unknown-user', message: 'the calling user could not be determined' };
const LIMITED: Refusal = { status: 429, code: 'too-many-lookups', message: 'too many new connections on this route; retry shortly (the container endpoint with the token is not limited)' };
const UNSUPPORTED: Refusal = { status: 403, code: 'unknown-user', message: 'the calling user cannot be determined on this platform; use the container endpoint with the token' };

export interface CallerGuardOptions {
  /** Platforms that cannot tell the caller: 'token' lets a route whose token is checked rely on it; 'refuse' answers 403. */
  unsupported: 'token' | 'refuse';
  /** Told once per refused uid (for a log line). */
  onRefused?: (peer: PeerIdentity) => void;
  /**
   * Whether a lookup may start now (a rate limit): a connection not yet identified is answered
   * 429 when it says no, and is not remembered, so its next request asks again.
   */
  mayLookUp?: () => boolean;
}

/**
 * Guards that check the calling process's user. The lookup runs once per connection, when its
 * first guarded request arrives, and is cached on the socket: keep-alive requests decide
 * synchronously from the cached identity, so the hot path gains a WeakMap lookup and a Set test.
 */
export function callerGuards(peerUser: PeerUser): { require(allows: (peer: KnownPeer) => boolean, options: CallerGuardOptions & { everyone?: boolean }): Guard } {
  const identities = new WeakMap<Socket, PeerIdentity | Promise<PeerIdentity>>();
  // Shared by every guard made here, so a refused user is told once, whichever route it tried.
  const refused = new Set<string>();
  const identify = (socket: Socket): PeerIdentity | Promise<PeerIdentity> => {
    const known = identities.get(socket);
    if (known) return known;
    const pending = peerUser(socket).then(
      (identity) => {
        identities.set(socket, identity);
        return identity;
      },
      (error: Error): PeerIdentity => {
        const identity: PeerIdentity = { kind: 'unknown', reason: error.message };
        identities.set(socket, identity);
        return identity;
      },
    );
    identities.set(socket, pending);
    return pending;
  };

  return {
    require(allows, options) {
      if (options.everyone) return () => undefined;
      const decide = (peer: PeerIdentity): Refusal | undefined => {
        let refusal: Refusal | undefined;
        if (peer.kind === 'user' || peer.kind === 'account') refusal = allows(peer) ? undefined : FORBIDDEN;
        else if (peer.kind === 'unknown') refusal = UNKNOWN;
        else refusal = options.unsupported === 'token' ? undefined : UNSUPPORTED;
        if (refusal && options.onRefused) {
          const key = peer.kind === 'user' ? String(peer.uid) : peer.kind === 'account' ? peer.sid : peer.kind;
          if (!refused.has(key)) {
            refused.add(key);
            options.onRefused(peer);
          }
        }
        return refusal;
      };
      const mayLookUp = options.mayLookUp;
      return (req) => {
        if (mayLookUp && !identities.has(req.socket) && !mayLookUp()) return LIMITED;
        const identity = identify(req.socket);
        return identity instanceof Promise ? identity.then(decide) : decide(identity);
      };
    },
  };
}
