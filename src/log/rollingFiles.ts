import { fstatSync, lstatSync, mkdirSync, readdirSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { fileKind } from '../readRegularFile.js';
import path from 'node:path';
import type { RollStream } from 'pino-roll';
import { AgentError, ExitCode } from '../errors.js';

export type LogFrequency = 'daily' | 'hourly' | 'none';

/** Service mode: JSON lines in `dir`, rotated by size and time, at most `maxFiles` files. */
export interface LogFilesOptions {
  dir: string;
  /** Size at which a file is rotated; fractions allowed (0.01 ≈ 10 KB). */
  maxSizeMb: number;
  maxFiles: number;
  frequency: LogFrequency;
}

/** Files are named appstream-creds[.<date>].<n>.log; only those are ever pruned. */
export const LOG_FILE_PATTERN = /^appstream-creds\.(?:\d{4}-\d{2}-\d{2}(?:-\d{2})?\.)?(\d+)\.log$/;
const BASE = 'appstream-creds';
const DATE_FORMAT = { daily: 'yyyy-MM-dd', hourly: 'yyyy-MM-dd-HH' } as const;

/** pino-roll's size in bytes ('10486b'), so fractional MB work; never below 1 KiB. */
export const rollSize = (maxSizeMb: number): string => `${Math.max(1024, Math.round(maxSizeMb * 1024 * 1024))}b`;

const reason = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/**
 * Opens the rotating file stream (pino-roll used as a plain destination, not a transport, so
 * it works in the bundle without node_modules). Writes are synchronous: nothing is lost when
 * the service stops or crashes, and the volume is small.
 */
export async function openLogFiles(options: LogFilesOptions): Promise<RollStream> {
  const dir = path.resolve(options.dir);
  const fail = (what: string, error: unknown): AgentError =>
    new AgentError(`logDir ${dir}: cannot ${what} (${reason(error)})`, { exitCode: ExitCode.runtime, code: 'log-dir', cause: error });
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
  } catch (error) {
    throw fail('create it', error);
  }
  // The folder was judged (serve's prepareOwnFolder) before this runs, so nobody else can add
  // entries now; what another account planted before (a symlink or hard link to a root-only
  // file in a folder it prepared, a FIFO) is refused before pino-roll opens a name by path.
  refusePlantedLogFiles(dir);
  const { default: pinoRoll } = await import('pino-roll');
  let stream: RollStream;
  try {
    stream = await pinoRoll({
      file: path.join(dir, BASE),
      extension: '.log',
      size: rollSize(options.maxSizeMb),
      ...(options.frequency === 'none' ? {} : { frequency: options.frequency, dateFormat: DATE_FORMAT[options.frequency] }),
      sync: true,
      mode: 0o640,
    });
  } catch (error) {
    throw fail('open a log file there', error);
  }
  // pino-roll's own `limit` only counts files this process created (restarts pile up), or,
  // with removeOtherLogFiles, prunes after the new file exists. Pruning just before each
  // roll opens its file keeps the total at maxFiles at every moment, across restarts.
  const reopen = stream.reopen.bind(stream);
  stream.reopen = (file?: string) => {
    if (file && file !== stream.file) {
      pruneLogFiles(dir, options.maxFiles - 1, file);
      // The folder is the agent's, so nothing should be at a new name; if something is, it is
      // removed rather than followed (SonicBoom opens by path, with 'a').
      removeUnlessOwnLogFile(file);
    }
    reopen(file);
  };
  const opened = descriptorProblem(stream.fd);
  if (opened) {
    stream.destroy();
    throw new AgentError(`logDir ${dir}: ${stream.file ?? 'the log file'} ${opened}; remove it`, { exitCode: ExitCode.usage, code: 'log-file-planted' });
  }
  if (stream.file) pruneLogFiles(dir, options.maxFiles - 1, stream.file);
  let reported = false;
  stream.on('error', (error: unknown) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`appstream-creds: writing logs to ${dir} failed (${reason(error)}); later log lines may be lost\n`);
  });
  return stream;
}

const ownUid = (): number | undefined => (process.platform === 'win32' ? undefined : process.geteuid?.());

/** Why an entry is not a log file this agent wrote: only a regular file it owns, with one link, is. */
function entryProblem(info: Stats): string | undefined {
  if (!info.isFile()) return `is a ${fileKind(info)}, not a regular file`;
  const uid = ownUid();
  if (uid !== undefined && info.uid !== uid) return `is owned by uid ${info.uid}, not by this agent's user`;
  if (uid !== undefined && info.nlink !== 1) return `has ${info.nlink} hard links (a link to another file)`;
  return undefined;
}

function descriptorProblem(fd: number): string | undefined {
  if (fd < 0) return undefined;
  try {
    return entryProblem(fstatSync(fd));
  } catch {
    return undefined;
  }
}

function removeUnlessOwnLogFile(file: string): void {
  try {
    if (entryProblem(lstatSync(file))) unlinkSync(file);
  } catch {
    // nothing there: the usual case
  }
}

/** Throws naming the first entry a log file name would open that is not the agent's own regular file. */
function refusePlantedLogFiles(dir: string): void {
  for (const name of safeReaddir(dir)) {
    if (!name.startsWith(`${BASE}.`)) continue;
    let info: Stats;
    try {
      info = lstatSync(path.join(dir, name));
    } catch {
      continue;
    }
    const problem = entryProblem(info);
    if (problem) {
      throw new AgentError(`logDir ${dir}: ${name} ${problem}: not a log file this agent wrote (planted before the folder was the agent's?); remove it`, { exitCode: ExitCode.usage, code: 'log-file-planted' });
    }
  }
}

/** Deletes the oldest log files in `dir` (by mtime) but `keep`, never touching `current`. */
function pruneLogFiles(dir: string, keep: number, current: string): void {
  const others: Array<{ file: string; mtime: number; n: number }> = [];
  for (const name of safeReaddir(dir)) {
    const match = LOG_FILE_PATTERN.exec(name);
    const file = path.join(dir, name);
    if (!match || file === current) continue;
    try {
      others.push({ file, mtime: statSync(file).mtimeMs, n: Number(match[1]) });
    } catch {
      // removed meanwhile
    }
  }
  others.sort((a, b) => b.mtime - a.mtime || b.n - a.n);
  for (const { file } of others.slice(Math.max(0, keep))) {
    try {
      unlinkSync(file);
    } catch {
      // already gone, or locked (Windows): try again at the next roll
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
