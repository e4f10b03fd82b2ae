// Run by callerFlood.mjs inside its network namespace (node --import tsx): the cost of one
// caller lookup of a live loopback connection, by netlink sock_diag (the agent's route) and
// by a /proc/net/tcp scan (the fallback), with the table's size at that moment. Prints JSON.
import net from 'node:net';
import { readFileSync, createReadStream } from 'node:fs';
import { loadKoffi } from '../../src/native/loadKoffi.js';
import { fromSockDiag, openSockDiag } from '../../src/network/sockDiag.js';
import { procNetTcpLookup } from '../../src/network/procNetTcp.js';
import type { PeerLookup } from '../../src/network/peerLookup.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const lines = (): number => readFileSync('/proc/net/tcp', 'latin1').split('\n').length - 2 + Math.max(0, readFileSync('/proc/net/tcp6', 'latin1').split('\n').length - 2);

async function time(lookup: PeerLookup, runs: number, client: { address: string; port: number }, server: { address: string; port: number }): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    const owner = await lookup(client, server);
    samples.push(performance.now() - started);
    if (!('uid' in owner)) throw new Error(`lookup failed: ${JSON.stringify(owner)}`);
  }
  return median(samples);
}

const koffi = loadKoffi();
if (!koffi.ok) throw new Error(koffi.reason);
const opened = openSockDiag(koffi.koffi);
if (!opened.ok) throw new Error(opened.reason);
const server = net.createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
const socket = await accepted;
const ends = [{ address: socket.remoteAddress!, port: socket.remotePort! }, { address: socket.localAddress!, port: socket.localPort! }] as const;
const tableLines = lines();
const netlinkMs = await time(fromSockDiag(opened.channel), 2000, ...ends);
const procMs = await time(procNetTcpLookup((file) => createReadStream(file, { encoding: 'latin1', highWaterMark: 4 * 1024 })), 5, ...ends);
client.destroy();
socket.destroy();
server.close();
process.stdout.write(JSON.stringify({ tableLines, netlinkMs, procMs }));
