import os from 'node:os';
import { isIPv4 } from 'node:net';
import { ipv4Bytes, ipv4Of, ipv6Bytes, isIPv6Address } from './addressBytes.js';
import { CONNECTED_TCP_STATES, type PeerLookup } from './peerLookup.js';

/**
 * Linux's socket tables, /proc/net/tcp and /proc/net/tcp6: one line per socket with its local
 * and remote address, state and owner uid. Reading them answers "which user holds this end of a
 * TCP connection" and "which user listens on this port" without native code. The tables are
 * per network namespace, which is the agent's own.
 */
export type ReadText = (path: string) => Promise<string>;

export const PROC_NET_TCP = '/proc/net/tcp';
export const PROC_NET_TCP6 = '/proc/net/tcp6';

const LISTEN = '0A';
const littleEndian = os.endianness() === 'LE';

/** One 32-bit word as the kernel prints it (`%08X` of the word in host byte order). */
function word(bytes: Uint8Array, offset: number): string {
  const b = [bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!];
  const ordered = littleEndian ? b.reverse() : b;
  return ordered.map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** `ADDR:PORT` as it appears in the table for this address family. */
export function procAddress(address: string, port: number): { table: 'tcp' | 'tcp6'; text: string } {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  if (isIPv4(address)) return { table: 'tcp', text: `${word(ipv4Bytes(address), 0)}:${portHex}` };
  if (!isIPv6Address(address)) throw new Error(`not an IP address: ${address}`);
  const bytes = ipv6Bytes(address);
  return { table: 'tcp6', text: `${word(bytes, 0)}${word(bytes, 4)}${word(bytes, 8)}${word(bytes, 12)}:${portHex}` };
}

export interface SocketEntry {
  uid: number;
  inode: number;
  state: string;
}

/** Columns after `local rem `: st, tx:rx, tr:when, retrnsmt, uid, timeout, inode. */
function entryAt(table: string, from: number): SocketEntry | undefined {
  const end = table.indexOf('\n', from);
  const fields = table.slice(from, end === -1 ? undefined : end).trim().split(/\s+/);
  const uid = Number(fields[4]);
  const inode = Number(fields[6]);
  if (!fields[0] || !Number.isInteger(uid)) return undefined;
  return { state: fields[0], uid, inode };
}

/** The entry whose local end is `local` and remote end `remote` (both `ADDR:PORT` table text). */
export function findConnection(table: string, local: string, remote: string): SocketEntry | undefined {
  const needle = ` ${local} ${remote} `;
  const at = table.indexOf(needle);
  return at === -1 ? undefined : entryAt(table, at + needle.length);
}

/**
 * The table texts (`ADDR:PORT`, both tables) of every listener that receives connections to
 * `address`:`port`: that address, the IPv4 wildcard, and in tcp6 the IPv6 wildcard, the
 * IPv4-mapped form (and the address itself when it is IPv6). A listener on another address
 * (127.0.0.2 when clients use 127.0.0.1) never gets those connections and does not count.
 * Undefined for a host name: then every listener on the port counts.
 */
export function listenerAddresses(address: string | undefined, port: number): ReadonlySet<string> | undefined {
  if (address === undefined) return undefined;
  const bare = address.replace(/^\[|\]$/g, '');
  if (!isIPv4(bare) && !isIPv6Address(bare)) return undefined;
  const v4 = ipv4Of(bare);
  const forms = v4 !== undefined ? [v4, '0.0.0.0', '::', `::ffff:${v4}`] : [bare, '::'];
  return new Set(forms.map((form) => procAddress(form, port).text));
}

/** Listening sockets on `port`; with `addresses` (listenerAddresses), only those that receive connections to it. */
export function findListeners(table: string, port: number, addresses?: ReadonlySet<string>): SocketEntry[] {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const found: SocketEntry[] = [];
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(suffix) && fields[3] === LISTEN && (!addresses || addresses.has(fields[1]))) {
      const uid = Number(fields[7]);
      if (Number.isInteger(uid)) found.push({ state: LISTEN, uid, inode: Number(fields[9]) });
    }
  }
  return found;
}

