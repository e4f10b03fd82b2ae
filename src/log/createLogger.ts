import type { Logger } from 'pino';

export type { Logger };

/**
 * Every place a secret could sit in a log object. Redaction is the second line of defence;
 * the first is that no code logs a credentials object or a raw header set.
 */
export const REDACT_PATHS = [
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
  /** Where JSON lines go; stderr by default so stdout stays data for credential-process/env. */
  destination?: NodeJS.WritableStream | number;
  name?: string;
}

/** pino is imported on demand: one-shot commands at the default level never pay for it. */
export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const { default: pino } = await import('pino');
  const destination =
    typeof options.destination === 'object'
      ? options.destination
      : pino.destination({ fd: options.destination ?? 2, sync: true });
  return pino(
    {
      level: options.level,
      name: options.name ?? 'appstream-creds',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
