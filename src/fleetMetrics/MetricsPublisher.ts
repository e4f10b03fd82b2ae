import type { Clock } from '../clock.js';
import type { Logger } from '../log/createLogger.js';
import type { MetricDatum } from './fleetMetricValues.js';

/** Delivers one interval's values: one PutMetricData call, or one EMF log line. */
export type SendMetrics = (data: readonly MetricDatum[], signal: AbortSignal) => Promise<void>;

export interface PublisherInit {
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  /** This interval's values; `sent` is called once they were delivered (RequestsRefused's baseline). */
  collect: () => { data: MetricDatum[]; sent?: () => void };
  send: SendMetrics;
  /** How long one send may take before it counts as failed (default: the interval, kept within 3–10 s: a loaded endpoint gets 3 s even at a 1 s interval). */
  timeoutMs?: number;
  /** For status: 'cloudwatch' or 'emf', and the namespace. */
  describe: { format: string; namespace: string };
}

/** The publisher's part of `status` (GET /v1/status `metrics`). */
export interface PublisherReport {
  format: string;
  namespace: string;
  intervalSeconds: number;
  published: number;
  failures: number;
  consecutiveFailures: number;
  lastPublishedAt: string | null;
  nextAttemptAt: string | null;
  lastError: { cause: string; message: string; at: string } | null;
}

/** Backoff after failures stops growing here: a fleet alarm still sees data within the quarter hour. */
export const MAX_BACKOFF_MS = 15 * 60_000;

/** A failure's cause, the unit "logged once" counts in: the same cause again is not logged again. */
export function failureCause(error: unknown): { cause: string; message: string } {
  const e = error as Error & { code?: string; Code?: string; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  const name = e?.name || e?.Code || '';
  // An answer the client could not parse (an XML or HTML 403 from an endpoint or proxy) still has its status.
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  const raw = String(e?.message ?? error);
  // Service messages carry no secret, but may carry control characters; keep them short.
  const message = raw.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 300);
  if (/AccessDenied|not authorized/i.test(name) || /not authorized to perform/i.test(raw) || status === 403) return { cause: 'access-denied', message: `CloudWatch refused PutMetricData (${name || 'AccessDenied'}): the fleet role needs the statement \`appstream-creds policy fleet-metrics\` prints${status === 403 && !/AccessDenied/i.test(name) ? ' (HTTP 403)' : ''}` };
  if (/Throttl|TooManyRequests|RequestLimitExceeded/i.test(name) || status === 429) return { cause: 'throttled', message: `CloudWatch throttled PutMetricData (${name})` };
  if (name === 'TimeoutError' || name === 'AbortError' || /timed? ?out/i.test(raw)) return { cause: 'timeout', message: `CloudWatch did not answer in time (${message})` };
  const code = e?.code ?? /\b(E[A-Z]{4,})\b/.exec(raw)?.[1];
  if (code && /^E[A-Z]+$/.test(code)) return { cause: `unreachable-${code}`, message: `CloudWatch is unreachable (${code})` };
  if (name === 'no-credentials') return { cause: 'no-credentials', message };
  return { cause: `error-${name || 'unknown'}`, message: `PutMetricData failed (${name ? `${name}: ` : ''}${message})` };
}

/**
 * Publishes the agent's health every interval, one batch per interval. Nothing here touches
 * serving: a send runs after the request path's work, is cut off after `timeoutMs`, and its
 * failure only delays the next attempt (doubling, up to MAX_BACKOFF_MS) and shows in status.
 */
export class MetricsPublisher {
  private readonly stopping = new AbortController();
  private published = 0;
  private failures = 0;
  private consecutive = 0;
  private lastPublishedAt: number | undefined;
  private nextAttemptAt: number | undefined;
  private lastError: { cause: string; message: string; at: number } | undefined;
  /** Causes already logged since the last success. */
  private readonly logged = new Set<string>();
  private loop: Promise<void> | undefined;

  constructor(private readonly init: PublisherInit) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let delay = this.init.intervalMs;
    while (!this.stopping.signal.aborted) {
      this.nextAttemptAt = this.init.clock.now() + delay;
      await this.init.clock.sleep(delay, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      delay = await this.publishOnce();
    }
  }

  /** One attempt; returns how long to wait before the next one. */
  async publishOnce(): Promise<number> {
    const { clock, logger, intervalMs } = this.init;
    const { data, sent } = this.init.collect();
    const timeoutMs = this.init.timeoutMs ?? Math.min(Math.max(intervalMs, 3_000), 10_000);
    // Cut off after timeoutMs, or at once when the agent stops: shutdown never waits on CloudWatch.
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(), timeoutMs);
    const onStop = (): void => attempt.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    try {
      await Promise.race([
        this.init.send(data, attempt.signal),
        new Promise<never>((_, reject) => attempt.signal.addEventListener('abort', () => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })), { once: true })),
      ]);
    } catch (error) {
      if (this.stopping.signal.aborted) return intervalMs; // cut off by the stop, not a failure
      const { cause, message } = failureCause(error);
      this.failures += 1;
      this.consecutive += 1;
      this.lastError = { cause, message, at: clock.now() };
      const delay = Math.max(intervalMs, Math.min(intervalMs * 2 ** this.consecutive, MAX_BACKOFF_MS));
      if (!this.logged.has(cause)) logger.warn({ cause, retryInMs: delay }, `fleet metrics not published: ${message}; retrying with backoff (logged once per cause)`);
      this.logged.add(cause);
      return delay;
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
    sent?.();
    this.published += 1;
    this.lastPublishedAt = clock.now();
    if (this.consecutive > 0) logger.info({ after: this.consecutive }, 'fleet metrics published again');
    this.consecutive = 0;
    this.logged.clear();
    return intervalMs;
  }

  report(): PublisherReport {
    const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      ...this.init.describe,
      intervalSeconds: Math.round(this.init.intervalMs / 1000),
      published: this.published,
      failures: this.failures,
      consecutiveFailures: this.consecutive,
      lastPublishedAt: iso(this.lastPublishedAt),
      nextAttemptAt: iso(this.nextAttemptAt),
      lastError: this.lastError ? { ...this.lastError, at: new Date(this.lastError.at).toISOString() } : null,
    };
  }
}