/** The connection a table line describes, as `local rem` table text (the form of a needle). */
function connectionKey(line: string): { key: string; rest: number } | undefined {
  const start = line.indexOf(': ') + 2;
  const local = line.indexOf(' ', start);
  const end = line.indexOf(' ', local + 1);
  return start < 2 || local === -1 || end === -1 ? undefined : { key: line.slice(start, end), rest: end + 1 };
}

/**
 * Up to this many needles, one indexOf each over a chunk is fastest; beyond it (a burst of new
 * connections, many of them a flood) each line is keyed once and looked up, so a scan costs the
 * same whatever the number of connections waiting on it.
 */
const FEW_NEEDLES = 4;

function findInChunk(complete: string, needles: ReadonlySet<string>, found: Map<string, SocketEntry>): void {
  if (needles.size <= FEW_NEEDLES) {
    for (const needle of needles) {
      if (found.has(needle)) continue;
      const space = needle.indexOf(' ');
      const entry = findConnection(complete, needle.slice(0, space), needle.slice(space + 1));
      if (entry) found.set(needle, entry);
    }
    return;
  }
  for (const line of complete.split('\n')) {
    const connection = connectionKey(line);
    if (!connection || !needles.has(connection.key) || found.has(connection.key)) continue;
    const entry = entryAt(line, connection.rest);
    if (entry) found.set(connection.key, entry);
  }
}

/** Reads a table in chunks; the scan stops reading once it found what it looks for. */
export type ReadChunks = (path: string) => AsyncIterable<string>;

/**
 * Scans one table for connections given as `local rem` needles (table text) and returns the
 * entry (state, owner uid, inode) of each found. Lines are matched whole across chunk borders; reading stops as soon
 * as every needle is found, which matters when the table holds thousands of TIME_WAIT entries.
 */
export async function scanConnections(read: ReadChunks, path: string, needles: ReadonlySet<string>): Promise<Map<string, SocketEntry>> {
  const found = new Map<string, SocketEntry>();
  let carry = '';
  try {
    for await (const chunk of read(path)) {
      const text = carry + chunk;
      const lastNewline = text.lastIndexOf('\n');
      const complete = lastNewline === -1 ? '' : text.slice(0, lastNewline + 1);
      carry = lastNewline === -1 ? text : text.slice(lastNewline + 1);
      findInChunk(complete, needles, found);
      if (found.size === needles.size) break;
    }
  } catch {
    // An unreadable table finds nothing: the caller refuses what it cannot identify.
  }
  return found;
}

interface Pending {
  needle: string;
  table: string;
  resolve: (entry: SocketEntry | undefined) => void;
}

/**
 * The table entry (state, owner uid, inode) of the client end of TCP connections: the socket whose local end is the
 * peer's address:port and whose remote end is ours. Lookups that arrive while a scan runs are
 * batched into the next scan, so a burst of new connections costs one pass over the table, not
 * one each. IPv4 peers are looked up in tcp, then in tcp6 (a dual-stack listener sees them as
 * IPv4-mapped).
 */
