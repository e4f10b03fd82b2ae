import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { CredentialSource } from '../credentials.js';
import { isAgentError } from '../errors.js';
import type { Logger } from '../log/createLogger.js';
import type { Tracker } from '../tracker/Tracker.js';

const DEBOUNCE_MS = 30;
/** However often the files change, a change is read within this long (plus the read itself). */
export const MAX_DEBOUNCE_MS = 200;

export interface RefresherInit {
  source: CredentialSource;
  tracker: Tracker;
  clock: Clock;
  logger?: Logger;
  /** Profile files to watch (they may not exist yet). */
  files: readonly string[];
  refreshInterval: number;
  /**
   * Remaining life under which a source with an Expiration (credential_process) is run again
   * rather than waiting for refreshInterval: SDKs refresh 15 min early (botocore, .NET), so the
   * agent should have something fresher by then. The daemon passes expiryWarning (default 15m).
   */
  freshWindowMs?: number;
  /** Upper bound of the backoff between re-runs while the source has nothing fresher. */
  maxStaleBackoffMs?: number;
  /** Stat-based poll, the fallback when fs.watch misses an event (network shares, editors). */
  pollMs?: number;
  /** Upper bound of the retry backoff after a failure. */
  maxBackoffMs?: number;
}

/**
 * Keeps the tracker current. Static keys: re-read when a watched file changes (fs.watch on the
 * folder, which survives rename-replacement, plus a stat poll). credential_process: re-run every
 * refreshInterval, and again once its newest credentials have less than freshWindowMs left,
 * backing off while it still returns nothing fresher. Failures back off and keep the last good
 * generation, which the tracker goes on serving until it expires.
 */
export class CredentialRefresher {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** The latest trigger, for the log line of the run it causes. */
  private reason = '';
  private stopped = false;
  private failures = 0;
  /** Consecutive runs whose credentials already had less than freshWindowMs left. */
  private staleRuns = 0;
  private lastSignature = '';
  private debounce: NodeJS.Timeout | undefined;
  private burstStartedAt: number | undefined;

  constructor(private readonly init: RefresherInit) {}

  async start(): Promise<void> {
    this.watchFolders();
    await this.pollFiles(); // baseline signature, so the first poll does not re-read for nothing
    await this.refresh('start');
    if (this.stopped) return;
    const pollMs = this.init.pollMs ?? 1_000;
    this.pollTimer = setInterval(() => void this.pollFiles(), pollMs);
    this.pollTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    clearTimeout(this.timer);
    clearTimeout(this.debounce);
    clearInterval(this.pollTimer);
  }

  /** Runs one refresh; concurrent triggers coalesce into one follow-up run. */
  refresh(reason: string): Promise<void> {
    this.reason = reason;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.refreshOnce(this.reason);
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async refreshOnce(reason: string): Promise<void> {
    const { tracker, clock } = this.init;
    // Whatever happens below, the next attempt is scheduled: a refresher that stops
    // rescheduling serves 503 forever once the last generation expires.
    let nextMs = this.init.refreshInterval;
    try {
      const sourced = await this.init.source();
      const generation = tracker.observe(sourced);
      this.failures = 0;
      this.init.logger?.debug({ reason, generation: generation.id }, 'credentials read');
      if (sourced.credentials.expiration) nextMs = Math.min(nextMs, this.aheadOfExpiry(generation.expiresAt - clock.now()));
    } catch (error) {
      this.failures += 1;
      nextMs = Math.min(this.init.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(this.failures - 1, 10), this.init.refreshInterval);
      try {
        tracker.reportFailure({
          code: isAgentError(error) ? error.code : 'source-error',
          message: error instanceof Error ? error.message : String(error),
        });
      } catch (reportError) {
        this.init.logger?.error({ err: { message: (reportError as Error).message } }, 'could not record a source failure');
      }
    } finally {
      if (!this.stopped) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh('timer'), nextMs);
        this.timer.unref();
      }
    }
  }

  /**
   * When to run a source with an Expiration again: as its remaining life enters the fresh
   * window; once inside it (the source had nothing fresher), after 1 s, 2 s, 4 s… up to
   * maxStaleBackoffMs, so a process that keeps returning the same credentials is not hammered,
   * yet always before 90% of the remaining life has passed.
   */
  private aheadOfExpiry(remainingMs: number): number {
    const window = this.init.freshWindowMs ?? 15 * 60_000;
    if (remainingMs > window) {
      this.staleRuns = 0;
      return remainingMs - window;
    }
    this.staleRuns += 1;
    const backoff = Math.min(this.init.maxStaleBackoffMs ?? 60_000, 1_000 * 2 ** Math.min(this.staleRuns - 1, 16));
    return Math.min(backoff, Math.max(1_000, remainingMs * 0.9));
  }

  private watchFolders(): void {
    const folders = [...new Set(this.init.files.map((f) => path.dirname(f)))];
    const names = new Set(this.init.files.map((f) => path.basename(f)));
    for (const folder of folders) {
      try {
        const watcher = watch(folder, { persistent: false }, (_event, name) => {
          if (name === null || names.has(String(name))) this.trigger();
        });
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch {
        // Folder absent for now: the stat poll covers it.
      }
    }
  }

  /**
   * Collapses a burst of events (truncate, write, rename) into one read shortly after. The
   * wait restarts on each event but never past MAX_DEBOUNCE_MS from the burst's first event,
   * so a file that changes every few milliseconds is still read at least that often.
   */
  private trigger(): void {
    const now = performance.now();
    this.burstStartedAt ??= now;
    clearTimeout(this.debounce);
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, this.burstStartedAt + MAX_DEBOUNCE_MS - now));
    this.debounce = setTimeout(() => {
      this.burstStartedAt = undefined;
      void this.refresh('file-changed');
    }, wait);
    this.debounce.unref();
  }

  private async pollFiles(): Promise<void> {
    const parts = await Promise.all(
      this.init.files.map((file) =>
        stat(file).then(
          (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
          () => 'absent',
        ),
      ),
    );
    const signature = parts.join('|');
    if (signature !== this.lastSignature) {
      const first = this.lastSignature === '';
      this.lastSignature = signature;
      if (!first) this.trigger();
    }
  }
}
