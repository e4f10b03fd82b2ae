import type { StatusReport } from './describeTracker.js';

export interface TimelineOptions {
  /** The instant drawn as "now" (the status's own time; tests fix it). */
  now: number;
  /** The expiring window (setting expiryWarning): the last part of each generation's life. */
  expiryWarningMs: number;
  /** Lateness after which a refresh is overdue (setting refreshGrace). */
  refreshGraceMs: number;
  /** Columns of the bar. */
  width?: number;
  /** ANSI colour: only when stdout is a terminal and NO_COLOR is unset. */
  colour: boolean;
}

const ESC = '\u001b[';
const paint = (on: boolean, code: string, text: string): string => (on && code && text ? `${ESC}${code}m${text}${ESC}0m` : text);
const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
const STATE_CODE = { valid: '32', expiring: '33', expired: '31' } as const;

interface Cell {
  ch: string;
  /** SGR code ('' = none): one escape per run of equal codes, not per cell. */
  code: string;
}

function paintCells(colour: boolean, cells: readonly Cell[]): string {
  if (!colour) return cells.map((c) => c.ch).join('');
  let out = '';
  for (let i = 0; i < cells.length; ) {
    let j = i;
    while (j < cells.length && cells[j]!.code === cells[i]!.code) j += 1;
    out += paint(true, cells[i]!.code, cells.slice(i, j).map((c) => c.ch).join(''));
    i = j;
  }
  return out;
}

/**
 * The generations the agent knows on one time axis, in text: each row from first seen `[` to
 * expiry `]` (`=` valid, `~` the expiring window), the refresh due time `^` and its grace `-`
 * (`!` once overdue), and a `|` for now. Colour repeats what the characters say, never alone.
 */
export function renderTimeline(status: StatusReport, options: TimelineOptions): string[] {
  const width = Math.max(20, options.width ?? 32);
  const { now, colour } = options;
  const gens = status.generations.map((g) => ({ id: g.id, start: Date.parse(g.firstSeenAt), end: Date.parse(g.expiresAt), current: status.current?.id === g.id }));
  const due = status.refreshDueAt ? Date.parse(status.refreshDueAt) : undefined;
  const overdueFrom = due === undefined ? undefined : due + options.refreshGraceMs;
  if (gens.length === 0) return ['timeline:     no generation seen yet'];
  const from = Math.min(now, ...gens.map((g) => g.start));
  const to = Math.max(now, ...gens.map((g) => g.end));
  const span = Math.max(1, to - from);
  const col = (ms: number): number => Math.min(width - 1, Math.max(0, Math.round(((ms - from) / span) * (width - 1))));
  const nowCol = col(now);
  const lines: string[] = [];
  const label = `${hhmm(from)}`.padEnd(width - 5) + hhmm(to);
  lines.push(`timeline:     ${label}  (UTC)`);
  for (const g of gens) {
    const cells: Cell[] = Array.from({ length: width }, () => ({ ch: ' ', code: '' }));
    const warnFrom = g.end - options.expiryWarningMs;
    const expired = now >= g.end;
    for (let c = col(g.start); c <= col(g.end); c += 1) {
      const at = from + (c / (width - 1)) * span;
      // An expired generation is drawn dim: its life as it was, its state in words.
      cells[c] = at >= warnFrom ? { ch: '~', code: expired ? '2' : '33' } : { ch: '=', code: expired ? '2' : '32' };
    }
    cells[col(g.start)] = { ch: '[', code: expired ? '2' : '' };
    cells[col(g.end)] = { ch: ']', code: expired ? '31' : '' };
    cells[nowCol] = { ch: '|', code: '1' };
    const state = expired ? 'expired' : now >= warnFrom ? 'expiring' : 'valid';
    lines.push(`${`  gen ${g.id}`.padEnd(14)}${paintCells(colour, cells)}  ${hhmm(g.start)}-${hhmm(g.end)} ${paint(colour, STATE_CODE[state], state)}${g.current ? ' (served)' : ''}`);
  }
  if (due !== undefined && overdueFrom !== undefined) {
    const cells = Array.from({ length: width }, () => ' ');
    const overdue = now > overdueFrom;
    cells[col(due)] = '^';
    for (let c = col(due) + 1; c <= col(overdueFrom); c += 1) cells[c] = '-';
    if (overdue) for (let c = col(overdueFrom); c <= nowCol; c += 1) cells[c] = '!';
    const text = overdue ? paint(colour, '31', `refresh overdue since ${hhmm(overdueFrom)} (due ${hhmm(due)})`) : `next refresh due ${hhmm(due)}, overdue after ${hhmm(overdueFrom)}`;
    lines.push(`${'  refresh'.padEnd(14)}${paint(colour && overdue, '31', cells.join(''))}  ${text}`);
  }
  lines.push(`${'  now'.padEnd(14)}${' '.repeat(nowCol)}|  ${hhmm(now)}`);
  return lines;
}
