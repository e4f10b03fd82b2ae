import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { ROUTES } from '../agent/contract.js';
import type { Generation, TrackerView } from '../tracker/types.js';
import { describeTracker } from '../tracker/describeTracker.js';
import { refuse, sendJson } from './answers.js';
import { containerBody, type PreparedBody } from './credentialsBody.js';
import { requireToken, type Refusal } from './guards.js';
import type { Guard, Route } from './routes.js';

export interface AgentRoutesInit {
  tracker: TrackerView;
  token: string;
  clock: Clock;
  /** The calling user's check (callerGuard.ts) on routes that carry the token: container, status. */
  callerWithToken: Guard;
  profile: string;
  statusExtras?: (() => Record<string, unknown>) | undefined;
  metrics: () => Promise<Registry>;
}

const USABLE = new Set(['ready', 'refresh-overdue', 'expiring']);

/** 503 with the reason there is nothing to serve. */
export function unavailable(tracker: TrackerView): Refusal {
  const state = tracker.state();
  const last = tracker.generations().at(-1);
  return {
    status: 503,
    code: state === 'expired' ? 'credentials-expired' : 'credentials-unavailable',
    message:
      state === 'expired'
        ? `the last credentials expired${last ? ` at ${new Date(last.expiresAt).toISOString()}` : ''} and no new ones arrived`
        : `no credentials yet (state: ${state})`,
  };
}

/**
 * Serves the tracker's current generation in a prepared format: synchronous, and the body was
 * serialized once per generation, so the hot path only looks it up.
 */
export function credentialsHandler(tracker: TrackerView, format: (generation: Generation) => PreparedBody): (res: ServerResponse) => number {
  return (res) => {
    const current = tracker.current();
    if (!current) return refuse(res, unavailable(tracker));
    const prepared = format(current);
    res.writeHead(200, prepared.headers as string[]);
    res.end(prepared.body);
    return 200;
  };
}

/**
 * The agent's routes on its port (docs/contract.md, "HTTP"). A new route is one more entry here.
 * IMDS has its own listener and table (imdsRoutes.ts): none of these answer there.
 */
export function agentRoutes(init: AgentRoutesInit): Route[] {
  const { tracker } = init;
  const token = requireToken(init.token);
  const container = credentialsHandler(tracker, containerBody);

  return [
    { methods: ['GET'], path: ROUTES.credentials, guards: [token, init.callerWithToken], handler: (_req, res) => container(res), metricName: ROUTES.credentials },
    {
      path: ROUTES.health,
      handler: (_req, res) => {
        const state = tracker.state();
        return sendJson(res, USABLE.has(state) ? 200 : 503, { state });
      },
      metricName: ROUTES.health,
    },
    {
      path: ROUTES.status,
      guards: [token, init.callerWithToken],
      handler: (_req, res) =>
        sendJson(res, 200, {
          ...describeTracker(tracker, init.clock.now(), { profile: init.profile, mode: 'agent' }),
          timings: tracker.timings,
          ...(init.statusExtras?.() ?? {}),
        }),
      metricName: ROUTES.status,
    },
    {
      path: ROUTES.metrics,
      handler: async (_req, res) => {
        const registry = await init.metrics();
        const text = Buffer.from(await registry.metrics());
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': String(text.length) });
        res.end(text);
        return 200;
      },
      metricName: ROUTES.metrics,
    },
  ];
}