export function connectionOwners(read: ReadChunks): (peer: { address: string; port: number }, ours: { address: string; port: number }) => Promise<SocketEntry | undefined> {
  let queue: Pending[] = [];
  let scanning = false;

  const scan = async (): Promise<void> => {
    scanning = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      for (const table of [PROC_NET_TCP, PROC_NET_TCP6]) {
        const wanted = batch.filter((p) => p.table === table);
        if (wanted.length === 0) continue;
        const found = await scanConnections(read, table, new Set(wanted.map((p) => p.needle)));
        for (const p of wanted) p.resolve(found.get(p.needle));
      }
    }
    scanning = false;
  };

  const lookup = (needle: string, table: string): Promise<SocketEntry | undefined> =>
    new Promise((resolve) => {
      queue.push({ needle, table, resolve });
      if (!scanning) void scan();
    });

  return async (peer, ours) => {
    const client = procAddress(peer.address, peer.port);
    const server = procAddress(ours.address, ours.port);
    const table = client.table === 'tcp' ? PROC_NET_TCP : PROC_NET_TCP6;
    if (client.table === server.table) {
      const entry = await lookup(`${client.text} ${server.text}`, table);
      if (entry !== undefined || client.table === 'tcp6') return entry;
    }
    if (!isIPv4(peer.address)) return undefined;
    const mappedClient = procAddress(`::ffff:${peer.address}`, peer.port);
    const mappedServer = procAddress(isIPv4(ours.address) ? `::ffff:${ours.address}` : ours.address, ours.port);
    return lookup(`${mappedClient.text} ${mappedServer.text}`, PROC_NET_TCP6);
  };
}

/**
 * The fallback caller lookup where netlink sock_diag is refused: a scan of the tables, whose
 * cost grows with their size (peerLookup.ts has the seam, sockDiag.ts the preferred route).
 */
export function procNetTcpLookup(read: ReadChunks): PeerLookup {
  const owner = connectionOwners(read);
  return async (client, server) => {
    const entry = await owner(client, server);
    if (entry === undefined) return { unknown: 'the client socket is not in /proc/net/tcp' };
    // A TIME_WAIT remnant reads as uid 0 with inode 0: never root (as sockDiag.ts decides).
    if (!CONNECTED_TCP_STATES.has(parseInt(entry.state, 16)) || entry.inode === 0) return { unknown: `the client socket is not connected (TCP state ${entry.state})` };
    return { uid: entry.uid };
  };
}

/** Owners (uids) of the sockets listening on `port` (for connections to `address` when given), from both tables. */
export async function listenerOwners(read: ReadText, port: number, address?: string): Promise<number[]> {
  const tables = await Promise.all([read(PROC_NET_TCP).catch(() => ''), read(PROC_NET_TCP6).catch(() => '')]);
  const addresses = listenerAddresses(address, port);
  return [...new Set(tables.flatMap((table) => findListeners(table, port, addresses).map((e) => e.uid)))];
}

/**
 * Owners of sockets listening on `port`, reading only the head of each table: the kernel lists
 * the listening hash before established and TIME_WAIT sockets (tcp_seq_start walks the
 * listening hash, then ehash), so a scan stops at the first line in another state. tcp6 is read
 * only when tcp has no listener on the port: a dual-stack [::] listener cannot share a port with
 * an IPv4 one of another user (bind conflict; SO_REUSEPORT needs the same uid), and a tcp6 read
 * on a machine without IPv6 sockets walks the whole connection hash (about 15 ms here).
 */
export async function scanListenerOwners(read: ReadChunks, port: number, address?: string): Promise<number[]> {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const addresses = listenerAddresses(address, port);
  const owners = new Set<number>();
  for (const table of [PROC_NET_TCP, PROC_NET_TCP6]) {
    let carry = '';
    let header = true;
    try {
      scan: for await (const chunk of read(table)) {
        const lines = (carry + chunk).split('\n');
        carry = lines.pop() ?? '';
        for (const line of lines) {
          if (header) {
            header = false;
            continue;
          }
          const fields = line.trim().split(/\s+/);
          if (fields.length < 8) continue;
          if (fields[3] !== LISTEN) break scan;
          const uid = Number(fields[7]);
          if (fields[1]!.endsWith(suffix) && (!addresses || addresses.has(fields[1]!)) && Number.isInteger(uid)) owners.add(uid);
        }
      }
    } catch {
      // An unreadable table lists nobody.
    }
    if (owners.size > 0) break;
  }
  return [...owners];
}
