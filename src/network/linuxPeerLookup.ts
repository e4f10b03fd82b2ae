import net from 'node:net';
import type { KoffiLoad } from '../native/loadKoffi.js';
import type { PeerLookup, PeerLookupRoute } from './peerLookup.js';
import { fromSockDiag, openSockDiag } from './sockDiag.js';

export const SOCK_DIAG_ROUTE = 'netlink-sock-diag';
export const PROC_NET_TCP_ROUTE = 'proc-net-tcp';

/**
 * Proves a lookup on a real loopback connection made for the purpose: it must name this
 * process's user as the owner of the connecting socket. A kernel without inet_diag, a seccomp
 * filter or a namespace that hides netlink fails here, not on a caller.
 */
export async function probeLookup(lookup: PeerLookup, uid: number): Promise<string | undefined> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('error', () => {});
    try {
      const socket = await accepted;
      const owner = await lookup({ address: socket.remoteAddress!, port: socket.remotePort! }, { address: socket.localAddress!, port: socket.localPort! });
      socket.destroy();
      if ('unknown' in owner) return owner.unknown;
      if (!('uid' in owner)) return `it named an account (${owner.sid}), not a uid`;
      return owner.uid === uid ? undefined : `it named uid ${owner.uid} as the owner of a socket of uid ${uid}`;
    } finally {
      client.destroy();
    }
  } catch (error) {
    return (error as Error).message;
  } finally {
    server.close();
  }
}

/**
 * Linux: netlink sock_diag when koffi loads, the socket opens and a probe answers right;
 * otherwise /proc/net/tcp, with the reason (shown by `status` and `doctor`).
 */
export async function linuxPeerLookup(deps: { koffi: () => KoffiLoad; fallback: () => PeerLookup; uid: number }): Promise<PeerLookupRoute> {
  const loaded = deps.koffi();
  let reason: string;
  if (!loaded.ok) reason = loaded.reason;
  else {
    const opened = openSockDiag(loaded.koffi);
    if (!opened.ok) reason = opened.reason;
    else {
      const lookup = fromSockDiag(opened.channel);
      const failed = await probeLookup(lookup, deps.uid);
      if (failed === undefined) return { lookup, route: SOCK_DIAG_ROUTE };
      opened.channel.close();
      reason = `sock_diag probe failed: ${failed}`;
    }
  }
  return { lookup: deps.fallback(), route: PROC_NET_TCP_ROUTE, fallbackReason: reason };
}

/** One line for status/doctor. */
export function describeRoute(route: Pick<PeerLookupRoute, 'route' | 'fallbackReason'>): string {
  if (route.route === SOCK_DIAG_ROUTE) return 'netlink sock_diag (one kernel lookup per connection, any table size)';
  if (route.route === PROC_NET_TCP_ROUTE) return `/proc/net/tcp scan (cost grows with the socket table)${route.fallbackReason ? `: netlink refused (${route.fallbackReason})` : ''}`;
  return route.fallbackReason ? `${route.route} (${route.fallbackReason})` : route.route;
}
