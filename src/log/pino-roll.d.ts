// pino-roll ships no types; this covers what rollingFiles.ts uses. Its stream is a SonicBoom.
declare module 'pino-roll' {
  import type { EventEmitter } from 'node:events';

  export interface RollStream extends EventEmitter {
    /** The file being written now. */
    file: string | null;
    /** The open file's descriptor (-1 before the first open). */
    fd: number;
    destroy(): void;
    write(chunk: string): boolean;
    reopen(file?: string): void;
    flushSync(): void;
    end(): void;
  }

  export interface PinoRollOptions {
    file: string;
    /** Bytes with a unit: '10m', '512k', '10486b'; a bare number means MB. */
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    dateFormat?: string;
    symlink?: boolean;
    limit?: { count: number; removeOtherLogFiles?: boolean };
    /** SonicBoom options. */
    sync?: boolean;
    mkdir?: boolean;
    mode?: number;
  }

  export default function pinoRoll(options: PinoRollOptions): Promise<RollStream>;
}
