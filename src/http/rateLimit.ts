import type { Clock } from '../clock.js';

/**
 * A token bucket: up to `burst` at once, refilled at `perSecond`. `take()` says whether one
 * more may start now. It bounds what unauthenticated callers (IMDS has no secret before the
 * caller check) can make the agent do per second, whatever they send.
 */
export function tokenBucket(init: { perSecond: number; burst: number; clock: Pick<Clock, 'now' | 'monotonic'> }): () => boolean {
  const now = (): number => init.clock.monotonic?.() ?? init.clock.now();
  let tokens = init.burst;
  let at = now();
  return () => {
    const t = now();
    tokens = Math.min(init.burst, tokens + ((t - at) / 1000) * init.perSecond);
    at = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}
