import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Refusal } from './guards.js';

/** Values a parametrised path captured (`/v1/roles/:name/credentials` → `{ name }`). */
export type RouteParams = Readonly<Record<string, string>>;

/**
 * A security check as a middleware step: nothing to let the request through, or the refusal
 * to answer with. Synchronous guards keep the hot path synchronous; a guard that must look
 * something up (the calling user) may return a promise.
 */
export type Guard = (req: IncomingMessage, params: RouteParams) => Refusal | undefined | Promise<Refusal | undefined>;

/** Writes the answer and returns its status (counted in metrics), or a promise of it. */
export type Handler = (req: IncomingMessage, res: ServerResponse, params: RouteParams) => number | Promise<number>;

/** Which paths a route answers: an exact path, or a matcher that returns the captured params. */
export type PathSpec = string | { match: (path: string) => RouteParams | undefined };

export interface Route {
  /** Methods answered; others get 405. Omitted: any method. */
  methods?: readonly string[];
  path: PathSpec;
  /** Run in order after the method check; the first refusal answers. */
  guards?: readonly Guard[];
  handler: Handler;
  /** The `route` label in metrics and logs. */
  metricName: string;
  /** false: the route answers 404 as if absent (a feature turned off) but keeps its metric name. */
  enabled?: boolean;
}

const NO_PARAMS: RouteParams = Object.freeze({});

/** Every path that starts with `prefix`; the remainder is `params.rest`. */
export const pathPrefix = (prefix: string): PathSpec => ({
  match: (path: string) => (path.startsWith(prefix) ? { rest: path.slice(prefix.length) } : undefined),
});

/** A path with `:name` segments, each matching one non-empty segment: `/v1/roles/:name/credentials`. */
export function pathPattern(pattern: string): PathSpec {
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  const regex = new RegExp(`^${source}$`);
  return {
    match: (path: string) => {
      const found = regex.exec(path);
      if (!found) return undefined;
      const params: Record<string, string> = {};
      try {
        names.forEach((name, i) => (params[name] = decodeURIComponent(found[i + 1]!)));
      } catch {
        return undefined; // malformed %-escapes: no such route, never a thrown request handler
      }
      return params;
    },
  };
}

type Answer = (req: IncomingMessage, res: ServerResponse, params: RouteParams) => number | Promise<number>;

/** A route found for a path, with what its path captured. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: RouteParams;
  /** The route's method check, guards and handler, composed once when the table is built. */
  readonly answer: Answer;
}

export interface Router {
  /** The route for a path, or undefined (answered 404, counted as 'other'). */
  find(path: string): RouteMatch | undefined;
  /** Answers a request for a found route (or 404); the returned status is what metrics count. */
  answer(req: IncomingMessage, res: ServerResponse, match: RouteMatch | undefined): number | Promise<number>;
}

export interface RouterInit {
  routes: readonly Route[];
  /** Writes a refusal (404, 405 or a guard's) and returns its status. */
  refuse: (res: ServerResponse, refusal: Refusal) => number;
  notFound: Refusal;
}

/**
 * Composes a route's steps once: 404 when disabled, 405 for another method, each guard in
 * order (the first refusal answers; an async guard continues the chain when it settles), then
 * the handler. Synchronous steps keep the answer synchronous.
 */
function compile(route: Route, init: RouterInit): Answer {
  const { refuse, notFound } = init;
  if (route.enabled === false) return (_req, res) => refuse(res, notFound);
  const methods = route.methods;
  const only = methods?.length === 1 ? methods[0] : undefined;
  const wrongMethod: Refusal | undefined = methods && { status: 405, code: 'method', message: `use ${methods.join(' or ')}` };
  const guards = route.guards ?? [];
  const handler = route.handler;
  const from = (index: number, req: IncomingMessage, res: ServerResponse, params: RouteParams): number | Promise<number> => {
    for (let i = index; i < guards.length; i += 1) {
      const result = guards[i]!(req, params);
      if (result === undefined) continue;
      if (result instanceof Promise) return result.then((refusal) => (refusal ? refuse(res, refusal) : from(i + 1, req, res, params)));
      return refuse(res, result);
    }
    return handler(req, res, params);
  };
  return (req, res, params) => {
    if (wrongMethod && (only !== undefined ? req.method !== only : !methods!.includes(req.method ?? ''))) return refuse(res, wrongMethod);
    return from(0, req, res, params);
  };
}

/**
 * Paths a matcher found are remembered, up to this many, so a role's route costs one Map lookup
 * like an exact path. Junk paths can fill it, but never push out what is in it: the cost is then
 * what it was without.
 */
export const MATCH_MEMO_SIZE = 256;

/**
 * One table drives routing, the metric label and the 404/405 answers. Exact paths are one Map
 * lookup with a match made in advance (the credentials hot path allocates nothing here);
 * matchers are tried in table order after them.
 */
export function createRouter(init: RouterInit): Router {
  const exact = new Map<string, RouteMatch>();
  const matchers: Array<{ route: Route; match: (path: string) => RouteParams | undefined; answer: Answer }> = [];
  for (const route of init.routes) {
    const answer = compile(route, init);
    if (typeof route.path === 'string') {
      if (exact.has(route.path)) throw new Error(`two routes for ${route.path}`);
      exact.set(route.path, Object.freeze({ route, params: NO_PARAMS, answer }));
    } else {
      matchers.push({ route, match: route.path.match, answer });
    }
  }

  const memo = new Map<string, RouteMatch>();
  return {
    find(path) {
      const found = exact.get(path) ?? memo.get(path);
      if (found) return found;
      for (const candidate of matchers) {
        const params = candidate.match(path);
        if (!params) continue;
        const match = Object.freeze({ route: candidate.route, params: Object.freeze(params), answer: candidate.answer });
        if (memo.size < MATCH_MEMO_SIZE) memo.set(path, match);
        return match;
      }
      return undefined;
    },
    answer(req, res, match) {
      return match ? match.answer(req, res, match.params) : init.refuse(res, init.notFound);
    },
  };
}
