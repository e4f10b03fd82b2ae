import { finding, type Finding } from '../findings.js';
import { isAgentError } from '../errors.js';
import { maskKeyId } from '../credentials.js';
import { formatDuration } from '../config/duration.js';
import { classifyReading } from '../tracker/classifyReading.js';
import type { DoctorContext, DoctorDeps } from './types.js';
import type { StatusReport } from '../tracker/describeTracker.js';

/** The profile (found, which form) and the credentials it yields (expiry, refresh). */
export async function checkCredentials(deps: DoctorDeps, context: DoctorContext): Promise<Finding[]> {
  const { settings, clock } = deps;
  let sourced;
  try {
    sourced = await deps.source();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = isAgentError(error) ? error.code : 'source-error';
    const fix =
      code === 'profile-missing'
        ? `AppStream (Amazon WorkSpaces Applications) writes profile ${settings.profile} (WorkSpaces Pools: workspaces_machine_role) once the fleet or image builder has an IAM role; check the role is attached, or point AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE (or the homeDirs setting) at the file that holds it`
        : code === 'profile-untrusted'
          ? 'see the untrusted-profile finding: give the file to root (or the image builder admin) and make it and its folders writable by nobody else'
          : code === 'recursion'
          ? `the profile's credential_process must not run appstream-creds credential-process on ${settings.profile}; point it at AppStream's own helper`
          : 'repair or remove the file named in the message; AppStream rewrites it at the next refresh';
    return [finding('error', code, 'profile', message, fix)];
  }
  const { observed: generation, state } = classifyReading({ sourced }, { clock, timings: settings });
  const fellBack = sourced.profile !== undefined && sourced.profile !== settings.profile;
  const findings: Finding[] = [
    fellBack
      ? finding('info', 'workspaces-profile', 'profile', `no ${settings.profile} profile; using ${sourced.profile} (the name WorkSpaces Pools writes): ${sourced.origin}`, 'none needed; pass --profile to pick one explicitly')
      : finding('info', 'ok', 'profile', `found: ${sourced.origin}`, 'none needed'),
  ];
  // With an agent running on the same profile, its judgement is the one scripts live with:
  // report that, so doctor and status never disagree about the same credentials.
  if (state !== 'expired') context.credentials = generation.credentials; // for the STS identity check
  const served = await deps.agentStatus?.().catch(() => undefined);
  if (served?.current && served.current.origin === sourced.origin) return [...findings, ...judgedByAgent(served, deps)];
  const remaining = generation.expiresAt - clock.now();
  const key = maskKeyId(generation.credentials.accessKeyId);
  const when = `${new Date(generation.expiresAt).toISOString()}${generation.expirySource === 'estimated' ? ' (estimated from the file time + validity)' : ''}`;
  if (state === 'expired') {
    findings.push(
      finding('error', 'expired', 'credentials', `key ${key} expired at ${when}`, 'AppStream has stopped refreshing the profile: check the fleet role and the AppStream agent; restart the instance if it persists'),
    );
    return findings;
  }
  if (state === 'expiring') {
    findings.push(finding('warning', 'expiring', 'credentials', `key ${key} expires in ${formatDuration(remaining)} at ${when}`, 'expect a refresh shortly; if none comes, check the AppStream agent and the fleet role'));
  } else if (state === 'refresh-overdue') {
    findings.push(finding('warning', 'refresh-overdue', 'credentials', `no new credentials for ${formatDuration(clock.now() - generation.firstSeenAt)} (refresh every ${formatDuration(settings.refreshInterval)})`, 'check that AppStream still refreshes the profile; the current keys stay valid until they expire'));
  } else {
    findings.push(finding('info', 'ok', 'credentials', `key ${key} valid for ${formatDuration(remaining)}, until ${when}`, 'none needed'));
  }
  return findings;
}

/** The credentials finding from the agent's own status report (the same one `status` prints). */
function judgedByAgent(report: StatusReport, deps: DoctorDeps): Finding[] {
  const c = report.current!;
  const remaining = Date.parse(c.expiresAt) - deps.clock.now();
  const when = `${c.expiresAt}${c.expiry === 'estimated' ? ' (estimated from the file time + the agent\'s validity)' : ''}`;
  const by = `as the running agent serves it (generation ${c.id})`;
  if (report.state === 'expiring') return [finding('warning', 'expiring', 'credentials', `key ${c.keyId} expires in ${formatDuration(remaining)} at ${when}, ${by}`, 'expect a refresh shortly; if none comes, check the AppStream agent and the fleet role')];
  if (report.state === 'refresh-overdue') return [finding('warning', 'refresh-overdue', 'credentials', `no new credentials since ${report.lastRefreshAt ?? 'start'}, ${by}`, 'check that AppStream still refreshes the profile; the current keys stay valid until they expire')];
  return [finding('info', 'ok', 'credentials', `key ${c.keyId} valid for ${formatDuration(remaining)}, until ${when}, ${by}`, 'none needed')];
}
