import { isIPv4 } from 'node:net';

/** The 4 bytes of a dotted IPv4 address, network order. */
export function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

/** The 16 bytes of an IPv6 address (a zone suffix dropped, a dotted IPv4 tail allowed), network order. */
export function ipv6Bytes(address: string): Uint8Array {
  let text = address.replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = ipv4Bytes(tail[1]!);
    text = `${text.slice(0, -tail[1]!.length)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g || '0', 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  return bytes;
}

/**
 * Whether `address` is an IPv6 address (a zone suffix allowed), as node's isIPv6 answers, judged
 * by the URL parser instead: isIPv6 compiles a large regular expression on its first call, about
 * 8 ms of every client start (the listener check asks about `::` on each one).
 */
export function isIPv6Address(address: string): boolean {
  const bare = address.replace(/%[^%]+$/, '');
  return /^[0-9A-Fa-f:.]+$/.test(bare) && bare.includes(':') && URL.canParse(`http://[${bare}]/`);
}

/** `a.b.c.d` for an IPv4 or IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else undefined. */
export function ipv4Of(address: string): string | undefined {
  if (isIPv4(address)) return address;
  if (!isIPv6Address(address)) return undefined;
  const bytes = ipv6Bytes(address);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? Array.from(bytes.subarray(12)).join('.') : undefined;
}
