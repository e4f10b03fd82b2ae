import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { ROUTES } from '../agent/contract.js';
import type { Generation, TrackerView } from '../tracker/types.js';
import { describeTracker } from '../tracker/describeTracker.js';
import { refuse, sendJson, sendText } from './answers.js';
import { containerBody, imdsBody, type PreparedBody } from './credentialsBody.js';
import { requireToken, type Refusal } from './guards.js';
import type { ImdsTokens } from './imdsTokens.js';
import { pathPrefix, type Guard, type Route } from './routes.js';

export interface AgentRoutesInit {
  tracker: TrackerView;
  token: string;
  clock: Clock;
  imds: boolean;
  imdsTokens: ImdsTokens;
  /** The calling user's check (callerGuard.ts) on routes that carry the token: container, status. */
  callerWithToken: Guard;
  /** The same check on IMDS, which has no other secret: where the platform cannot tell the user, it refuses. */
  callerForImds: Guard;
  /** Role name IMDS lists (the role ARN's last part, else the profile name). */
  roleName: () => string;
  profile: string;
  statusExtras?: (() => Record<string, unknown>) | undefined;
  metrics: () => Promise<Registry>;
}

const USABLE = new Set(['ready', 'refresh-overdue', 'expiring']);
const NO_METADATA: Refusal = { status: 404, code: 'not-found', message: 'no such metadata path' };
const NO_IMDS_TOKEN: Refusal = { status: 401, code: 'unauthorized', message: 'missing or expired IMDSv2 token' };
const BAD_TTL: Refusal = { status: 400, code: 'bad-ttl', message: 'X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600' };

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

/** The agent's routes (docs/contract.md, "HTTP"). A new route is one more entry here. */
export function agentRoutes(init: AgentRoutesInit): Route[] {
  const { tracker, imdsTokens } = init;
  const token = requireToken(init.token);
  const imdsToken = (req: Parameters<typeof token>[0]): Refusal | undefined => (imdsTokens.valid(req.headers['x-aws-ec2-metadata-token']) ? undefined : NO_IMDS_TOKEN);
  const container = credentialsHandler(tracker, containerBody);
  const imdsDocument = credentialsHandler(tracker, imdsBody);
  const listRole = (_req: unknown, res: ServerResponse): number => {
    const role = init.roleName();
    if (!tracker.current()) return refuse(res, unavailable(tracker));
    return sendText(res, role);
  };

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
    // IMDSv2 emulation. With `imds` off these answer 404 like any unknown path.
    {
      methods: ['PUT'],
      path: ROUTES.imdsToken,
      enabled: init.imds,
      guards: [init.callerForImds],
      handler: (req, res) => {
        const ttlText = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
        const ttl = typeof ttlText === 'string' && /^\d{1,5}$/.test(ttlText) ? Number(ttlText) : NaN;
        if (!(ttl >= 1 && ttl <= 21600)) return refuse(res, BAD_TTL);
        return sendText(res, imdsTokens.issue(ttl), { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
      },
      metricName: 'imds-token',
    },
    { methods: ['GET'], path: ROUTES.imdsCredentials, enabled: init.imds, guards: [init.callerForImds, imdsToken], handler: listRole, metricName: 'imds-credentials' },
    { methods: ['GET'], path: ROUTES.imdsCredentials.slice(0, -1), enabled: init.imds, guards: [init.callerForImds, imdsToken], handler: listRole, metricName: 'imds-credentials' },
    {
      methods: ['GET'],
      path: pathPrefix(ROUTES.imdsCredentials),
      enabled: init.imds,
      guards: [init.callerForImds, imdsToken],
      handler: (_req, res, params) => (params.rest === init.roleName() ? imdsDocument(res) : refuse(res, NO_METADATA)),
      metricName: 'imds-credentials',
    },
    { methods: ['GET'], path: pathPrefix(ROUTES.imdsRoot), enabled: init.imds, guards: [init.callerForImds, imdsToken], handler: (_req, res) => refuse(res, NO_METADATA), metricName: 'imds-other' },
  ];
}
