/**
 * The seam between the agent's caller check and the platform's way of naming a TCP socket's
 * owner. `client` is the REMOTE end of a connection the agent accepted (socket.remoteAddress /
 * remotePort), `server` the agent's end; an implementation finds the socket whose local end is
 * `client` and whose remote end is `server` (the caller's own socket, never the agent's accepted
 * one) and says who owns it. Linux: netlink sock_diag (sockDiag.ts), /proc/net/tcp as the
 * fallback (procNetTcp.ts). Windows plugs GetExtendedTcpTable + the process token in here.
 */
export interface Endpoint {
  address: string;
  port: number;
}

/**
 * `uid`: the owner (POSIX); `sid` + enabled group SIDs: the owner's account (Windows: the user of
 * the owning process's token); `unknown`: not found (the client left, a TIME_WAIT remnant, pid 0
 * under Wine) or the lookup failed.
 */
export type PeerOwner = { uid: number } | { sid: string; groups: readonly string[] } | { unknown: string };

export type PeerLookup = (client: Endpoint, server: Endpoint) => Promise<PeerOwner>;

/** A lookup with the route it takes, for `status` and `doctor` ("netlink sock_diag", or the fallback and why). */
export interface PeerLookupRoute {
  lookup: PeerLookup;
  /** Short name: 'netlink-sock-diag' | 'proc-net-tcp' | another platform's. */
  route: string;
  /** Why the preferred route is not in use, when it is not. */
  fallbackReason?: string;
}

/**
 * TCP states (the kernel's numbers; /proc/net/tcp prints them in hex) a live client socket can be
 * in while its request is answered. TIME_WAIT (and NEW_SYN_RECV) remnants have no owner: the
 * kernel reports uid 0 (and inode 0) for them, which must never pass for root; LISTEN is not a
 * connection. Both Linux routes (sock_diag and the /proc/net/tcp fallback) apply it.
 */
export const CONNECTED_TCP_STATES: ReadonlySet<number> = new Set([1 /* ESTABLISHED */, 2 /* SYN_SENT */, 4 /* FIN_WAIT1 */, 5 /* FIN_WAIT2 */, 8 /* CLOSE_WAIT */, 9 /* LAST_ACK */, 11 /* CLOSING */]);
