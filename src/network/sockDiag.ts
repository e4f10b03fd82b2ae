/**
 * Linux netlink sock_diag (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY with an `inet_diag_req_v2`
 * holding the exact 4-tuple): the kernel looks the one socket up in its connection hash and
 * answers with its `inet_diag_msg`, whose `idiag_uid` is the owner. The cost is one hash lookup
 * whatever the number of sockets (a /proc/net/tcp scan reads them all: 371 ms at 156k lines).
 * The kernel answers during the send (netlink's kernel side runs in the sender's context), so a
 * lookup is one send and one non-blocking receive on a socket of our own: no queue, nothing
 * shared between callers. Unprivileged: `ss` uses the same call.
 */
import type { Koffi } from '../native/loadKoffi.js';
import { ipv4Of, ipv6Bytes } from './addressBytes.js';
import { CONNECTED_TCP_STATES, type Endpoint, type PeerLookup, type PeerOwner } from './peerLookup.js';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 1;
const IPPROTO_TCP = 6;
const MSG_DONTWAIT = 0x40;
const ENOENT = 2;
const EAGAIN = 11;
const INET_DIAG_NOCOOKIE = 0xffffffff;

/** nlmsghdr (16) + inet_diag_req_v2 (8 + inet_diag_sockid 48). */
export const REQUEST_BYTES = 72;
const HEADER_BYTES = 16;
/** Offsets in inet_diag_msg (after the nlmsghdr): family, state, then the sockid, then expires, rqueue, wqueue, uid, inode. */
const MSG_STATE = 1;
const MSG_ID = 4;
const MSG_UID = 4 + 48 + 12;
const MSG_INODE = MSG_UID + 4;


function writeAddress(buffer: Buffer, offset: number, address: string, v4: string | undefined): void {
  if (v4 !== undefined) Buffer.from(v4.split('.').map(Number)).copy(buffer, offset);
  else Buffer.from(ipv6Bytes(address)).copy(buffer, offset);
}

/**
 * The request for the socket whose local end is `local` and remote end `remote`. IPv4 (and
 * IPv4-mapped) pairs are asked as AF_INET: the kernel's IPv4 lookup also finds dual-stack IPv6
 * sockets connected to an IPv4 address.
 */
