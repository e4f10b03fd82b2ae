import { formatDuration } from '../config/duration.js';
import type { CliIO } from './context.js';

/**
 * Progress lines for long waits: printed when the reason changes and every few seconds
 * otherwise, so a session-script log shows what was being waited for without flooding.
 */
export function progressPrinter(io: CliIO, everyMs = 5_000): (stage: string, reason: string, elapsedMs: number) => void {
  let lastKey = '';
  let lastAt = -Infinity;
  return (stage, reason, elapsedMs) => {
    const key = `${stage}:${reason}`;
    if (key === lastKey && elapsedMs - lastAt < everyMs) return;
    lastKey = key;
    lastAt = elapsedMs;
    io.stderr(`waiting for ${stage}: ${reason} (${formatDuration(elapsedMs)} elapsed)\n`);
  };
}
