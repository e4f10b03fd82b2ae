export interface Cidr {
  base: number;
  mask: number;
}

/** Parses dotted-quad IPv4 into an unsigned 32-bit number, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, bitsText] = text.split('/');
  const base = parseIpv4(address ?? '');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (base & mask) >>> 0, mask };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const value = parseIpv4(address);
  return value !== undefined && ((value & cidr.mask) >>> 0) === cidr.base;
}
