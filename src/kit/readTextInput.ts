import path from 'node:path';
import { usageError } from '../errors.js';
import { FileRefused, MAX_INPUT_FILE_BYTES, readRegularFile } from '../readRegularFile.js';

/** Reads all of stdin, refusing more than maxBytes; injected so tests and the CLI share one code path. */
export type StdinReader = (maxBytes: number, what: string) => Promise<string>;

/** Generous for any policy, metadata or SAML document (SAML responses are tens of KB). */
export const MAX_INPUT_BYTES = MAX_INPUT_FILE_BYTES;

const tooLarge = (what: string, file: string, size: number | string, maxBytes: number) =>
  usageError(`${what} ${file} is ${size} bytes, over the ${maxBytes}-byte limit for this input; refused`, 'input-too-large');

export async function readProcessStdin(maxBytes: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    // Refused at the first byte past the limit: the rest is never buffered.
    if (size > maxBytes) throw tooLarge(what, '(stdin)', `more than ${maxBytes}`, maxBytes);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `-` means stdin; anything else is a path relative to the working directory. */
export async function readTextInput(file: string, cwd: string, readStdin: StdinReader, what: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
  if (file === '-') return readStdin(maxBytes, what);
  const full = path.resolve(cwd, file);
  try {
    // A regular file only, judged by its size before a byte is read: a 50 MB "response" is
    // refused at once, a FIFO does not hang, /dev/zero is not read.
    return (await readRegularFile(full, maxBytes)).toString('utf8');
  } catch (error) {
    if (error instanceof FileRefused && 'size' in error.problem) throw tooLarge(what, file, error.problem.size, maxBytes);
    const code = (error as NodeJS.ErrnoException).code;
    const reasons: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'it is a folder', EACCES: 'permission denied', 'file-refused': (error as Error).message };
    const reason = (code && reasons[code]) ?? code ?? 'unreadable';
    throw usageError(`cannot read ${what} ${file}: ${reason}`, 'input-unreadable');
  }
}
