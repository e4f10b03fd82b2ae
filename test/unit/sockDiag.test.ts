/**
 * src/network/sockDiag.ts: the netlink request's layout, the reply's meaning, and lookups on
 * real sockets made here, including a client running as a real second user (runuser; root
 * only), so the direction is proven: the lookup of (client, server) names the CLIENT's owner,
 * never the agent's accepted socket, and a TIME_WAIT remnant (which the kernel reports as uid
 * 0) is never taken for root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { decodeReply, encodeRequest, fromSockDiag, openSockDiag, ownerFromReply, type SockDiagChannel } from '../../src/network/sockDiag.js';
import { linuxPeerLookup, probeLookup, PROC_NET_TCP_ROUTE, SOCK_DIAG_ROUTE } from '../../src/network/linuxPeerLookup.js';
import { loadKoffi } from '../../src/native/loadKoffi.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';
import type { PeerLookup } from '../../src/network/peerLookup.js';

test('encodeRequest: nlmsghdr + inet_diag_req_v2 with the exact 4-tuple, local end as src', () => {
  const b = encodeRequest(7, { address: '127.0.0.1', port: 50000 }, { address: '127.0.0.2', port: 920 });
  assert.equal(b.length, 72);
  assert.equal(b.readUInt32LE(0), 72);
  assert.equal(b.readUInt16LE(4), 20, 'SOCK_DIAG_BY_FAMILY');
  assert.equal(b.readUInt16LE(6), 1, 'NLM_F_REQUEST, not a dump');
  assert.equal(b.readUInt32LE(8), 7);
  assert.deepEqual([b[16], b[17]], [2, 6], 'AF_INET, TCP');
  assert.equal(b.readUInt16BE(24), 50000, 'sport: the socket looked up is the one whose local port this is');
  assert.equal(b.readUInt16BE(26), 920);
  assert.deepEqual([...b.subarray(28, 32)], [127, 0, 0, 1]);
  assert.deepEqual([...b.subarray(44, 48)], [127, 0, 0, 2]);
  assert.deepEqual([b.readUInt32LE(64), b.readUInt32LE(68)], [0xffffffff, 0xffffffff], 'INET_DIAG_NOCOOKIE');
  const mapped = encodeRequest(1, { address: '::ffff:127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 });
  assert.equal(mapped[16], 2, 'IPv4-mapped pairs are asked as IPv4');
  const v6 = encodeRequest(1, { address: '::1', port: 1 }, { address: '::1', port: 2 });
  assert.equal(v6[16], 10, 'AF_INET6');
  assert.equal(v6[28 + 15], 1);
});

function reply(fields: { type?: number; seq?: number; state?: number; uid?: number; inode?: number; ports?: [number, number]; errno?: number }): Buffer {
  if (fields.errno !== undefined) {
    const e = Buffer.alloc(36);
    e.writeUInt32LE(36, 0);
    e.writeUInt16LE(2, 4);
    e.writeUInt32LE(fields.seq ?? 1, 8);
    e.writeInt32LE(-fields.errno, 16);
    return e;
  }
  const b = Buffer.alloc(16 + 72);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(fields.type ?? 20, 4);
  b.writeUInt32LE(fields.seq ?? 1, 8);
  b[16] = 2;
  b[17] = fields.state ?? 1;
  b.writeUInt16BE(fields.ports?.[0] ?? 50000, 20);
  b.writeUInt16BE(fields.ports?.[1] ?? 920, 22);
  b.writeUInt32LE(fields.uid ?? 1001, 16 + 64);
  b.writeUInt32LE(fields.inode ?? 4242, 16 + 68);
  return b;
}

test('ownerFromReply: the uid of a connected socket; gone, TIME_WAIT, foreign or malformed answers are unknown', () => {
  const client = { address: '127.0.0.1', port: 50000 };
  const server = { address: '127.0.0.1', port: 920 };
  const owner = (b: Buffer, seq = 1) => ownerFromReply(decodeReply(b), seq, client, server);
  assert.deepEqual(owner(reply({})), { uid: 1001 });
  assert.deepEqual(owner(reply({ state: 5 })), { uid: 1001 }, 'FIN_WAIT2: the client half-closed, still its socket');
  assert.match((owner(reply({ state: 6, uid: 0, inode: 0 })) as { unknown: string }).unknown, /not connected/, 'TIME_WAIT reports uid 0: never root');
  assert.match((owner(reply({ state: 10, uid: 0 })) as { unknown: string }).unknown, /not connected/, 'a listener is not a client');
  assert.match((owner(reply({ errno: 2 })) as { unknown: string }).unknown, /gone/);
  assert.match((owner(reply({ errno: 1 })) as { unknown: string }).unknown, /refused.*errno 1/);
  assert.match((owner(reply({}), 2) as { unknown: string }).unknown, /another request/);
  assert.match((owner(reply({ ports: [50001, 920] })) as { unknown: string }).unknown, /another socket/);
  assert.match((owner(reply({ type: 3 })) as { unknown: string }).unknown, /malformed/);
  assert.match((owner(Buffer.alloc(8)) as { unknown: string }).unknown, /malformed/);
});

test('fromSockDiag: a failed call is unknown with its errno', async () => {
  const channel: SockDiagChannel = { ask: () => ({ errno: 13 }), close: () => {} };
  assert.deepEqual(await fromSockDiag(channel)({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }), { unknown: 'sock_diag failed (errno 13)' });
});

test('linuxPeerLookup falls back to /proc/net/tcp with the reason when koffi is missing or the probe fails', async () => {
  const fallback: PeerLookup = async () => ({ uid: 0 });
  const missing = await linuxPeerLookup({ koffi: () => ({ ok: false, reason: 'not installed' }), fallback: () => fallback, uid: 0 });
  assert.equal(missing.route, PROC_NET_TCP_ROUTE);
  assert.equal(missing.fallbackReason, 'not installed');
  assert.equal(missing.lookup, fallback);
  assert.match((await probeLookup(async () => ({ uid: 4242 }), 0)) ?? '', /named uid 4242/, 'a lookup that names the wrong owner is not used');
  assert.equal(await probeLookup(async () => ({ unknown: 'no' }), 0), 'no');
});

const koffi = loadKoffi();
const noNetlink = process.platform !== 'linux' ? 'Linux only' : !koffi.ok ? `koffi did not load: ${koffi.reason}` : false;
const skipUsers = noNetlink || notRootReason();
let accounts: LocalUsers | undefined;
let stranger: { name: string; uid: number };

before(() => {
  if (skipUsers) return;
  accounts = localUsers('sdiag');
  stranger = accounts.user('s');
});
after(() => accounts?.remove());

const open = () => {
  if (!koffi.ok) throw new Error('unreachable');
  const opened = openSockDiag(koffi.koffi);
  assert.ok(opened.ok, opened.ok ? '' : opened.reason);
  return opened.channel;
};

test('on real sockets: the probe passes and linuxPeerLookup picks netlink', { skip: noNetlink }, async () => {
  const route = await linuxPeerLookup({ koffi: loadKoffi, fallback: () => async () => ({ unknown: 'fallback' }), uid: process.geteuid!() });
  assert.equal(route.route, SOCK_DIAG_ROUTE, route.fallbackReason);
});

test('a client running as a second user: (client, server) names that user; (server, client) names the agent; TIME_WAIT is unknown', { skip: skipUsers }, async () => {
  const channel = open();
  const lookup = fromSockDiag(channel);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  // The client holds its connection until its stdin closes, then closes first (so its end,
  // not ours, goes to TIME_WAIT once we close too).
  const child = spawn('runuser', ['-u', stranger.name, '--', process.execPath, '-e', `const s = require('net').connect(${port}, '127.0.0.1'); process.stdin.on('end', () => { s.end(); s.on('close', () => process.exit(0)); }); process.stdin.resume();`], { stdio: ['pipe', 'inherit', 'inherit'] });
  try {
    const socket = await accepted;
    const client = { address: socket.remoteAddress!, port: socket.remotePort! };
    const ours = { address: socket.localAddress!, port: socket.localPort! };
    assert.deepEqual(await lookup(client, ours), { uid: stranger.uid }, 'the remote end of the accepted connection belongs to the second user');
    assert.deepEqual(await lookup(ours, client), { uid: process.geteuid!() }, 'the other direction is the agent\'s own accepted socket');
    assert.match((await lookup({ address: '127.0.0.1', port: client.port === 65535 ? 65534 : client.port + 1 }, ours) as { unknown: string }).unknown ?? '', /gone|not connected/);
    const ended = new Promise((resolve) => socket.once('end', resolve));
    child.stdin!.end();
    await ended;
    socket.destroy();
    await new Promise((resolve) => child.once('exit', resolve));
    const after = await lookup(client, ours);
    assert.ok('unknown' in after, `the client's TIME_WAIT remnant (uid 0 in the kernel's answer) is not root: ${JSON.stringify(after)}`);
  } finally {
    child.kill();
    server.close();
    channel.close();
  }
});
