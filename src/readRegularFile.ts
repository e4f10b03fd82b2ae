import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** Every file the agent reads as input (settings, policies, SAML, profiles) is far below this. */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024;

export type FileKind = 'file' | 'directory' | 'fifo' | 'socket' | 'character device' | 'block device' | 'symbolic link' | 'unknown';

export function fileKind(s: Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice' | 'isSymbolicLink'>): FileKind {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice()) return 'character device';
  if (s.isBlockDevice()) return 'block device';
  if (s.isSymbolicLink()) return 'symbolic link';
  return 'unknown';
}

/** A file that was opened but not read: not a regular file, or over the limit. The message names neither path nor content. */
export class FileRefused extends Error {
  readonly code = 'file-refused';
  constructor(
    readonly problem: { kind: FileKind } | { size: number; maxBytes: number },
  ) {
    super('kind' in problem ? `it is a ${problem.kind}, not a regular file` : `it is ${problem.size} bytes, over the ${problem.maxBytes}-byte limit`);
  }
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; fstat then
// judges what was actually opened, so a path swapped after any earlier stat changes nothing.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

const judge = (s: Stats, maxBytes: number): void => {
  if (!s.isFile()) throw new FileRefused({ kind: fileKind(s) });
  if (s.size > maxBytes) throw new FileRefused({ size: s.size, maxBytes });
};

/** Room for what fstat reported plus one byte, so growth past the limit is seen; grown while reading. */
const grow = (buffer: Buffer, maxBytes: number): Buffer => {
  if (buffer.length > maxBytes) throw new FileRefused({ size: buffer.length, maxBytes });
  const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
  buffer.copy(bigger);
  return bigger;
};

/**
 * A regular file of at most maxBytes, read without blocking and without ever holding more than
 * maxBytes + 1 bytes (`/dev/zero` is refused by type, a file growing past the limit at the
 * limit). Like readFileSync it stops at the size fstat reported (no extra read for EOF); a file
 * that reports no size (/proc) is read to its end. Errors: FileRefused, or the open's own
 * (ENOENT, EACCES…).
 */
export function readRegularFileSync(path: string, maxBytes = MAX_INPUT_FILE_BYTES): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const s = fstatSync(fd);
    judge(s, maxBytes);
    let buffer: Buffer = Buffer.allocUnsafe(Math.min(s.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = grow(buffer, maxBytes);
      const read = readSync(fd, buffer, length, buffer.length - length, length);
      if (read === 0) return buffer.subarray(0, length);
      length += read;
      if (length === s.size) return buffer.subarray(0, length);
    }
  } finally {
    closeSync(fd);
  }
}

/** readRegularFileSync off the main thread, for readers that may wait (the daemon's sources). */
export async function readRegularFile(path: string, maxBytes = MAX_INPUT_FILE_BYTES): Promise<Buffer> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    const s = await handle.stat();
    judge(s, maxBytes);
    let buffer: Buffer = Buffer.allocUnsafe(Math.min(s.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = grow(buffer, maxBytes);
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
      if (length === s.size) return buffer.subarray(0, length);
    }
  } finally {
    await handle.close();
  }
}
