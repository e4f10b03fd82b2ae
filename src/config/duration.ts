import { usageError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses `90s`, `10m`, `1h` (also `ms` and `d`) into milliseconds; `setting` names the culprit. */
export function parseDuration(text: string, setting: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw usageError(`${setting}: "${text}" is not a duration; write it like 90s, 10m or 1h`);
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/** Renders milliseconds compactly for humans: 3600000 -> "1h", 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [['h', 3_600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
