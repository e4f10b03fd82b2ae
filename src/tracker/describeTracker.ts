import { printableLines } from '../terminalText.js';
import { maskKeyId } from '../credentials.js';
import { formatDuration } from '../config/duration.js';
import type { TrackerView } from './types.js';
import { DEFAULT_PROFILE } from '../agent/contract.js';
import type { PublisherReport } from '../fleetMetrics/MetricsPublisher.js';
import type { VerificationReport } from '../daemon/verifiedSource.js';
import { renderTimeline, type TimelineOptions } from './renderTimeline.js';

export interface StatusReport {
  state: string;
  mode: 'direct' | 'agent';
  /** The profile read: the configured one, or workspaces_machine_role as the fallback. */
  profile: string;
  /** True when the configured profile was absent and the fallback profile was read instead. */
  profileFallback?: boolean;
  current: GenerationReport | null;
  generations: GenerationReport[];
  lastRefreshAt: string | null;
  refreshDueAt: string | null;
  lastError: { code: string; message: string; at: string } | null;
  /** Direct mode with an agent running that could not be used: why (token unreadable, no answer). */
  agentProblem?: string;
  /** From the agent: each named role (setting roles), no secret. */
  roles?: Record<string, RoleStatus>;
  /** From the agent with metricsNamespace set: the fleet metrics publisher's counts and last error. */
  metrics?: PublisherReport;
  /** From the agent: verifyNewCredentials, whether it is active, and how many sets STS accepted or refused. */
  verification?: VerificationReport;
  /** Added by the `status` command: the caller's AppStream_* variables and region. */
  instance?: InstanceReport;
}

export interface RoleStatus {
  roleArn: string;
  state: string;
  expiresAt: string | null;
  expiresInSeconds: number | null;
  session: string | null;
  lastError: { code: string; message: string; at: string } | null;
}

export interface InstanceReport {
  region: string | null;
  /** Where the region came from: a setting's source, or AppStream_Image_Arn. */
  regionFrom: string | null;
  variables: Record<string, string>;
  /** Where each variable came from: 'environment' or the system variables file. */
  variablesFrom: Record<string, string>;
}

export interface GenerationReport {
  id: number;
  keyId: string;
  firstSeenAt: string;
  expiresAt: string;
  expiry: 'source' | 'estimated';
  expiresInSeconds: number;
  origin: string;
  /** From the agent: whether STS verified this set before it was served, and why not. */
  verification?: 'verified' | 'unverified';
  verificationDetail?: string;
}

/** The status shown by `status` and GET /v1/status: timings and masked key ids, no secret. */
export function describeTracker(tracker: TrackerView, now: number, meta: { profile: string; mode: 'direct' | 'agent' }): StatusReport {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const report = (g: ReturnType<TrackerView['generations']>[number]): GenerationReport => ({
    id: g.id,
    keyId: maskKeyId(g.credentials.accessKeyId),
    firstSeenAt: iso(g.firstSeenAt),
    expiresAt: iso(g.expiresAt),
    expiry: g.expirySource,
    expiresInSeconds: Math.round((g.expiresAt - now) / 1000),
    origin: g.origin,
    ...(g.verification ? { verification: g.verification.verified ? 'verified' : 'unverified', verificationDetail: g.verification.detail } : {}),
  });
  const current = tracker.current();
  const last = tracker.lastRefreshAt();
  const failure = tracker.lastFailure();
  const profile = (current ?? tracker.generations().at(-1))?.profile ?? meta.profile;
  return {
    state: tracker.state(),
    mode: meta.mode,
    profile,
    ...(profile !== meta.profile ? { profileFallback: true } : {}),
    current: current ? report(current) : null,
    generations: tracker.generations().map(report),
    lastRefreshAt: last === undefined ? null : iso(last),
    refreshDueAt: last === undefined ? null : iso(last + tracker.timings.refreshInterval),
    lastError: failure ? { code: failure.code, message: failure.message, at: iso(failure.at) } : null,
  };
}

/** The text `status` prints; with `timeline`, the generations drawn on a time axis below it. */
export function renderStatus(status: StatusReport, timeline?: TimelineOptions): string {
  const lines = [
    `state:        ${status.state}`,
    `profile:      ${status.profile} (${status.mode}${status.profileFallback ? `; no ${DEFAULT_PROFILE} profile, so the WorkSpaces profile ${status.profile}` : ''})`,
  ];
  if (status.current) {
    const c = status.current;
    lines.push(
      `credentials:  key ${c.keyId}, generation ${c.id}`,
      `expires:      ${c.expiresAt} (in ${formatDuration(c.expiresInSeconds * 1000)}${c.expiry === 'estimated' ? ', estimated' : ''})`,
      `source:       ${c.origin}`,
    );
    if (c.verification) lines.push(`verified:     ${c.verification === 'verified' ? 'yes' : 'no'} (${c.verificationDetail ?? c.verification})`);
  }
  if (status.verification) {
    const v = status.verification;
    const refusal = v.lastRefusal ? `; last refused: key ${v.lastRefusal.keyId} (${v.lastRefusal.code}) at ${v.lastRefusal.at}` : '';
    lines.push(`verification: ${v.detail}; ${v.verified} verified, ${v.refused} refused, ${v.unverified} unverified${refusal}`);
  }
  if (status.refreshDueAt) lines.push(`refresh due:  ${status.refreshDueAt}`);
  if (status.lastError) lines.push(`last error:   ${status.lastError.message}`);
  if (status.agentProblem) lines.push(`agent:        ${status.agentProblem}`);
  for (const [name, role] of Object.entries(status.roles ?? {})) {
    const expiry = role.expiresAt && role.expiresInSeconds !== null ? `, expires ${role.expiresAt} (in ${formatDuration(role.expiresInSeconds * 1000)})` : '';
    lines.push(`${`role ${name}:`.padEnd(13)} ${role.state}${expiry}${role.lastError ? `; last error: ${role.lastError.message}` : ''}`);
  }
  if (status.instance) {
    const i = status.instance;
    lines.push(`region:       ${i.region ? `${i.region} (from ${i.regionFrom})` : 'none configured (set region, AWS_REGION or AppStream_Image_Arn)'}`);
    const vars = Object.entries(i.variables).map(([name, value]) => `${name}=${value}`);
    lines.push(`instance:     ${vars.length > 0 ? vars.join(', ') : 'no AppStream_* variables found (not an AppStream instance?)'}`);
  }
  if (status.metrics) {
    const m = status.metrics;
    const last = m.lastPublishedAt ? `last ${m.lastPublishedAt}` : 'none yet';
    lines.push(`metrics:      ${m.format} ${m.namespace} every ${m.intervalSeconds}s: ${m.published} published (${last}), ${m.failures} failed${m.consecutiveFailures > 0 ? `, ${m.consecutiveFailures} in a row, next try ${m.nextAttemptAt}` : ''}`);
    if (m.lastError) lines.push(`metrics error: ${m.lastError.message} (${m.lastError.cause}, ${m.lastError.at})`);
  }
  // The last error names files and quotes their content; the timeline's colour codes are added after.
  const text = printableLines(lines.join('\n'));
  return `${timeline ? [text, ...renderTimeline(status, timeline)].join('\n') : text}\n`;
}
