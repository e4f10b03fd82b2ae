import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { usageError } from '../errors.js';

/** Reads all of stdin; injected so tests and the CLI share one code path. */
export type StdinReader = () => Promise<string>;

export async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** `-` means stdin; anything else is a path relative to the working directory. */
export async function readTextInput(file: string, cwd: string, readStdin: StdinReader, what: string): Promise<string> {
  if (file === '-') return readStdin();
  try {
    return await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reasons: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'it is a folder', EACCES: 'permission denied' };
    const reason = (code && reasons[code]) ?? code ?? 'unreadable';
    throw usageError(`cannot read ${what} ${file}: ${reason}`, 'input-unreadable');
  }
}
