import type { Clock } from '../clock.js';
import type { Credentials, SourcedCredentials } from '../credentials.js';
import { AgentError, ExitCode } from '../errors.js';
import { credentialDigest as digestOf, maskKeyId } from '../credentials.js';
import type { Logger } from '../log/createLogger.js';
import type { AgentState, Generation, SourceFailure, TrackerTimings, TrackerView } from './types.js';

export interface TrackerInit {
  clock: Clock;
  timings: TrackerTimings;
  logger?: Logger;
  /** Commands that read the profile directly skip the network stage. */
  networkReady?: boolean;
  maxGenerations?: number;
  /**
   * A reading refused as torn that is read again, unchanged, at least this long after it was
   * first refused is a settled file, not a writer caught mid-write: it replaces the generation
   * it conflicts with on key id (that one was the torn set). The daemon passes settleTime.
   */
  conflictSettleMs?: number;
}

/**
 * The longest an AWS temporary credential lives (AssumeRole's maximum session, 12 h); a source
 * Expiration further ahead is capped to now + this, with a warning.
 */
export const MAX_LIFETIME_MS = 12 * 3_600_000;

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
  private readonly conflictSettleMs: number | undefined;
  private readonly history: Generation[] = [];
  private readonly listeners = new Set<() => void>();
  private networkReady: boolean;
  private failure: SourceFailure | undefined;
  private lastState: AgentState | undefined;
  private nextId = 1;
  /** The reading last refused as torn (a digest, never the secrets) and when, monotonic. */
  private conflict: { digest: string; since: number } | undefined;
  /** Per generation id: when it was first seen and when it expires, on the monotonic clock. */
  private readonly steady = new Map<number, { seenAt: number; expiresAt: number }>();

  constructor(init: TrackerInit) {
    this.clock = init.clock;
    // Only the four periods: callers may pass the whole settings object.
    const { refreshInterval, validity, refreshGrace, expiryWarning } = init.timings;
    this.timings = { refreshInterval, validity, refreshGrace, expiryWarning };
    this.logger = init.logger;
    this.networkReady = init.networkReady ?? false;
    this.maxGenerations = init.maxGenerations ?? 24;
    this.conflictSettleMs = init.conflictSettleMs;
  }

  setNetworkReady(ready: boolean): void {
    if (this.networkReady === ready) return;
    this.networkReady = ready;
    this.evaluate();
  }

  /**
   * Records credentials from a source; returns the generation they belong to. A reading that
   * shares some but not all of key id, secret and token with a known generation is a torn read
   * (an in-place writer caught mid-write): it is refused with a transient error, never served,
   * and the stored generation is left as it was.
   */
  observe(sourced: SourcedCredentials): Generation {
    const now = this.clock.now();
    const { credentials } = sourced;
    // A set STS accepted is whole by proof: whatever it conflicts with was the mix.
    const verified = sourced.verification?.verified === true;
    if (verified) this.dropConflicting(credentials);
    const torn = this.history.find((g) => isTornAgainst(g.credentials, credentials));
    if (torn && !this.conflictSettled(credentials)) {
      throw new AgentError(`a read mixed parts of two credential sets (it shares some but not all of key id, secret and token with generation ${torn.id}); reading again`, {
        exitCode: ExitCode.credentialsUnavailable,
        code: 'torn-read',
        transient: true,
      });
    }
    if (torn) this.dropTornSameKey(credentials);
    this.conflict = undefined;
    const index = this.history.findIndex((g) => g.credentials.accessKeyId === credentials.accessKeyId);
    const existing = this.history[index];
    const expiration = this.capExpiration(credentials.expiration, now, sourced.origin, existing);
    if (existing && (expiration === undefined || expiration.getTime() === existing.expiresAt)) {
      if (verified && !existing.verification?.verified) this.history[index] = { ...existing, verification: sourced.verification! };
      return this.recovered(this.history[index]!);
    }

    const firstSeenAt = existing?.firstSeenAt ?? Math.min(now, sourced.issuedAt?.getTime() ?? now);
    const expiresAt = expiration?.getTime() ?? firstSeenAt + this.timings.validity;
    const generation: Generation = {
      id: existing?.id ?? this.nextId++,
      credentials: { ...credentials, expiration: new Date(expiresAt) },
      firstSeenAt,
      expiresAt,
      origin: sourced.origin,
      ...(sourced.profile ? { profile: sourced.profile } : {}),
      expirySource: expiration ? 'source' : 'estimated',
      ...(sourced.verification ? { verification: sourced.verification } : {}),
    };
    // The same periods on the monotonic clock, so a wall clock stepped back cannot stretch them.
    const mono = this.monotonic();
    this.steady.set(generation.id, { seenAt: existing ? this.steady.get(existing.id)!.seenAt : mono - (now - firstSeenAt), expiresAt: mono + (expiresAt - now) });
    if (existing) {
      // Same credentials with a new Expiration from the source (a re-run credential_process).
      this.history[index] = generation;
    } else {
      this.history.push(generation);
      if (this.history.length > this.maxGenerations) this.steady.delete(this.history.shift()!.id);
      this.logger?.info(
        { generation: generation.id, keyId: maskKeyId(credentials.accessKeyId), expiresAt: new Date(expiresAt).toISOString(), expiry: generation.expirySource, origin: sourced.origin, ...(sourced.verification ? { verified: sourced.verification.verified } : {}) },
        'new credentials generation',
      );
    }
    this.recovered(generation);
    this.notify();
    return generation;
  }

  /**
   * Whether this conflicting reading has stayed the same for conflictSettleMs and brings a secret
   * and token never seen: the file holds it at rest, so the set it conflicts with on key id must
   * have been the mix (a torn first read, say). Without
   * a settle period configured a conflict is never settled (the old rule).
   */
  private conflictSettled(credentials: Credentials): boolean {
    const settleMs = this.conflictSettleMs;
    if (settleMs === undefined) return false;
    // An old secret or token under a new key id is the usual mix (key line written first): never
    // settled. Only a set whose secret and token are new to the agent can be the complete one.
    const reused = this.history.some((g) => g.credentials.secretAccessKey === credentials.secretAccessKey || (credentials.sessionToken !== undefined && g.credentials.sessionToken === credentials.sessionToken));
    if (reused) return false;
    const digest = digestOf(credentials);
    const mono = this.monotonic();
    if (this.conflict?.digest !== digest) {
      this.conflict = { digest, since: mono };
      return false;
    }
    return mono - this.conflict.since >= settleMs;
  }

  /** A generation sharing the key id of a settled reading but not its secret or token was torn: never the reference again. */
  private dropTornSameKey(credentials: Credentials): void {
    for (let i = this.history.length - 1; i >= 0; i -= 1) {
      const generation = this.history[i]!;
      if (generation.credentials.accessKeyId !== credentials.accessKeyId) continue;
      this.history.splice(i, 1);
      this.steady.delete(generation.id);
      this.logger?.warn(
        { generation: generation.id, keyId: maskKeyId(credentials.accessKeyId) },
        `generation ${generation.id} was a torn read (the settled file holds the same key id with another secret or token); replaced`,
      );
    }
  }

  /** Generations a verified set conflicts with were torn reads served unverified: never the reference again. */
  private dropConflicting(credentials: Credentials): void {
    for (let i = this.history.length - 1; i >= 0; i -= 1) {
      const generation = this.history[i]!;
      if (generation.verification?.verified || !isTornAgainst(generation.credentials, credentials)) continue;
      this.history.splice(i, 1);
      this.steady.delete(generation.id);
      this.logger?.warn(
        { generation: generation.id, keyId: maskKeyId(generation.credentials.accessKeyId) },
        `generation ${generation.id} mixed parts of a set STS has now verified (a torn read served unverified); dropped`,
      );
    }
  }

  /** AWS temporary credentials never live longer than MAX_LIFETIME_MS; a later Expiration is capped. */
  private capExpiration(expiration: Date | undefined, now: number, origin: string, existing: Generation | undefined): Date | undefined {
    if (!expiration || expiration.getTime() - now <= MAX_LIFETIME_MS) return expiration;
    // Seen before and capped then: keep that cap rather than push it forward on every re-run.
    if (existing && existing.expiresAt <= now + MAX_LIFETIME_MS) return new Date(existing.expiresAt);
    const capped = new Date(now + MAX_LIFETIME_MS);
    this.logger?.warn(
      { expiration: expiration.toISOString(), capped: capped.toISOString(), origin },
      `the source's Expiration ${expiration.toISOString()} is more than ${MAX_LIFETIME_MS / 3_600_000} h ahead; capped to ${capped.toISOString()}`,
    );
    return capped;
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
    if (this.remaining(current, now) <= this.timings.expiryWarning) return 'expiring';
    if (this.sinceRefresh() > this.timings.refreshInterval + this.timings.refreshGrace) return 'refresh-overdue';
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
    const remaining = this.remaining(current, now);
    const candidates = [
      remaining - this.timings.expiryWarning,
      remaining,
      this.timings.refreshInterval + this.timings.refreshGrace - this.sinceRefresh(),
    ].filter((ms) => ms > 0);
    return candidates.length > 0 ? Math.min(...candidates) + 1 : undefined;
  }

  /**
   * The newest unexpired generation. "Newest" is the order the agent observed them in (ids are
   * a sequence), never wall time, which can step back.
   */
  private currentAt(now: number): Generation | undefined {
    let best: Generation | undefined;
    for (const generation of this.history) {
      if (this.remaining(generation, now) <= 0) continue;
      if (!best || generation.id > best.id) best = generation;
    }
    return best;
  }

  /** Life left: by the wall clock and by the monotonic clock, whichever is shorter. */
  private remaining(generation: Generation, now: number): number {
    const steady = this.steady.get(generation.id);
    const wall = generation.expiresAt - now;
    return steady ? Math.min(wall, steady.expiresAt - this.monotonic()) : wall;
  }

  /** Time since the newest generation was first seen, on the monotonic clock. */
  private sinceRefresh(): number {
    const mono = this.monotonic();
    let newest = Number.NEGATIVE_INFINITY;
    for (const generation of this.history) newest = Math.max(newest, this.steady.get(generation.id)?.seenAt ?? Number.NEGATIVE_INFINITY);
    return mono - newest;
  }

  private monotonic(): number {
    return this.clock.monotonic?.() ?? this.clock.now();
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

/**
 * A real new generation changes key id, secret and token together; a reading that agrees with
 * a known set on some of them and differs on others mixes two sets.
 */
function isTornAgainst(known: Credentials, read: Credentials): boolean {
  const pairs: [string | undefined, string | undefined][] = [
    [known.accessKeyId, read.accessKeyId],
    [known.secretAccessKey, read.secretAccessKey],
    [known.sessionToken, read.sessionToken],
  ];
  const compared = pairs.filter(([a, b]) => a !== undefined && b !== undefined);
  const same = compared.filter(([a, b]) => a === b).length;
  return same > 0 && same < compared.length;
}
