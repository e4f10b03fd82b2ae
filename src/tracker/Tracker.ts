import type { Clock } from '../clock.js';
import type { SourcedCredentials } from '../credentials.js';
import { maskKeyId } from '../credentials.js';
import type { Logger } from '../log/createLogger.js';
import type { AgentState, Generation, SourceFailure, TrackerTimings, TrackerView } from './types.js';

export interface TrackerInit {
  clock: Clock;
  timings: TrackerTimings;
  logger?: Logger;
  /** Commands that read the profile directly skip the network stage. */
  networkReady?: boolean;
  maxGenerations?: number;
}

const LEVEL: Record<AgentState, 'info' | 'warn' | 'error'> = {
  'waiting-for-network': 'info',
  'waiting-for-credentials': 'info',
  ready: 'info',
  'refresh-overdue': 'warn',
  expiring: 'warn',
  expired: 'error',
};

/**
 * Keeps the generations of credentials seen, keyed by access key id, and derives the state
 * from them and the injected clock. State is computed, never stored, so it cannot go stale;
 * `evaluate()` logs each transition once.
 */
export class Tracker implements TrackerView {
  readonly timings: Readonly<TrackerTimings>;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly maxGenerations: number;
  private readonly history: Generation[] = [];
  private readonly listeners = new Set<() => void>();
  private networkReady: boolean;
  private failure: SourceFailure | undefined;
  private lastState: AgentState | undefined;
  private nextId = 1;

  constructor(init: TrackerInit) {
    this.clock = init.clock;
    // Only the four periods: callers may pass the whole settings object.
    const { refreshInterval, validity, refreshGrace, expiryWarning } = init.timings;
    this.timings = { refreshInterval, validity, refreshGrace, expiryWarning };
    this.logger = init.logger;
    this.networkReady = init.networkReady ?? false;
    this.maxGenerations = init.maxGenerations ?? 24;
  }

  setNetworkReady(ready: boolean): void {
    if (this.networkReady === ready) return;
    this.networkReady = ready;
    this.evaluate();
  }

  /** Records credentials from a source; returns the generation they belong to. */
  observe(sourced: SourcedCredentials): Generation {
    const now = this.clock.now();
    const { credentials } = sourced;
    const index = this.history.findIndex((g) => g.credentials.accessKeyId === credentials.accessKeyId);
    const existing = this.history[index];
    if (existing && sameSecret(existing, sourced)) return this.recovered(existing);

    const firstSeenAt = existing?.firstSeenAt ?? Math.min(now, sourced.issuedAt?.getTime() ?? now);
    const expiresAt = credentials.expiration?.getTime() ?? firstSeenAt + this.timings.validity;
    const generation: Generation = {
      id: existing?.id ?? this.nextId++,
      credentials: { ...credentials, expiration: new Date(expiresAt) },
      firstSeenAt,
      expiresAt,
      origin: sourced.origin,
      ...(sourced.profile ? { profile: sourced.profile } : {}),
      expirySource: credentials.expiration ? 'source' : 'estimated',
    };
    if (existing) {
      this.history[index] = generation;
      // The same key id with another secret means an earlier read caught a torn write.
      const torn = existing.credentials.secretAccessKey !== credentials.secretAccessKey || existing.credentials.sessionToken !== credentials.sessionToken;
      if (torn) this.logger?.warn({ generation: generation.id, keyId: maskKeyId(credentials.accessKeyId) }, 'known key id came back with a different secret or token; replacing it');
    } else {
      this.history.push(generation);
      if (this.history.length > this.maxGenerations) this.history.shift();
      this.logger?.info(
        { generation: generation.id, keyId: maskKeyId(credentials.accessKeyId), expiresAt: new Date(expiresAt).toISOString(), expiry: generation.expirySource, origin: sourced.origin },
        'new credentials generation',
      );
    }
    this.recovered(generation);
    this.notify();
    return generation;
  }

  /** Records a source failure; logged once per distinct failure, not on every poll. */
  reportFailure(failure: { code: string; message: string }): void {
    const previous = this.failure;
    this.failure = { code: failure.code, message: failure.message, at: this.clock.now() };
    if (previous?.code !== failure.code || previous.message !== failure.message) {
      const keeping = this.current();
      this.logger?.warn(
        { code: failure.code, keeping: keeping ? maskKeyId(keeping.credentials.accessKeyId) : null },
        `credential source failed: ${failure.message}${keeping ? '; keeping the last good credentials' : ''}`,
      );
    }
    this.evaluate();
  }

  state(): AgentState {
    const now = this.clock.now();
    const current = this.currentAt(now);
    if (!current) {
      if (!this.networkReady) return 'waiting-for-network';
      return this.history.length === 0 ? 'waiting-for-credentials' : 'expired';
    }
    if (current.expiresAt - now <= this.timings.expiryWarning) return 'expiring';
    const newest = this.lastRefreshAt() ?? current.firstSeenAt;
    if (now - newest > this.timings.refreshInterval + this.timings.refreshGrace) return 'refresh-overdue';
    return 'ready';
  }

  current(): Generation | undefined {
    return this.currentAt(this.clock.now());
  }

  generations(): readonly Generation[] {
    return this.history;
  }

  lastFailure(): SourceFailure | undefined {
    return this.failure;
  }

  lastRefreshAt(): number | undefined {
    return this.history.reduce<number | undefined>((max, g) => (max === undefined || g.firstSeenAt > max ? g.firstSeenAt : max), undefined);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Recomputes the state and logs a transition once; call from timers and after events. */
  evaluate(): AgentState {
    const state = this.state();
    if (state !== this.lastState) {
      const previous = this.lastState;
      this.lastState = state;
      const current = this.current();
      this.logger?.[LEVEL[state]](
        {
          state,
          previous: previous ?? null,
          keyId: current ? maskKeyId(current.credentials.accessKeyId) : null,
          expiresAt: current ? new Date(current.expiresAt).toISOString() : null,
        },
        `state ${previous ?? 'start'} -> ${state}`,
      );
      this.notify();
    }
    return state;
  }

  /** Milliseconds until the state could next change on its own (for scheduling evaluate). */
  nextChangeIn(): number | undefined {
    const now = this.clock.now();
    const current = this.currentAt(now);
    if (!current) return undefined;
    const newest = this.lastRefreshAt() ?? current.firstSeenAt;
    const candidates = [
      current.expiresAt - this.timings.expiryWarning - now,
      current.expiresAt - now,
      newest + this.timings.refreshInterval + this.timings.refreshGrace - now,
    ].filter((ms) => ms > 0);
    return candidates.length > 0 ? Math.min(...candidates) + 1 : undefined;
  }

  private currentAt(now: number): Generation | undefined {
    let best: Generation | undefined;
    for (const generation of this.history) {
      if (generation.expiresAt <= now) continue;
      if (!best || generation.firstSeenAt > best.firstSeenAt || (generation.firstSeenAt === best.firstSeenAt && generation.id > best.id)) best = generation;
    }
    return best;
  }

  private recovered(generation: Generation): Generation {
    if (this.failure) {
      this.logger?.info({ code: this.failure.code }, 'credential source recovered');
      this.failure = undefined;
    }
    this.evaluate();
    return generation;
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

function sameSecret(generation: Generation, sourced: SourcedCredentials): boolean {
  const a = generation.credentials;
  const b = sourced.credentials;
  return a.secretAccessKey === b.secretAccessKey && a.sessionToken === b.sessionToken && (b.expiration === undefined || b.expiration.getTime() === generation.expiresAt);
}
