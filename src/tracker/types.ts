import type { Credentials, Verification } from '../credentials.js';

export const STATES = [
  'waiting-for-network',
  'waiting-for-credentials',
  'ready',
  'refresh-overdue',
  'expiring',
  'expired',
] as const;
export type AgentState = (typeof STATES)[number];

export interface Generation {
  /** 1, 2, 3… in order of first sight. */
  readonly id: number;
  /** Credentials with `expiration` always set (source's, else firstSeen + validity). */
  readonly credentials: Credentials & { readonly expiration: Date };
  readonly firstSeenAt: number;
  readonly expiresAt: number;
  readonly origin: string;
  /** The profile read (appstream_machine_role, or workspaces_machine_role as the fallback). */
  readonly profile?: string;
  /** Whether the expiry came from the source or was estimated from `validity`. */
  readonly expirySource: 'source' | 'estimated';
  /** What STS said before it was served (the agent's verifyNewCredentials); absent where nothing checks. */
  readonly verification?: Verification;
}

export interface SourceFailure {
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

export interface TrackerTimings {
  refreshInterval: number;
  validity: number;
  refreshGrace: number;
  expiryWarning: number;
}

/** The read-only face that serve/ and cli/ depend on; they never see sources/. */
export interface TrackerView {
  state(): AgentState;
  /** The newest unexpired generation, or undefined: never an expired one. */
  current(): Generation | undefined;
  generations(): readonly Generation[];
  lastFailure(): SourceFailure | undefined;
  /** When the newest generation was first seen. */
  lastRefreshAt(): number | undefined;
  /** Called whenever current() may have changed (new generation, expiry, state change). */
  subscribe(listener: () => void): () => void;
  readonly timings: Readonly<TrackerTimings>;
}
