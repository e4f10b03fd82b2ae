import type { Clock } from '../clock.js';
import type { RoleSettings } from '../config/roleSettings.js';
import type { Settings } from '../config/settingsSchema.js';
import type { Credentials } from '../credentials.js';
import { AgentError, ExitCode } from '../errors.js';
import type { TemplateValues } from '../identity/templateIdentity.js';
import type { Logger } from '../log/createLogger.js';
import { assumedRoleSource } from '../sources/assumedRoleSource.js';
import { DEFAULT_ROLE_SECONDS } from '../sources/roleRequest.js';
import { Tracker } from '../tracker/Tracker.js';
import type { TrackerView } from '../tracker/types.js';
import type { RoleStatus } from '../tracker/describeTracker.js';
import { CredentialRefresher } from './CredentialRefresher.js';

export interface RoleRefreshersInit {
  roles: ReadonlyMap<string, RoleSettings>;
  settings: Pick<Settings, 'region' | 'stsEndpoint' | 'refreshGrace' | 'expiryWarning'>;
  /** The machine role's tracker: each role is assumed from its current generation. */
  machine: TrackerView;
  identity: () => TemplateValues;
  clock: Clock;
  logger: Logger;
  /** The agent's environment: HTTPS_PROXY / HTTP_PROXY / NO_PROXY for AssumeRole. */
  env: Readonly<Record<string, string | undefined>>;
}

export interface RoleEntry {
  readonly name: string;
  readonly role: RoleSettings;
  readonly tracker: TrackerView;
}

const NO_MACHINE = (): AgentError =>
  new AgentError('the machine role has no valid credentials to assume the role with (yet)', { exitCode: ExitCode.credentialsUnavailable, code: 'machine-role-unavailable', transient: true });

/**
 * One tracker and refresher per named role. A role is assumed from the machine role's current
 * generation, again at half its life and whenever the machine role rotates; never on the
 * request path (the route answers from the role's tracker). A failure keeps the last good
 * credentials until they expire and is logged once per distinct failure.
 */
export class RoleRefreshers {
  readonly entries: ReadonlyMap<string, RoleEntry>;
  private readonly refreshers: CredentialRefresher[] = [];
  private readonly trackers: Tracker[] = [];
  private unsubscribe: (() => void) | undefined;
  private machineGeneration: number | undefined;

  constructor(private readonly init: RoleRefreshersInit) {
    const entries = new Map<string, RoleEntry & { tracker: Tracker; refresher: CredentialRefresher }>();
    const base = async (): Promise<Credentials> => {
      const current = init.machine.current();
      if (!current) throw NO_MACHINE();
      return current.credentials;
    };
    for (const [name, role] of init.roles) {
      const lifeMs = (role.duration ?? DEFAULT_ROLE_SECONDS) * 1000;
      const logger = init.logger.child({ role: name });
      const tracker = new Tracker({
        clock: init.clock,
        logger,
        networkReady: true,
        // Refreshed at half its life: overdue when a quarter more has passed without success.
        timings: { refreshInterval: lifeMs / 2, validity: lifeMs, refreshGrace: Math.min(init.settings.refreshGrace, lifeMs / 4), expiryWarning: Math.min(init.settings.expiryWarning, lifeMs / 4) },
      });
      const source = assumedRoleSource(base, { name, role, identity: init.identity, region: init.settings.region, endpoint: init.settings.stsEndpoint, env: init.env });
      const refresher = new CredentialRefresher({ source: source.resolve, tracker, clock: init.clock, logger, files: [], refreshInterval: lifeMs / 2, freshWindowMs: lifeMs / 2, maxBackoffMs: 30_000 });
      entries.set(name, { name, role, tracker, refresher });
      this.refreshers.push(refresher);
      this.trackers.push(tracker);
    }
    this.entries = entries;
  }

  /** Assumes every role now, then follows the machine role's rotations. */
  async start(): Promise<void> {
    this.machineGeneration = this.init.machine.current()?.id;
    this.unsubscribe = this.init.machine.subscribe(() => {
      const id = this.init.machine.current()?.id;
      if (id === undefined || id === this.machineGeneration) return;
      this.machineGeneration = id;
      for (const refresher of this.refreshers) void refresher.refresh('machine-role-rotated');
    });
    await Promise.all(this.refreshers.map((refresher) => refresher.start()));
  }

  /** Logs each role's state transitions that time alone caused (expiring, expired); the daemon's state timer calls it. */
  evaluate(): void {
    for (const tracker of this.trackers) tracker.evaluate();
  }

  stop(): void {
    this.unsubscribe?.();
    for (const refresher of this.refreshers) refresher.stop();
  }

  /** Per role, for /v1/status: state, expiry, last error; never a secret. */
  report(now: number): Record<string, RoleStatus & { generations: number; lastRefreshAt: string | null }> {
    const out: Record<string, RoleStatus & { generations: number; lastRefreshAt: string | null }> = {};
    for (const { name, role, tracker } of this.entries.values()) {
      const current = tracker.current();
      const failure = tracker.lastFailure();
      out[name] = {
        roleArn: role.roleArn,
        state: tracker.state(),
        expiresAt: current ? new Date(current.expiresAt).toISOString() : null,
        expiresInSeconds: current ? Math.round((current.expiresAt - now) / 1000) : null,
        session: current?.origin ?? null,
        generations: tracker.generations().length,
        lastRefreshAt: tracker.lastRefreshAt() === undefined ? null : new Date(tracker.lastRefreshAt()!).toISOString(),
        lastError: failure ? { code: failure.code, message: failure.message, at: new Date(failure.at).toISOString() } : null,
      };
    }
    return out;
  }
}
