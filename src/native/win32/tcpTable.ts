/**
 * MIB_TCPTABLE_OWNER_PID as GetExtendedTcpTable(AF_INET, TCP_TABLE_OWNER_PID_ALL) writes it: a
 * DWORD row count, then rows of six DWORDs (MIB_TCPROW_OWNER_PID): state, local address, local
 * port, remote address, remote port, owning pid. Addresses are in network byte order as they
 * sit in memory; a port is the DWORD's first two bytes, big-endian.
 */
export interface TcpRow {
  state: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  pid: number;
}

export const TCP_STATE = { listen: 2, established: 5 } as const;
const ROW = 24;

export function parseTcpTable(bytes: Uint8Array): TcpRow[] {
  if (bytes.length < 4) throw new Error(`TCP table too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (4 + count * ROW > bytes.length) throw new Error(`TCP table claims ${count} rows, only ${Math.floor((bytes.length - 4) / ROW)} there`);
  const address = (at: number): string => `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
  const port = (at: number): number => (bytes[at]! << 8) | bytes[at + 1]!;
  const rows: TcpRow[] = [];
  for (let i = 0, at = 4; i < count; i += 1, at += ROW) {
    rows.push({ state: view.getUint32(at, true), localAddress: address(at + 4), localPort: port(at + 8), remoteAddress: address(at + 12), remotePort: port(at + 16), pid: view.getUint32(at + 20, true) });
  }
  return rows;
}

/** The table bytes for `rows` (what Windows would write): for tests and the benchmark. */
export function encodeTcpTable(rows: readonly TcpRow[]): Uint8Array {
  const bytes = new Uint8Array(4 + rows.length * ROW);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, rows.length, true);
  const putAddress = (at: number, text: string): void => text.split('.').forEach((part, i) => (bytes[at + i] = Number(part)));
  rows.forEach((row, i) => {
    const at = 4 + i * ROW;
    view.setUint32(at, row.state, true);
    putAddress(at + 4, row.localAddress);
    view.setUint16(at + 8, row.localPort, false);
    putAddress(at + 12, row.remoteAddress);
    view.setUint16(at + 16, row.remotePort, false);
    view.setUint32(at + 20, row.pid, true);
  });
  return bytes;
}

/** IPv4 text of a Node address (`::ffff:127.0.0.1` on a dual-stack socket), else undefined. */
const ipv4 = (address: string): string | undefined => {
  const plain = address.replace(/^::ffff:/i, '');
  return /^\d+\.\d+\.\d+\.\d+$/.test(plain) ? plain : undefined;
};

/**
 * The row of the caller's own socket: local end = the connection's client end, remote end = the
 * agent's end (never the agent's accepted socket, whose pid is the agent's). undefined when the
 * table does not hold it (the client left, or an IPv6 connection: this table is IPv4).
 */
export function clientRow(rows: readonly TcpRow[], client: { address: string; port: number }, server: { address: string; port: number }): TcpRow | undefined {
  const [clientAddress, serverAddress] = [ipv4(client.address), ipv4(server.address)];
  if (!clientAddress || !serverAddress) return undefined;
  return rows.find((r) => r.localPort === client.port && r.remotePort === server.port && r.localAddress === clientAddress && r.remoteAddress === serverAddress && r.state !== TCP_STATE.listen);
}

/**
 * The pids listening on `port` that can receive a connection to `host` (bound to it or to
 * 0.0.0.0); without a host, every listener on the port.
 */
export const listenerPids = (rows: readonly TcpRow[], port: number, host?: string): number[] => {
  const address = host === undefined ? undefined : ipv4(host);
  const receives = (r: TcpRow): boolean => address === undefined || r.localAddress === address || r.localAddress === '0.0.0.0';
  return [...new Set(rows.filter((r) => r.state === TCP_STATE.listen && r.localPort === port && receives(r)).map((r) => r.pid))];
};
