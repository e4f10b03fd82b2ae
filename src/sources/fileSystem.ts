import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { AgentError, ExitCode } from '../errors.js';

export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
  /** 'file' for a regular file; otherwise what it is ('fifo', 'socket', 'directory', 'device'…). */
  kind?: FileKind;
}

export type FileKind = 'file' | 'directory' | 'fifo' | 'socket' | 'character device' | 'block device' | 'symbolic link' | 'unknown';

/** Profile files are a few KB; anything past this is refused before it is read. */
export const MAX_PROFILE_BYTES = 1024 * 1024;

/** The slice of the filesystem the sources read through; tests substitute their own. */
export interface FileSystem {
  /** Reads a regular file only, never blocking on a FIFO or device; at most MAX_PROFILE_BYTES. */
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<FileStat>;
}

export function fileKind(s: { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSymbolicLink(): boolean }): FileKind {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice()) return 'character device';
  if (s.isBlockDevice()) return 'block device';
  if (s.isSymbolicLink()) return 'symbolic link';
  return 'unknown';
}

export const notRegularFile = (path: string, kind: FileKind): AgentError =>
  new AgentError(`${path}: is a ${kind}, not a regular file; only regular files are read`, {
    exitCode: ExitCode.credentialsUnavailable,
    code: 'file-not-regular',
    tryNextSource: true,
  });

export const tooLarge = (path: string, size: number): AgentError =>
  new AgentError(`${path}: ${size} bytes is over the ${MAX_PROFILE_BYTES}-byte limit for a profile file; refused`, {
    exitCode: ExitCode.credentialsUnavailable,
    code: 'file-too-large',
    tryNextSource: true,
  });

export const nodeFileSystem: FileSystem = {
  readFile: async (path) => {
    // O_NONBLOCK: a FIFO swapped in after the caller's stat must not hang the open; fstat then
    // judges what was actually opened.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const s = await handle.stat();
      if (!s.isFile()) throw notRegularFile(path, fileKind(s));
      if (s.size > MAX_PROFILE_BYTES) throw tooLarge(path, s.size);
      const buffer = Buffer.alloc(MAX_PROFILE_BYTES + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length > MAX_PROFILE_BYTES) throw tooLarge(path, length);
      }
      return buffer.subarray(0, length);
    } finally {
      await handle.close();
    }
  },
  stat: async (path) => {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, kind: fileKind(s) };
  },
};
