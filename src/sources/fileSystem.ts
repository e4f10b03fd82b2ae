import { stat } from 'node:fs/promises';
import { FileRefused, fileKind, MAX_INPUT_FILE_BYTES, readRegularFile, type FileKind } from '../readRegularFile.js';
import { AgentError, ExitCode } from '../errors.js';

export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
  /**
   * When this inode was created, where the filesystem says (0 or absent where not): ext4 hands
   * a freed inode number to the next file, so a rename writer's files alternate between two
   * numbers, and only the number plus the birth time tells each new file apart.
   */
  birthtimeMs?: number;
  /** Where libuv has no birth time (no statx) it reports the change time as one: equal means unknown. */
  ctimeMs?: number;
  /** 'file' for a regular file; otherwise what it is ('fifo', 'socket', 'directory', 'device'…). */
  kind?: FileKind;
}


/** Profile files are a few KB; anything past this is refused before it is read. */
export const MAX_PROFILE_BYTES = MAX_INPUT_FILE_BYTES;

/** The slice of the filesystem the sources read through; tests substitute their own. */
export interface FileSystem {
  /** Reads a regular file only, never blocking on a FIFO or device; at most MAX_PROFILE_BYTES. */
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<FileStat>;
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
    try {
      return await readRegularFile(path, MAX_PROFILE_BYTES);
    } catch (error) {
      if (!(error instanceof FileRefused)) throw error;
      throw 'kind' in error.problem ? notRegularFile(path, error.problem.kind) : tooLarge(path, error.problem.size);
    }
  },
  stat: async (path) => {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, birthtimeMs: s.birthtimeMs, ctimeMs: s.ctimeMs, kind: fileKind(s) };
  },
};
