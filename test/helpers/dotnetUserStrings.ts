/**
 * The string literals of a .NET assembly: the #US ("user strings") heap of its CLI metadata,
 * read by walking the PE headers. A literal such as "logpath" is there only if the program's
 * code names it, so membership says far more than a byte search (which any binary passes for
 * short words like "id" or "log").
 */
export function dotnetUserStrings(exe: Buffer): Set<string> {
  const fail = (what: string): never => {
    throw new Error(`not a .NET assembly: ${what}`);
  };
  if (exe.toString('latin1', 0, 2) !== 'MZ') fail('no MZ header');
  const pe = exe.readUInt32LE(0x3c);
  if (exe.toString('latin1', pe, pe + 4) !== 'PE\0\0') fail('no PE signature');
  const sections = exe.readUInt16LE(pe + 6);
  const optionalSize = exe.readUInt16LE(pe + 20);
  const optional = pe + 24;
  const magic = exe.readUInt16LE(optional);
  const directories = optional + (magic === 0x20b ? 112 : magic === 0x10b ? 96 : fail(`optional header magic ${magic.toString(16)}`));
  const cliRva = exe.readUInt32LE(directories + 14 * 8);
  if (cliRva === 0) fail('no CLI header');
  const table = optional + optionalSize;
  const offsetOf = (rva: number): number => {
    for (let i = 0; i < sections; i += 1) {
      const s = table + i * 40;
      const virtualAddress = exe.readUInt32LE(s + 12);
      const size = Math.max(exe.readUInt32LE(s + 8), exe.readUInt32LE(s + 16));
      if (rva >= virtualAddress && rva < virtualAddress + size) return rva - virtualAddress + exe.readUInt32LE(s + 20);
    }
    return fail(`RVA ${rva.toString(16)} in no section`);
  };
  const cli = offsetOf(cliRva);
  const metadata = offsetOf(exe.readUInt32LE(cli + 8));
  if (exe.readUInt32LE(metadata) !== 0x424a5342) fail('no BSJB metadata signature');
  const versionLength = exe.readUInt32LE(metadata + 12);
  const streamCount = exe.readUInt16LE(metadata + 16 + versionLength + 2);
  let header = metadata + 16 + versionLength + 4;
  for (let i = 0; i < streamCount; i += 1) {
    const offset = exe.readUInt32LE(header);
    const size = exe.readUInt32LE(header + 4);
    const nameEnd = exe.indexOf(0, header + 8);
    const name = exe.toString('latin1', header + 8, nameEnd);
    header = header + 8 + Math.ceil((nameEnd - (header + 8) + 1) / 4) * 4;
    if (name === '#US') return readUserStrings(exe.subarray(metadata + offset, metadata + offset + size));
  }
  return fail('no #US heap');
}

/** Each entry: a compressed length, UTF-16LE text, one trailing flag byte (ECMA-335 II.24.2.4). */
function readUserStrings(heap: Buffer): Set<string> {
  const strings = new Set<string>();
  let at = 1; // entry 0 is the empty blob
  while (at < heap.length) {
    const b = heap[at]!;
    let length: number;
    if ((b & 0x80) === 0) {
      length = b;
      at += 1;
    } else if ((b & 0xc0) === 0x80) {
      length = ((b & 0x3f) << 8) | heap[at + 1]!;
      at += 2;
    } else {
      length = ((b & 0x1f) << 24) | (heap[at + 1]! << 16) | (heap[at + 2]! << 8) | heap[at + 3]!;
      at += 4;
    }
    if (length === 0) continue;
    strings.add(heap.toString('utf16le', at, at + length - 1));
    at += length;
  }
  return strings;
}
