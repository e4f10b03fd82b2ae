/**
 * src/network/procNetTcp.ts: addresses in the kernel's table notation, connection and listener
 * owners from table text (including lines split across read chunks), and batched lookups.
 * The real /proc/net/tcp is read in test/e2e/callerCheck.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { connectionOwners, procNetTcpLookup, findConnection, findListeners, listenerAddresses, procAddress, scanConnections, scanListenerOwners, listenerOwners } from '../../src/network/procNetTcp.js';

const le = os.endianness() === 'LE';
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const line = (sl: number, local: string, remote: string, st: string, uid: number, inode: number): string =>
  `  ${sl}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 20 4 30 10 -1\n`;

test('procAddress writes IPv4 and IPv6 the way the kernel prints them (host-order words, hex port)', () => {
  assert.deepEqual(procAddress('127.0.0.1', 9920), { table: 'tcp', text: `${le ? '0100007F' : '7F000001'}:26C0` });
  assert.deepEqual(procAddress('::1', 80), { table: 'tcp6', text: `${'0'.repeat(24)}${le ? '01000000' : '00000001'}:0050` });
  assert.equal(procAddress('::ffff:127.0.0.1', 1).text, le ? '0000000000000000FFFF00000100007F:0001' : '00000000000000000000FFFF7F000001:0001');
  assert.throws(() => procAddress('localhost', 1), /not an IP address/);
});

const client = procAddress('127.0.0.1', 50000).text;
const server = procAddress('127.0.0.1', 9920).text;
const TABLE =
  HEADER +
  line(0, server, '00000000:0000', '0A', 0, 100) +
  line(1, server, client, '01', 0, 101) + // the agent's accepted socket: not the client
  line(2, procAddress('127.0.0.1', 50001).text, server, '06', 0, 0) +
  line(3, client, server, '01', 1001, 102);

test('findConnection finds the client end (local = peer, remote = ours), never the server end', () => {
  assert.deepEqual(findConnection(TABLE, client, server), { state: '01', uid: 1001, inode: 102 });
  assert.equal(findConnection(TABLE, procAddress('127.0.0.1', 50002).text, server), undefined);
});

test('findListeners: listening sockets on a port with their owners', () => {
  assert.deepEqual(findListeners(TABLE, 9920), [{ state: '0A', uid: 0, inode: 100 }]);
  assert.deepEqual(findListeners(TABLE, 9921), []);
});

test('scanConnections matches lines split across chunks and stops reading once everything is found', async () => {
  let chunksRead = 0;
  const read = async function* () {
    const text = TABLE + line(4, procAddress('127.0.0.1', 40000).text, server, '01', 7, 1).repeat(1000);
    for (let i = 0; i < text.length; i += 37) {
      chunksRead += 1;
      yield text.slice(i, i + 37);
    }
  };
  const found = await scanConnections(read, '/proc/net/tcp', new Set([`${client} ${server}`]));
  assert.deepEqual([...found], [[`${client} ${server}`, { state: '01', uid: 1001, inode: 102 }]]);
  assert.ok(chunksRead < TABLE.length / 37 + 2, `stopped early (${chunksRead} chunks)`);
  const failing = async function* (): AsyncGenerator<string> {
    yield HEADER;
    throw new Error('EACCES');
  };
  assert.equal((await scanConnections(failing, '/proc/net/tcp', new Set(['x y']))).size, 0);
});

test('scanConnections finds many connections at once (a burst of new clients) as it finds one, across chunk borders', async () => {
  const peers = Array.from({ length: 40 }, (_, i) => procAddress('127.0.0.1', 41000 + i).text);
  const text = HEADER + peers.map((peer, i) => line(i, server, peer, '01', 0, 500 + i) + line(100 + i, peer, server, '01', 2000 + i, 600 + i)).join('');
  const read = async function* () {
    for (let i = 0; i < text.length; i += 53) yield text.slice(i, i + 53);
  };
  const wanted = new Set([...peers.map((peer) => `${peer} ${server}`), `${procAddress('127.0.0.1', 1).text} ${server}`]);
  const found = await scanConnections(read, '/proc/net/tcp', wanted);
  assert.equal(found.size, 40, 'every client end found; the absent one is not invented');
  peers.forEach((peer, i) => assert.equal(found.get(`${peer} ${server}`)?.uid, 2000 + i, 'the client end, never the agent end (uid 0)'));
});

test('connectionOwners batches lookups that arrive during a scan into one more scan, and falls back to tcp6 for IPv4-mapped peers', async () => {
  const reads: string[] = [];
  const mappedClient = procAddress('::ffff:127.0.0.1', 50003).text;
  const mappedServer = procAddress('::ffff:127.0.0.1', 9920).text;
  const tables: Record<string, string> = { '/proc/net/tcp': TABLE, '/proc/net/tcp6': HEADER + line(0, mappedClient, mappedServer, '01', 1002, 5) };
  const owner = connectionOwners(async function* (path) {
    reads.push(path);
    await new Promise((r) => setTimeout(r, 5));
    yield tables[path]!;
  });
  const ours = { address: '127.0.0.1', port: 9920 };
  const results = await Promise.all([owner({ address: '127.0.0.1', port: 50000 }, ours), ...Array.from({ length: 10 }, () => owner({ address: '127.0.0.1', port: 50000 }, ours))]);
  assert.deepEqual(new Set(results.map((r) => r?.uid)), new Set([1001]));
  assert.ok(reads.length <= 2, `11 lookups, ${reads.length} scans`);
  reads.length = 0;
  assert.equal((await owner({ address: '127.0.0.1', port: 50003 }, ours))?.uid, 1002);
  assert.deepEqual(reads, ['/proc/net/tcp', '/proc/net/tcp6']);
  assert.equal(await owner({ address: '127.0.0.1', port: 59999 }, ours), undefined);
});

test('procNetTcpLookup (the fallback) answers unknown for a TIME_WAIT remnant (uid 0, inode 0), never root, as sock_diag does', async () => {
  const closing = procAddress('127.0.0.1', 50004).text;
  const table = TABLE + line(5, closing, server, '08', 1003, 103); // CLOSE_WAIT: still a live, owned socket
  const lookup = procNetTcpLookup(async function* (path) {
    yield path === '/proc/net/tcp' ? table : HEADER;
  });
  const ours = { address: '127.0.0.1', port: 9920 };
  assert.deepEqual(await lookup({ address: '127.0.0.1', port: 50000 }, ours), { uid: 1001 });
  assert.deepEqual(await lookup({ address: '127.0.0.1', port: 50004 }, ours), { uid: 1003 });
  const remnant = await lookup({ address: '127.0.0.1', port: 50001 }, ours);
  assert.ok('unknown' in remnant, `TIME_WAIT read as ${JSON.stringify(remnant)}`);
  assert.match(remnant.unknown, /not connected \(TCP state 06\)/);
  // An established line with inode 0 has no owning file: not trusted either.
  const orphan = procNetTcpLookup(async function* (path) {
    yield path === '/proc/net/tcp' ? HEADER + line(0, procAddress('127.0.0.1', 50005).text, server, '01', 0, 0) : HEADER;
  });
  assert.ok('unknown' in (await orphan({ address: '127.0.0.1', port: 50005 }, ours)));
  assert.ok('unknown' in (await lookup({ address: '127.0.0.1', port: 59999 }, ours)), 'absent: unknown');
});

test('listenerOwners reads both tables', async () => {
  const tables: Record<string, string> = { '/proc/net/tcp': TABLE, '/proc/net/tcp6': HEADER + line(0, `${'0'.repeat(32)}:26C0`, `${'0'.repeat(32)}:0000`, '0A', 1001, 9) };
  assert.deepEqual((await listenerOwners(async (p) => tables[p]!, 9920)).sort(), [0, 1001]);
});

test('scanListenerOwners reads only the listening head of each table (the kernel lists listeners first)', async () => {
  const listener6 = `${'0'.repeat(32)}:26C0`;
  const tables: Record<string, string> = {
    '/proc/net/tcp': HEADER + line(0, server, '00000000:0000', '0A', 0, 100) + line(1, client, server, '01', 1001, 102) + line(2, server, '00000000:0000', '0A', 4242, 103),
    '/proc/net/tcp6': HEADER + line(0, listener6, `${'0'.repeat(32)}:0000`, '0A', 1001, 9),
  };
  const read = async function* (path: string) {
    yield* tables[path]!.match(/[\s\S]{1,23}/g)!;
  };
  // The third tcp line (after an established one) is past the head and not read; tcp has a
  // listener on the port, so tcp6 is not read.
  assert.deepEqual(await scanListenerOwners(read, 9920), [0]);
  // No IPv4 listener: a dual-stack one in tcp6 is found.
  tables['/proc/net/tcp'] = HEADER + line(0, procAddress('127.0.0.1', 80).text, '00000000:0000', '0A', 0, 1);
  assert.deepEqual(await scanListenerOwners(read, 9920), [1001]);
  assert.deepEqual(await scanListenerOwners(read, 1), []);
});

test('listeners on the exact address: the address itself, 0.0.0.0, :: and ::ffff: forms count; 127.0.0.2 does not (issue 19 point 3)', async () => {
  const at = (address: string) => procAddress(address, 920).text;
  const table = (address: string, uid: number) => HEADER + line(0, at(address), address.includes(':') ? `${'0'.repeat(32)}:0000` : '00000000:0000', '0A', uid, 1);
  const reader = (tcp: string, tcp6 = HEADER) =>
    async function* (file: string) {
      yield file.endsWith('6') ? tcp6 : tcp;
    };
  assert.deepEqual(await scanListenerOwners(reader(table('127.0.0.2', 1001)), 920, '127.0.0.1'), [], 'another loopback address never gets the connection');
  assert.deepEqual(await scanListenerOwners(reader(table('127.0.0.2', 1001)), 920), [1001], 'without an address (a host name) every listener counts, as before');
  assert.deepEqual(await scanListenerOwners(reader(table('127.0.0.1', 1001)), 920, '127.0.0.1'), [1001]);
  assert.deepEqual(await scanListenerOwners(reader(table('0.0.0.0', 1001)), 920, '127.0.0.1'), [1001]);
  assert.deepEqual(await scanListenerOwners(reader(HEADER, table('::', 1001)), 920, '127.0.0.1'), [1001]);
  assert.deepEqual(await scanListenerOwners(reader(HEADER, table('::ffff:127.0.0.1', 1001)), 920, '127.0.0.1'), [1001]);
  assert.deepEqual(await scanListenerOwners(reader(HEADER, table('::1', 1001)), 920, '127.0.0.1'), [], '::1 is not 127.0.0.1');
  assert.deepEqual(await listenerOwners(async (file) => (file.endsWith('6') ? HEADER : table('127.0.0.2', 1001)), 920, '127.0.0.1'), []);
  assert.deepEqual(listenerAddresses('localhost', 920), undefined);
  assert.equal(listenerAddresses('[::1]', 920)?.size, 2);
});
