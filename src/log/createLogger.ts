import type { DestinationStream, Logger } from 'pino';
import type { Settings } from '../config/settingsSchema.js';
import { openLogFiles, type LogFilesOptions } from './rollingFiles.js';

export type { Logger };

/**
 * Every place a secret could sit in a log object. Redaction is the second line of defence;
 * the first is that no code logs a credentials object or a raw header set.
 */
const REDACT_PATHS = [
  'secretAccessKey',
  'sessionToken',
  'SecretAccessKey',
  'SessionToken',
  'Token',
  'token',
  'authorization',
  'Authorization',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.SecretAccessKey',
  '*.SessionToken',
  '*.Token',
  '*.token',
  '*.authorization',
  '*.Authorization',
  'req.headers.authorization',
  'req.headers["x-aws-ec2-metadata-token"]',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; stderr by default so stdout stays data for credential-process/env. */
  destination?: NodeJS.WritableStream | number;
  name?: string;
  /** Readable lines (pino-pretty) instead of JSON, for a person at a terminal. */
  pretty?: { colorize: boolean };
  /** Service mode: JSON lines in rotated files instead of `destination`. */
  files?: LogFilesOptions;
}

/** pino is imported on demand: one-shot commands at the default level never pay for it. */
export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const { default: pino } = await import('pino');
  return pino(
    {
      level: options.level,
      name: options.name ?? 'appstream-creds',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    await destinationFor(options, (fd) => pino.destination({ fd, sync: true })),
  );
}

async function destinationFor(options: LoggerOptions, fdStream: (fd: number) => DestinationStream): Promise<DestinationStream> {
  if (options.files) return openLogFiles(options.files);
  const out: { write(line: string): unknown } = typeof options.destination === 'object' ? options.destination : fdStream(options.destination ?? 2);
  if (!options.pretty) return out as DestinationStream;
  // pino-pretty's formatter behind a synchronous stream: no worker, no async pipeline, so the
  // last lines before an exit are not lost. Redaction already happened in pino.
  const { prettyFactory } = (await import('pino-pretty')).default;
  const prettify = prettyFactory({ colorize: options.pretty.colorize, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' });
  return { write: (line: string) => void out.write(prettify(line)) };
}

export interface DaemonLogContext {
  stderrIsTTY: boolean;
  /** NO_COLOR is set: readable lines without colour. */
  noColor?: boolean;
}

/**
 * How `serve` logs: JSON lines in rotated files under logDir (service mode); readable lines
 * when stderr is a terminal; JSON lines on stderr otherwise (what supervisors and tests read).
 */
export function daemonLoggerOptions(
  settings: Pick<Settings, 'logLevel' | 'logDir' | 'logMaxSizeMb' | 'logMaxFiles' | 'logFrequency'>,
  context: DaemonLogContext,
): LoggerOptions {
  const level = settings.logLevel ?? 'info';
  if (settings.logDir) {
    return { level, files: { dir: settings.logDir, maxSizeMb: settings.logMaxSizeMb, maxFiles: settings.logMaxFiles, frequency: settings.logFrequency } };
  }
  if (context.stderrIsTTY) return { level, pretty: { colorize: !context.noColor } };
  return { level };
}
