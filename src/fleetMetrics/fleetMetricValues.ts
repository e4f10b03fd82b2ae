import type { TrackerView } from '../tracker/types.js';
import type { AppStreamIdentity } from '../identity/appStreamIdentity.js';

/** One value of one metric, in CloudWatch's terms (name, unit, dimensions). */
export interface MetricDatum {
  name: string;
  value: number;
  unit: 'Seconds' | 'Count';
  dimensions: Readonly<Record<string, string>>;
}

/** The metric names, documented in README "Fleet view" and docs/contract.md. */
export const FLEET_METRICS = {
  remaining: 'CredentialsRemainingSeconds',
  overdue: 'RefreshOverdue',
  expired: 'Expired',
  refused: 'RequestsRefused',
  roleRemaining: 'RoleCredentialsRemainingSeconds',
} as const;

/**
 * The dimensions every value carries: the fleet or image builder (AppStream_Resource_Name), its
 * type and the stack when known. No per-instance dimension unless asked: each instance would be
 * a metric series of its own, billed, living only as long as the instance.
 */
export function fleetDimensions(identity: AppStreamIdentity, instance: string | undefined): Record<string, string> {
  return {
    ...(identity.resourceName ? { ResourceName: identity.resourceName } : {}),
    ...(identity.resourceType ? { ResourceType: identity.resourceType } : {}),
    ...(identity.stackName ? { Stack: identity.stackName } : {}),
    ...(instance ? { Instance: instance } : {}),
  };
}

const remainingSeconds = (tracker: TrackerView, now: number): number => {
  const current = tracker.current();
  // No usable credentials counts as none left, so a "below 15 minutes" alarm fires on it too.
  return current ? Math.max(0, Math.round((current.expiresAt - now) / 1000)) : 0;
};

/** One interval's values: what is served now, and what was refused since the last publish. */
export function fleetMetricValues(input: {
  tracker: TrackerView;
  roles: ReadonlyMap<string, { tracker: TrackerView }>;
  refused: number;
  dimensions: Readonly<Record<string, string>>;
  now: number;
}): MetricDatum[] {
  const { tracker, dimensions, now } = input;
  const state = tracker.state();
  const data: MetricDatum[] = [
    { name: FLEET_METRICS.remaining, value: remainingSeconds(tracker, now), unit: 'Seconds', dimensions },
    { name: FLEET_METRICS.overdue, value: state === 'refresh-overdue' ? 1 : 0, unit: 'Count', dimensions },
    { name: FLEET_METRICS.expired, value: state === 'expired' ? 1 : 0, unit: 'Count', dimensions },
    { name: FLEET_METRICS.refused, value: input.refused, unit: 'Count', dimensions },
  ];
  for (const [name, role] of input.roles) {
    data.push({ name: FLEET_METRICS.roleRemaining, value: remainingSeconds(role.tracker, now), unit: 'Seconds', dimensions: { ...dimensions, Role: name } });
  }
  return data;
}
