import http from 'node:http';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Logger } from '../log/createLogger.js';
import type { TrackerView } from '../tracker/types.js';
import { checkHost, checkNoBody, checkNotForwarded, type Refusal } from './guards.js';
import { ImdsTokens } from './imdsTokens.js';
import { allowedCallers, allowsEveryone, callerGuards, type CallerRule } from './callerGuard.js';
import type { PeerIdentity, PeerUser } from './peerUser.js';
import { tokenBucket } from './rateLimit.js';
import { RequestCounters } from './requestCounters.js';
import { createMetrics } from './metrics.js';
import { refuse } from './answers.js';
import { agentRoutes } from './agentRoutes.js';
import { imdsRoutes } from './imdsRoutes.js';
import { createRouter, type Guard, type Route, type Router } from './routes.js';

/** Calling-user guards for extra routes: the agent's rule, or another (a role's allowUsers). */
export interface RouteCallers {
  /** The agent's rule, on a route that also checks the token. */
  withToken: Guard;
  /** Another rule (root and the agent's user are always allowed); `unsupported` as for IMDS: refuse. */
  forRule(rule: Omit<CallerRule, 'agentUid'>): Guard;
}

export interface AgentServerInit {
  tracker: TrackerView;
  token: string;
  clock: Clock;
  logger?: Logger;
  /** IMDSv2 emulation: a second server, for IMDS's own port. */
  imds: boolean;
  /** Role name IMDS lists (the role ARN's last part, else the profile name). */
  roleName: () => string;
  profile: string;
  /** Extra status facts from the daemon (network, identity); never secrets. */
  statusExtras?: () => Record<string, unknown>;
  /** Who may get credentials and status: the calling user's lookup and the allow rule. */
  callers: {
    peerUser: PeerUser;
    /**
     * The lookup for IMDS, which needs no token: its own instance, so unauthenticated lookups
     * never share a queue or a pass with token holders' (default: peerUser).
     */
    imdsPeerUser?: PeerUser;
    rule: CallerRule;
    /** Told once per refused user (a log line). */
    onRefused?: (peer: PeerIdentity) => void;
  };
  /**
   * More routes (e.g. per-role credentials), after the agent's own; each names its metric. As a
   * function, it gets the calling-user guards, so a route that returns credentials checks the
   * caller like the agent's own (one lookup per connection, shared by all of them).
   */
  routes?: readonly Route[] | ((callers: RouteCallers) => readonly Route[]);
  /** Trackers of named roles, for /metrics. */
  roles?: ReadonlyMap<string, { tracker: TrackerView }>;
  /** The request counts, when the daemon reads them too (fleet metrics' RequestsRefused). */
  counters?: RequestCounters;
}

/**
 * New IMDS connections identified per second, at most (burst as many): the calling-user lookup
 * is the one thing a caller without a secret makes the agent do. An SDK makes one connection
 * per process and keeps it; beyond this rate IMDS answers 429 and token holders are untouched.
 */
export const IMDS_LOOKUPS_PER_SECOND = 100;

const NOT_FOUND: Refusal = { status: 404, code: 'not-found', message: 'no such route' };
const INTERNAL: Refusal = { status: 500, code: 'internal', message: 'internal error' };

/** The agent's servers: one for its port, and with `imds` one for IMDS's own port. */
export interface AgentServers {
  agent: http.Server;
  /** Only IMDS routes answer here, and none of them on `agent` (no shared accept queue). */
  imds: http.Server | undefined;
}

/**
 * The agent's HTTP surface. It sees only the tracker's read-only view. Server-wide checks run
 * first on every request (loopback Host, no proxy headers, no body); then the route table
 * (agentRoutes.ts, imdsRoutes.ts) decides the route, its method, its guards and its metric label.
 * IMDS, which callers reach without a secret, gets a server of its own: a flood of connections
 * to it fills its own accept queue, never the one token holders connect through.
 */
