import type { Clock } from '../../src/clock.js';

/**
 * A Clock for unit tests: time stands still until something sleeps or the test calls
 * advance(). sleep() moves time forward by the requested amount at once (no real waiting)
 * and records the request, so tests can check backoff and count polls per simulated window.
 */
export interface FakeClock extends Clock {
  /** Moves time forward without anybody sleeping (e.g. "3 s pass between two events"). */
  advance(ms: number): void;
  /** Every sleep() request, in order, as asked for (before any abort). */
  readonly sleeps: readonly number[];
  /** Total time the code under test actually slept through (aborted sleeps count 0). */
  sleptMs(): number;
}

export function createFakeClock(start = 0): FakeClock {
  let now = start;
  let slept = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    sleptMs: () => slept,
    advance(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(${ms}): time only moves forward`);
      now += ms;
    },
    async sleep(ms: number, signal?: AbortSignal): Promise<void> {
      sleeps.push(ms);
      // Like the system clock: an aborted signal ends the sleep at once.
      if (signal?.aborted) return;
      now += Math.max(0, ms);
      slept += Math.max(0, ms);
      // Yield once so the caller cannot rely on sleep() being synchronous.
      await Promise.resolve();
    },
  };
}
