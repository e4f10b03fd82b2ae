import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Logger } from '../log/createLogger.js';
import type { TrackerView } from '../tracker/types.js';
import { describeTracker } from '../tracker/describeTracker.js';
import { checkHost, checkNoBody, checkNotForwarded, tokenChecker, type Refusal } from './guards.js';
import { containerBody, imdsBody, jsonHeaders } from './credentialsBody.js';
import { ImdsTokenStore } from './imdsTokens.js';
import { RequestCounters } from './requestCounters.js';
import { ROUTES } from '../agent/contract.js';

export interface AgentServerInit {
  tracker: TrackerView;
  token: string;
  clock: Clock;
  logger?: Logger;
  imds: boolean;
  /** Role name IMDS lists (the role ARN's last part, else the profile name). */
  roleName: () => string;
  profile: string;
  counters: RequestCounters;
  metrics: Registry;
  /** Extra status facts from the daemon (network, identity); never secrets. */
  statusExtras?: () => Record<string, unknown>;
  maxImdsTokens?: number;
}

const USABLE = new Set(['ready', 'refresh-overdue', 'expiring']);
const IMDS_ROLE_PREFIX = ROUTES.imdsCredentials;
const KNOWN_ROUTES = new Set<string>([ROUTES.credentials, ROUTES.health, ROUTES.status, ROUTES.metrics]);

/** A JSON error body; messages are fixed strings, so no secret can reach a refusal. */
function refuse(res: ServerResponse, refusal: Refusal, extraHeaders: string[] = []): number {
  const body = Buffer.from(JSON.stringify({ code: refusal.code, message: refusal.message }));
  res.writeHead(refusal.status, [...jsonHeaders(body), ...extraHeaders]);
  res.end(body);
  return refusal.status;
}

/**
 * The agent's HTTP surface. It sees only the tracker's read-only view. Security checks run
 * first on every route: loopback Host, no proxy headers, no body; then each route's own token.
 */
export function createAgentServer(init: AgentServerInit): http.Server {
  const tokenOk = tokenChecker(init.token);
  const imdsTokens = new ImdsTokenStore(init.clock, init.maxImdsTokens);
  const { tracker, counters } = init;

  const unavailable = (): Refusal => {
    const state = tracker.state();
    return {
      status: 503,
      code: state === 'expired' ? 'credentials-expired' : 'credentials-unavailable',
      message: state === 'expired' ? 'the last credentials have expired and no new ones arrived' : `no credentials yet (state: ${state})`,
    };
  };

  const serveCredentials = (res: ServerResponse, format: typeof containerBody): number => {
    const current = tracker.current();
    if (!current) return refuse(res, unavailable());
    const prepared = format(current);
    res.writeHead(200, prepared.headers as string[]);
    res.end(prepared.body);
    return 200;
  };

  const sendJson = (res: ServerResponse, status: number, value: unknown): number => {
    const body = Buffer.from(JSON.stringify(value));
    res.writeHead(status, jsonHeaders(body));
    res.end(body);
    return status;
  };

  // Synchronous on purpose: the credentials route allocates no promise.
  const route = (req: IncomingMessage, res: ServerResponse, path: string): number | Promise<number> => {
    if (path === ROUTES.credentials) {
      if (req.method !== 'GET') return refuse(res, { status: 405, code: 'method', message: 'use GET' });
      if (!tokenOk(req.headers.authorization)) return refuse(res, { status: 401, code: 'unauthorized', message: 'missing or wrong Authorization token' });
      return serveCredentials(res, containerBody);
    }
    if (path === ROUTES.health) {
      const state = tracker.state();
      return sendJson(res, USABLE.has(state) ? 200 : 503, { state });
    }
    if (path === ROUTES.status) {
      if (!tokenOk(req.headers.authorization)) return refuse(res, { status: 401, code: 'unauthorized', message: 'missing or wrong Authorization token' });
      return sendJson(res, 200, {
        ...describeTracker(tracker, init.clock.now(), { profile: init.profile, mode: 'agent' }),
        timings: tracker.timings,
        ...(init.statusExtras?.() ?? {}),
      });
    }
    if (path === ROUTES.metrics) {
      return init.metrics.metrics().then((metrics) => {
        const text = Buffer.from(metrics);
        res.writeHead(200, { 'content-type': init.metrics.contentType, 'content-length': String(text.length) });
        res.end(text);
        return 200;
      });
    }
    if (init.imds && path.startsWith('/latest/')) return routeImds(req, res, path);
    return refuse(res, { status: 404, code: 'not-found', message: 'no such route' });
  };

  const routeImds = (req: IncomingMessage, res: ServerResponse, path: string): number => {
    if (path === ROUTES.imdsToken) {
      if (req.method !== 'PUT') return refuse(res, { status: 405, code: 'method', message: 'use PUT' });
      const ttlText = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
      const ttl = typeof ttlText === 'string' && /^\d{1,5}$/.test(ttlText) ? Number(ttlText) : NaN;
      if (!(ttl >= 1 && ttl <= 21600)) return refuse(res, { status: 400, code: 'bad-ttl', message: 'X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600' });
      const body = Buffer.from(imdsTokens.issue(ttl));
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length), 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
      res.end(body);
      return 200;
    }
    if (req.method !== 'GET') return refuse(res, { status: 405, code: 'method', message: 'use GET' });
    if (!imdsTokens.valid(req.headers['x-aws-ec2-metadata-token'])) {
      return refuse(res, { status: 401, code: 'unauthorized', message: 'missing or expired IMDSv2 token' });
    }
    const role = init.roleName();
    if (path === IMDS_ROLE_PREFIX || path === IMDS_ROLE_PREFIX.slice(0, -1)) {
      if (!tracker.current()) return refuse(res, unavailable());
      const body = Buffer.from(role);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length) });
      res.end(body);
      return 200;
    }
    if (path === `${IMDS_ROLE_PREFIX}${role}`) return serveCredentials(res, imdsBody);
    return refuse(res, { status: 404, code: 'not-found', message: 'no such metadata path' });
  };

  const routeName = (path: string): string => {
    if (KNOWN_ROUTES.has(path)) return path;
    if (!path.startsWith('/latest/')) return 'other';
    return path.startsWith(IMDS_ROLE_PREFIX) ? 'imds-credentials' : path === ROUTES.imdsToken ? 'imds-token' : 'imds-other';
  };

  const debug = init.logger?.isLevelEnabled('debug') ? init.logger : undefined;
  const server = http.createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
    const started = debug ? init.clock.now() : 0;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const finish = (status: number): void => {
      const name = routeName(path);
      counters.inc(name, status);
      debug?.debug({ method: req.method, route: name, status, ms: init.clock.now() - started }, 'request');
    };
    const refusal = checkHost(req) ?? checkNotForwarded(req) ?? checkNoBody(req);
    if (refusal) {
      finish(refuse(res, refusal, ['connection', 'close']));
      return;
    }
    const fail = (error: unknown): void => {
      init.logger?.error({ route: routeName(path), err: { message: (error as Error).message } }, 'request failed');
      if (!res.headersSent) finish(refuse(res, { status: 500, code: 'internal', message: 'internal error' }));
      else res.destroy();
    };
    try {
      const status = route(req, res, path);
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