export function createAgentServer(init: AgentServerInit): AgentServers {
  const counters = init.counters ?? new RequestCounters();
  // Started now, awaited by /metrics: prom-client loads while the agent starts, never on a request.
  const registry: Promise<Registry> = createMetrics(init.tracker, counters, init.clock, init.roles);
  registry.catch(() => {}); // a failure is reported by the /metrics request that meets it
  const callers = callerGuards(init.callers.peerUser);
  const allows = allowedCallers(init.callers.rule);
  const everyone = allowsEveryone(init.callers.rule);
  const onRefused = init.callers.onRefused;
  const withToken = callers.require(allows, { unsupported: 'token', everyone, ...(onRefused ? { onRefused } : {}) });
  const routeCallers: RouteCallers = {
    withToken,
    forRule: (rule) => {
      const full: CallerRule = { ...rule, agentUid: init.callers.rule.agentUid, windows: init.callers.rule.windows };
      return callers.require(allowedCallers(full), { unsupported: 'refuse', everyone: allowsEveryone(full), ...(onRefused ? { onRefused } : {}) });
    },
  };
  const router = (routes: readonly Route[]): Router => createRouter({ routes, refuse: (res, refusal) => refuse(res, refusal), notFound: NOT_FOUND });
  const agent = serve(
    router([
      ...agentRoutes({
        tracker: init.tracker,
        token: init.token,
        clock: init.clock,
        callerWithToken: withToken,
        profile: init.profile,
        statusExtras: init.statusExtras,
        metrics: () => registry,
      }),
      ...(typeof init.routes === 'function' ? init.routes(routeCallers) : (init.routes ?? [])),
    ]),
    counters,
    init,
  );
  const imds = init.imds
    ? serve(
        router(
          imdsRoutes({
            tracker: init.tracker,
            imdsTokens: new ImdsTokens(init.clock),
            callerForImds: (init.callers.imdsPeerUser ? callerGuards(init.callers.imdsPeerUser) : callers).require(allows, {
              unsupported: 'refuse',
              everyone,
              mayLookUp: tokenBucket({ perSecond: IMDS_LOOKUPS_PER_SECOND, burst: IMDS_LOOKUPS_PER_SECOND, clock: init.clock }),
              ...(onRefused ? { onRefused } : {}),
            }),
            roleName: init.roleName,
          }),
        ),
        counters,
        init,
      )
    : undefined;
  return { agent, imds };
}

/** A server answering from one route table; requests are counted in `counters` (shared by both). */
function serve(router: Router, counters: RequestCounters, init: Pick<AgentServerInit, 'clock' | 'logger'>): http.Server {
  const debug = init.logger?.isLevelEnabled('debug') ? init.logger : undefined;
  const server = http.createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
    const started = debug ? init.clock.now() : 0;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    // Leading slashes collapse: the AWS SDK for .NET joins AWS_EC2_METADATA_SERVICE_ENDPOINT and
    // `/latest/...` with a slash of its own, and the AWS CLI v2 before 2.1x needs the endpoint to end
    // in one, so a value both can use gives the agent `//latest/...`.
    const match = router.find((query === -1 ? url : url.slice(0, query)).replace(/^\/{2,}/, '/'));
    const name = match ? match.route.metricName : 'other';
    const finish = (status: number): void => {
      counters.inc(name, status);
      debug?.debug({ method: req.method, route: name, status, ms: init.clock.now() - started }, 'request');
    };
    const refusal = checkHost(req) ?? checkNotForwarded(req) ?? checkNoBody(req);
    if (refusal) {
      finish(refuse(res, refusal, ['connection', 'close']));
      return;
    }
    const fail = (error: unknown): void => {
      init.logger?.error({ route: name, err: { message: (error as Error).message } }, 'request failed');
      if (!res.headersSent) finish(refuse(res, INTERNAL));
      else res.destroy();
    };
    try {
      const status = router.answer(req, res, match);
      if (typeof status === 'number') finish(status);
      else status.then(finish, fail);
    } catch (error) {
      fail(error);
    }
  });
  // An idle or trickling socket is dropped rather than pinned.
  server.setTimeout(15_000, (socket) => socket.destroy());
  return server;
}
