import { AgentError, ExitCode, isAgentError } from '../errors.js';
import { MAX_PROFILE_BYTES, notRegularFile, tooLarge, type FileSystem } from './fileSystem.js';

export interface StableFile {
  text: string;
  mtimeMs: number;
  ino: number;
  /** The inode's birth time where it can be trusted (a reused inode number is another file). */
  born?: number;
}

/**
 * Whether `now` is another file than `before` at the same path (a rename landed): another inode
 * number, or the same number born at another time. An unknown birth time proves nothing.
 */
export const isAnotherFile = (before: Pick<StableFile, 'ino' | 'born'>, now: Pick<StableFile, 'ino' | 'born'>): boolean =>
  before.ino !== now.ino || (before.born !== undefined && now.born !== undefined && before.born !== now.born);

/**
 * Reads a file and confirms it did not change underneath the read (an in-place rewrite or a
 * rename landing mid-read). A change is a transient error so the caller retries shortly.
 */
export async function readStableFile(fs: FileSystem, path: string): Promise<StableFile> {
  let before;
  try {
    before = await fs.stat(path);
  } catch (error) {
    throw missingOrUnreadable(path, error);
  }
  // Judged before opening: opening a FIFO for reading blocks until a writer comes.
  if (before.kind !== undefined && before.kind !== 'file') throw notRegularFile(path, before.kind);
  if (before.size > MAX_PROFILE_BYTES) throw tooLarge(path, before.size);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    if (isAgentError(error)) throw error;
    throw missingOrUnreadable(path, error, true);
  }
  const after = await fs.stat(path).catch(() => undefined);
  if (!after || after.ino !== before.ino || after.mtimeMs !== before.mtimeMs || after.size !== bytes.length) {
    throw new AgentError(`${path}: changed while being read`, {
      exitCode: ExitCode.credentialsUnavailable,
      code: 'file-changing',
      transient: true,
    });
  }
  // A birth time equal to the change time may be libuv's stand-in (no statx): then it would change
  // on every in-place write, and an in-place writer would pass for a renamer. The number alone then.
  const born = after.birthtimeMs && after.birthtimeMs !== after.ctimeMs ? after.birthtimeMs : undefined;
  return { text: decodeText(path, bytes), mtimeMs: after.mtimeMs, ino: after.ino, ...(born !== undefined ? { born } : {}) };
}

function missingOrUnreadable(path: string, error: unknown, vanishedMidRead = false): AgentError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new AgentError(`${path}: no such file`, {
      exitCode: ExitCode.credentialsUnavailable,
      code: 'file-missing',
      tryNextSource: true,
      transient: vanishedMidRead,
    });
  }
  return new AgentError(`${path}: cannot read (${code ?? 'error'})`, {
    exitCode: ExitCode.credentialsUnavailable,
    code: 'file-unreadable',
    tryNextSource: true,
  });
}

/** Rejects binary garbage with the line it starts on, without echoing any content. */
function decodeText(path: string, bytes: Buffer): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const bad = text.search(/[\u0000\uFFFD]/);
  if (bad >= 0) {
    const line = text.slice(0, bad).split('\n').length;
    throw new AgentError(`${path}:${line}: not a text file (binary or non-UTF-8 bytes)`, {
      exitCode: ExitCode.credentialsUnavailable,
      code: 'file-malformed',
      transient: true,
    });
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}
