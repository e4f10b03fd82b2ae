import type { Clock } from './clock.js';

export interface PollOptions<T> {
  clock: Clock;
  /** Absolute deadline (clock time). */
  deadline: number;
  /** One attempt: a value means done; undefined means try again. */
  attempt: () => Promise<T | undefined>;
  initialDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Called after each failed attempt, for progress output. */
  onWait?: (elapsedMs: number) => void;
}

/**
 * Polls with exponential backoff (capped) until the attempt yields a value or the deadline
 * passes. Returns undefined on timeout. No busy loop: it always sleeps between attempts.
 */
export async function pollUntil<T>(options: PollOptions<T>): Promise<T | undefined> {
  const { clock } = options;
  const started = clock.now();
  let delay = options.initialDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 1_000;
  for (;;) {
    const value = await options.attempt();
    if (value !== undefined) return value;
    const now = clock.now();
    if (now >= options.deadline || options.signal?.aborted) return undefined;
    options.onWait?.(now - started);
    await clock.sleep(Math.min(delay, options.deadline - now), options.signal);
    delay = Math.min(delay * 2, maxDelay);
  }
}
