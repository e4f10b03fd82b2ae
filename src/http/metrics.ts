import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { STATES, type TrackerView } from '../tracker/types.js';
import type { RequestCounters } from './requestCounters.js';

/**
 * Prometheus metrics through prom-client. Every value is computed at scrape time from the
 * tracker and the request counters, so nothing on the request path touches prom-client.
 */
export async function createMetrics(tracker: TrackerView, counters: RequestCounters, clock: Clock, roles?: ReadonlyMap<string, { tracker: TrackerView }>): Promise<Registry> {
  const client = await import('prom-client');
  const registry = new client.Registry();
  const seconds = (ms: number): number => Math.round(ms) / 1000;
  new client.Gauge({
    name: 'appstream_creds_state',
    help: 'Current agent state (1 for the active state)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const state = tracker.state();
      for (const s of STATES) this.set({ state: s }, s === state ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'appstream_creds_seconds_to_expiry',
    help: 'Seconds until the served credentials expire (0 when none)',
    registers: [registry],
    collect() {
      const current = tracker.current();
      this.set(current ? seconds(current.expiresAt - clock.now()) : 0);
    },
  });
  new client.Gauge({
    name: 'appstream_creds_served_verification',
    help: 'Whether STS verified the served credentials before they were served (1 for the active value; none = nothing served)',
    labelNames: ['verification'],
    registers: [registry],
    collect() {
      const current = tracker.current();
      const value = !current ? 'none' : current.verification?.verified ? 'verified' : 'unverified';
      for (const v of ['verified', 'unverified', 'none']) this.set({ verification: v }, v === value ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'appstream_creds_seconds_since_refresh',
    help: 'Seconds since the newest generation was first seen (-1 before any)',
    registers: [registry],
    collect() {
      const last = tracker.lastRefreshAt();
      this.set(last === undefined ? -1 : seconds(clock.now() - last));
    },
  });
  new client.Gauge({
    name: 'appstream_creds_generations_seen',
    help: 'Credential generations seen since start (bounded history)',
    registers: [registry],
    collect() {
      this.set(tracker.generations().reduce((max, g) => Math.max(max, g.id), 0));
    },
  });
  if (roles && roles.size > 0) {
    new client.Gauge({
      name: 'appstream_creds_role_state',
      help: 'State of each named role (1 for the active state)',
      labelNames: ['role', 'state'],
      registers: [registry],
      collect() {
        for (const [role, { tracker: t }] of roles) {
          const state = t.state();
          for (const s of STATES) this.set({ role, state: s }, s === state ? 1 : 0);
        }
      },
    });
    new client.Gauge({
      name: 'appstream_creds_role_seconds_to_expiry',
      help: "Seconds until each named role's credentials expire (0 when none)",
      labelNames: ['role'],
      registers: [registry],
      collect() {
        for (const [role, { tracker: t }] of roles) {
          const current = t.current();
          this.set({ role }, current ? seconds(current.expiresAt - clock.now()) : 0);
        }
      },
    });
    new client.Gauge({
      name: 'appstream_creds_role_generations_seen',
      help: 'Sessions assumed per named role since start (bounded history)',
      labelNames: ['role'],
      registers: [registry],
      collect() {
        for (const [role, { tracker: t }] of roles) this.set({ role }, t.generations().reduce((max, g) => Math.max(max, g.id), 0));
      },
    });
  }
  new client.Counter({
    name: 'appstream_creds_http_requests_total',
    help: 'HTTP requests served, by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { route, status, count } of counters.entries()) this.inc({ route, status }, count);
    },
  });
  return registry;
}
