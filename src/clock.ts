/** Time as the pipeline sees it. Tests inject a fake one to drive hours in milliseconds. */
export interface Clock {
  now(): number;
  /**
   * Milliseconds on a clock that never steps (periods, ages). Optional: fake clocks that only
   * move forward may leave it out, and now() is used instead.
   */
  monotonic?(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};
