import type { Logger } from '../log/createLogger.js';
import type { MetricDatum } from './fleetMetricValues.js';
import type { SendMetrics } from './MetricsPublisher.js';

/**
 * One interval's values as CloudWatch Embedded Metric Format objects, one per dimension set
 * (the role values carry a Role dimension). The CloudWatch agent turns each log line holding
 * `_aws` into metrics; no AWS call is made by the agent itself.
 */
export function emfObjects(namespace: string, data: readonly MetricDatum[], now: number): Array<Record<string, unknown>> {
  const groups = new Map<string, MetricDatum[]>();
  for (const d of data) {
    const key = JSON.stringify(Object.entries(d.dimensions));
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  return [...groups.values()].map((group) => {
    const dimensions = group[0]!.dimensions;
    return {
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: group.map((d) => ({ Name: d.name, Unit: d.unit })) }],
      },
      ...dimensions,
      ...Object.fromEntries(group.map((d) => [d.name, d.value])),
    };
  });
}

/** Writes the values as EMF lines to the agent's log (JSON in service mode, logDir). */
export function toEmfLog(init: { namespace: string; logger: Logger; clock: { now(): number } }): SendMetrics {
  return async (data) => {
    for (const object of emfObjects(init.namespace, data, init.clock.now())) init.logger.info(object, 'fleet metrics (EMF)');
  };
}
