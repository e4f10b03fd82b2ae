/**
 * src/http/routes.ts: the route table decides the route, its metric label, 404 for unknown or
 * disabled routes, 405 for other methods, and runs guards in order (sync or async) before the
 * handler; parametrised paths hand their params to guards and handler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRouter, MATCH_MEMO_SIZE, pathPattern, pathPrefix, type Guard, type PathSpec, type Route } from '../../src/http/routes.js';
import type { Refusal } from '../../src/http/guards.js';

const NOT_FOUND: Refusal = { status: 404, code: 'not-found', message: 'no such route' };

function fixture(routes: Route[]) {
  const refused: Refusal[] = [];
  const router = createRouter({ routes, notFound: NOT_FOUND, refuse: (_res, refusal) => (refused.push(refusal), refusal.status) });
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const req = { method, headers } as unknown as IncomingMessage;
    const match = router.find(path);
    const status = await router.answer(req, {} as ServerResponse, match);
    return { status, metric: match ? match.route.metricName : 'other', refusal: refused.at(-1) };
  };
  return { router, call, refused };
}

test('exact, prefix and pattern paths; the metric label comes from the matched route, else "other"', async () => {
  const seen: Array<Record<string, string>> = [];
  const { call } = fixture([
    { methods: ['GET'], path: '/v1/credentials', handler: () => 200, metricName: 'creds' },
    { methods: ['GET'], path: pathPattern('/v1/roles/:name/credentials'), handler: (_req, _res, params) => (seen.push({ ...params }), 201), metricName: 'role-creds' },
    { path: pathPrefix('/latest/'), handler: (_req, _res, params) => (seen.push({ ...params }), 202), metricName: 'imds-other' },
  ]);
  assert.deepEqual(await call('GET', '/v1/credentials'), { status: 200, metric: 'creds', refusal: undefined });
  assert.equal((await call('GET', '/v1/roles/reports%20role/credentials')).status, 201);
  assert.deepEqual(seen.at(-1), { name: 'reports role' });
  assert.equal((await call('GET', '/latest/meta-data/x')).status, 202);
  assert.deepEqual(seen.at(-1), { rest: 'meta-data/x' });
  const unknown = await call('GET', '/v1/roles//credentials');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.metric, 'other');
  assert.equal((await call('GET', '/v1/credentials/')).status, 404);
  assert.equal((await call('GET', '/v1/roles/%E0%A4%A/credentials')).status, 404, 'a malformed escape is no match, not a throw');
});

test('405 names the allowed methods and comes before any guard; routes without methods take any', async () => {
  let guarded = 0;
  const guard: Guard = () => (guarded++, undefined);
  const { call } = fixture([
    { methods: ['PUT'], path: '/token', guards: [guard], handler: () => 200, metricName: 'token' },
    { path: '/healthz', handler: () => 200, metricName: 'health' },
  ]);
  const wrong = await call('GET', '/token');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.refusal?.message, 'use PUT');
  assert.equal(wrong.metric, 'token');
  assert.equal(guarded, 0);
  assert.equal((await call('DELETE', '/healthz')).status, 200);
});

test('a disabled route answers 404 like an unknown path but keeps its metric label', async () => {
  const { call } = fixture([{ methods: ['PUT'], path: '/latest/api/token', enabled: false, handler: () => 200, metricName: 'imds-token' }]);
  const r = await call('GET', '/latest/api/token');
  assert.deepEqual([r.status, r.metric, r.refusal?.code], [404, 'imds-token', 'not-found']);
});

test('guards run in order, the first refusal answers, and an async guard keeps the chain going', async () => {
  const order: string[] = [];
  const token: Guard = (req) => (order.push('token'), req.headers.authorization === 'ok' ? undefined : { status: 401, code: 'unauthorized', message: 'no' });
  const peer: Guard = async (req) => (order.push('peer'), req.headers['x-user'] === 'allowed' ? undefined : { status: 403, code: 'user', message: 'not allowed' });
  const after: Guard = () => (order.push('after'), undefined);
  const { call } = fixture([{ path: '/v1/x', guards: [token, peer, after], handler: () => (order.push('handler'), 200), metricName: 'x' }]);

  assert.equal((await call('GET', '/v1/x')).status, 401);
  assert.deepEqual(order.splice(0), ['token']);
  assert.equal((await call('GET', '/v1/x', { authorization: 'ok' })).status, 403);
  assert.deepEqual(order.splice(0), ['token', 'peer']);
  assert.equal((await call('GET', '/v1/x', { authorization: 'ok', 'x-user': 'allowed' })).status, 200);
  assert.deepEqual(order.splice(0), ['token', 'peer', 'after', 'handler']);
});

test('synchronous guards and handler keep the answer synchronous (no promise on the hot path)', () => {
  const { router } = fixture([{ path: '/v1/credentials', guards: [() => undefined], handler: () => 200, metricName: 'creds' }]);
  const match = router.find('/v1/credentials');
  assert.equal(router.answer({ method: 'GET', headers: {} } as unknown as IncomingMessage, {} as ServerResponse, match), 200);
  assert.equal(router.find('/v1/credentials'), match, 'an exact path returns the match made in advance');
});

test('two routes for one exact path are a programming error', () => {
  assert.throws(() => fixture([{ path: '/a', handler: () => 200, metricName: 'a' }, { path: '/a', handler: () => 200, metricName: 'b' }]), /two routes for \/a/);
});

test('a path a matcher found is remembered (one lookup next time), up to MATCH_MEMO_SIZE paths, and junk never evicts', async () => {
  let matched = 0;
  const counting = pathPattern('/v1/roles/:name/credentials') as Exclude<PathSpec, string>;
  const { router, call } = fixture([
    { methods: ['GET'], path: { match: (path: string) => (matched++, counting.match(path)) }, handler: (_req, _res, params) => (params.name === 'reports' ? 200 : 404), metricName: 'role-creds' },
  ]);
  const first = router.find('/v1/roles/reports/credentials');
  assert.equal(router.find('/v1/roles/reports/credentials'), first, 'the same frozen match, not a new one');
  assert.equal(matched, 1);
  assert.deepEqual(first?.params, { name: 'reports' });
  assert.ok(Object.isFrozen(first?.params), 'a remembered match cannot be changed by one request for the next');
  for (let i = 0; i < MATCH_MEMO_SIZE + 50; i += 1) router.find(`/v1/roles/junk${i}/credentials`);
  matched = 0;
  assert.equal(router.find('/v1/roles/reports/credentials'), first, 'still remembered after the flood');
  assert.equal((await call('GET', '/v1/roles/other/credentials')).status, 404);
  assert.equal((await call('GET', '/v1/roles/other/credentials')).status, 404);
  assert.equal(matched, 2, 'a path that arrives once the memo is full is matched each time, and still answered');
  assert.equal(router.find('/nothing'), undefined);
});
