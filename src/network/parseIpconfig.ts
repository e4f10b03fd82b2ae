/** One adapter block of `ipconfig /all`. */
export interface IpconfigAdapter {
  /** The connection name ("Ethernet 2"), which is also Node's os.networkInterfaces() key. */
  name: string;
  /** Lower case, colon separated, like os.networkInterfaces(). */
  mac: string | undefined;
  /** IPv4 default gateways (IPv6 ones are dropped: the ENI check is IPv4). */
  gateways: string[];
}

const MAC = /^([0-9a-f]{2}-){5}[0-9a-f]{2}$/i;
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
// The label is localised ("Standardgateway", "Passerelle par défaut", "Puerta de enlace
// predeterminada"…); the MAC is recognised by its value, whatever the language.
const GATEWAY_LABEL = /gateway|passerelle|puerta de enlace/i;

/**
 * Parses `ipconfig /all` (Windows, and Wine's own ipconfig, which omits the colon after the
 * adapter header). Each unindented line starts a block; fields are indented
 * `Label . . . : value` lines, and a field may continue on indented lines with no label
 * (Windows lists the IPv6 gateway first and the IPv4 one on the next line).
 */
export function parseIpconfig(text: string): IpconfigAdapter[] {
  const adapters: IpconfigAdapter[] = [];
  let current: IpconfigAdapter | undefined;
  let label = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    if (!line) continue;
    if (!/^\s/.test(line)) {
      // "Ethernet adapter Ethernet 2:" (German "Ethernet-Adapter …"); the global block too, harmlessly.
      const name = (/adapter\s+(.+)$/i.exec(line)?.[1] ?? line).replace(/\s*:$/, '');
      current = { name, mac: undefined, gateways: [] };
      adapters.push(current);
      label = '';
      continue;
    }
    if (!current) continue;
    // A label holds no colon, so an IPv6 continuation line ("fe80::1%7") is not taken for one.
    const field = /^\s+(\S[^:]*?)[ .]*:(?: (.*))?$/.exec(line);
    if (field) label = field[1]!;
    const value = (field ? (field[2] ?? '') : line).trim();
    if (MAC.test(value)) current.mac ??= value.toLowerCase().replace(/-/g, ':');
    if (GATEWAY_LABEL.test(label) && IPV4.test(value)) current.gateways.push(value);
  }
  return adapters;
}
