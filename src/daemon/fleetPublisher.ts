import type { Clock } from '../clock.js';
import type { Settings } from '../config/settingsSchema.js';
import type { Logger } from '../log/createLogger.js';
import type { RequestCounters } from '../http/requestCounters.js';
import type { TrackerView } from '../tracker/types.js';
import { fleetMetricValues } from '../fleetMetrics/fleetMetricValues.js';
import { MetricsPublisher, type SendMetrics } from '../fleetMetrics/MetricsPublisher.js';

/** Refusals RequestsRefused counts: the caller or token was refused (403), or no credentials to give (503). */
const REFUSED = [403, 503] as const;

/**
 * The daemon's fleet-metrics publisher: the served tracker, the named roles and the refusals
 * since the last delivered batch, every metricsInterval.
 */
export function fleetPublisher(init: {
  settings: Settings;
  namespace: string;
  tracker: TrackerView;
  roles: ReadonlyMap<string, { tracker: TrackerView }>;
  counters: RequestCounters;
  clock: Clock;
  logger: Logger;
  send: (served: TrackerView) => SendMetrics;
  dimensions: () => Record<string, string>;
}): MetricsPublisher {
  let refusedBefore = 0;
  return new MetricsPublisher({
    clock: init.clock,
    logger: init.logger,
    intervalMs: init.settings.metricsInterval,
    describe: { format: init.settings.metricsFormat, namespace: init.namespace },
    send: init.send(init.tracker),
    collect: () => {
      const refused = init.counters.total(REFUSED);
      const data = fleetMetricValues({ tracker: init.tracker, roles: init.roles, refused: refused - refusedBefore, dimensions: init.dimensions(), now: init.clock.now() });
      return { data, sent: () => (refusedBefore = refused) };
    },
  });
}