export function encodeRequest(seq: number, local: Endpoint, remote: Endpoint): Buffer {
  const localV4 = ipv4Of(local.address);
  const remoteV4 = ipv4Of(remote.address);
  const v4 = localV4 !== undefined && remoteV4 !== undefined;
  const b = Buffer.alloc(REQUEST_BYTES);
  b.writeUInt32LE(REQUEST_BYTES, 0);
  b.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
  b.writeUInt16LE(NLM_F_REQUEST, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b[16] = v4 ? AF_INET : AF_INET6;
  b[17] = IPPROTO_TCP;
  b.writeUInt32LE(0xffffffff, 20); // idiag_states: every state (an exact lookup ignores it)
  b.writeUInt16BE(local.port, 24);
  b.writeUInt16BE(remote.port, 26);
  writeAddress(b, 28, local.address, v4 ? localV4 : undefined);
  writeAddress(b, 44, remote.address, v4 ? remoteV4 : undefined);
  b.writeUInt32LE(0, 60); // idiag_if: any
  b.writeUInt32LE(INET_DIAG_NOCOOKIE, 64);
  b.writeUInt32LE(INET_DIAG_NOCOOKIE, 68);
  return b;
}

export type DecodedReply = { kind: 'socket'; seq: number; state: number; uid: number; inode: number; ports: [number, number] } | { kind: 'error'; seq: number; errno: number } | { kind: 'malformed' };

/** The first message of a reply: the socket, or the kernel's error (errno, positive). */
export function decodeReply(reply: Buffer): DecodedReply {
  if (reply.length < HEADER_BYTES) return { kind: 'malformed' };
  const length = reply.readUInt32LE(0);
  const type = reply.readUInt16LE(4);
  const seq = reply.readUInt32LE(8);
  if (length > reply.length || length < HEADER_BYTES) return { kind: 'malformed' };
  if (type === NLMSG_ERROR && length >= HEADER_BYTES + 4) return { kind: 'error', seq, errno: -reply.readInt32LE(HEADER_BYTES) };
  if (type !== SOCK_DIAG_BY_FAMILY || length < HEADER_BYTES + MSG_INODE + 4) return { kind: 'malformed' };
  const m = HEADER_BYTES;
  return {
    kind: 'socket',
    seq,
    state: reply[m + MSG_STATE]!,
    uid: reply.readUInt32LE(m + MSG_UID),
    inode: reply.readUInt32LE(m + MSG_INODE),
    ports: [reply.readUInt16BE(m + MSG_ID), reply.readUInt16BE(m + MSG_ID + 2)],
  };
}

/** What a decoded reply means for the caller check. */
export function ownerFromReply(reply: DecodedReply, seq: number, local: Endpoint, remote: Endpoint): PeerOwner {
  if (reply.kind === 'malformed') return { unknown: 'sock_diag gave a malformed answer' };
  if (reply.seq !== seq) return { unknown: 'sock_diag answered another request' };
  if (reply.kind === 'error') return { unknown: reply.errno === ENOENT ? 'the client socket is gone (sock_diag found no such connection)' : `sock_diag refused the lookup (errno ${reply.errno})` };
  if (reply.ports[0] !== local.port || reply.ports[1] !== remote.port) return { unknown: 'sock_diag answered for another socket' };
  if (!CONNECTED_TCP_STATES.has(reply.state) || reply.inode === 0) return { unknown: `the client socket is not connected (TCP state ${reply.state})` };
  return { uid: reply.uid };
}

/** One netlink socket's send/receive, as the kernel's libc exposes them. */
export interface SockDiagChannel {
  /** Sends one request and returns the kernel's reply, or the errno of a failed call. */
  ask(request: Buffer): Buffer | { errno: number };
  close(): void;
}

/** Opens a NETLINK_SOCK_DIAG socket through koffi; a refusal (seccomp, no netlink) is a value. */
export function openSockDiag(koffi: Koffi): { ok: true; channel: SockDiagChannel } | { ok: false; reason: string } {
  let libc: ReturnType<Koffi['load']>;
  try {
    libc = koffi.load('libc.so.6');
  } catch (error) {
    return { ok: false, reason: `libc did not load: ${(error as Error).message}` };
  }
  const socket = libc.func('int socket(int, int, int)') as (domain: number, type: number, protocol: number) => number;
  const send = libc.func('long send(int, void *, size_t, int)') as (fd: number, buffer: Buffer, length: number, flags: number) => number;
  const recv = libc.func('long recv(int, void *, size_t, int)') as (fd: number, buffer: Buffer, length: number, flags: number) => number;
  const close = libc.func('int close(int)') as (fd: number) => number;
  const fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return { ok: false, reason: `socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed (errno ${koffi.errno()})` };
  const reply = Buffer.alloc(8192);
  return {
    ok: true,
    channel: {
      ask(request) {
        // A reply left behind by an earlier failed exchange would answer the wrong request:
        // drain first (the seq check in ownerFromReply is the second line).
        while (recv(fd, reply, reply.length, MSG_DONTWAIT) > 0);
        if (send(fd, request, request.length, 0) !== request.length) return { errno: koffi.errno() };
        const got = recv(fd, reply, reply.length, MSG_DONTWAIT);
        if (got < 0) return { errno: koffi.errno() };
        return Buffer.from(reply.subarray(0, got));
      },
      close: () => void close(fd),
    },
  };
}

/** The caller lookup over a sock_diag channel (peerLookup.ts: `client` is the socket's local end). */
export function fromSockDiag(channel: SockDiagChannel): PeerLookup {
  let seq = 0;
  return async (client, server) => {
    seq = (seq + 1) >>> 0;
    const answer = channel.ask(encodeRequest(seq, client, server));
    if (!Buffer.isBuffer(answer)) return { unknown: answer.errno === EAGAIN ? 'sock_diag did not answer' : `sock_diag failed (errno ${answer.errno})` };
    return ownerFromReply(decodeReply(answer), seq, client, server);
  };
}
