/**
 * src/http/*: the agent's HTTP routes over a real Tracker driven by a fake clock, on an
 * ephemeral loopback port; the guards, the IMDSv2 token store and the per-generation bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAgentServer, IMDS_LOOKUPS_PER_SECOND } from '../../src/http/createAgentServer.js';
import { checkHost, checkNoBody, checkNotForwarded, tokenChecker } from '../../src/http/guards.js';
import { ImdsTokens } from '../../src/http/imdsTokens.js';
import type { PeerIdentity } from '../../src/http/peerUser.js';
import http from 'node:http';
import { containerBody, imdsBody } from '../../src/http/credentialsBody.js';
import { Tracker } from '../../src/tracker/Tracker.js';
import type { Credentials } from '../../src/credentials.js';
import { createFakeClock } from '../helpers/fakeClock.js';
import { rawRequest } from '../helpers/clients.js';
import { S, M, H, TEST_TIMINGS } from '../helpers/timings.js';

const START = Date.parse('2026-01-01T00:00:00Z');
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

let serial = 0;
function creds(over: Partial<Credentials> = {}): Credentials {
  serial += 1;
  return {
    accessKeyId: `ASIAUNITTEST${String(serial).padStart(4, '0')}K${serial}Z`,
    secretAccessKey: `unit-secret-${serial}-${randomBytes(12).toString('hex')}`,
    sessionToken: `unit-session-${serial}-${randomBytes(24).toString('hex')}`,
    ...over,
  };
}

const ROOT: PeerIdentity = { kind: 'user', uid: 0, gids: [] };

async function setup(options: { imds?: boolean; networkReady?: boolean; allowUsers?: string[]; tokenGid?: number } = {}) {
  // The calling user is faked here (the real /proc lookup runs in test/e2e/callerCheck.test.ts);
  // `peer` is who the next new connection belongs to, `lookups` counts lookups.
  const callers = { peer: ROOT, lookups: 0, refused: [] as PeerIdentity[] };
  const clock = createFakeClock(START);
  const tracker = new Tracker({ clock, networkReady: options.networkReady ?? true, timings: TEST_TIMINGS });
  const token = randomBytes(32).toString('hex');
  const servers = createAgentServer({
    tracker,
    token,
    clock,
    imds: options.imds ?? false,
    profile: 'appstream_machine_role',
    roleName: () => tracker.current()?.credentials.roleArn?.split('/').pop() ?? 'appstream_machine_role',
    callers: {
      peerUser: async () => {
        callers.lookups += 1;
        return callers.peer;
      },
      rule: { agentUid: 999, allowUsers: options.allowUsers ?? [], tokenGid: options.tokenGid },
      onRefused: (peer) => callers.refused.push(peer),
    },
  });
  const listening = [servers.agent, ...(servers.imds ? [servers.imds] : [])];
  for (const server of listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseOf = (server: typeof servers.agent) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = baseOf(servers.agent);
  const imdsBase = servers.imds ? baseOf(servers.imds) : undefined;
  const requestAt = (at: string, path: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(`${at}${path}`, { method, headers: { host: new URL(at).host, ...headers } });
  // IMDS paths go to IMDS's own server when there is one (the agent's port never answers them).
  const request = (path: string, headers: Record<string, string> = {}, method = 'GET') => requestAt(imdsBase && path.startsWith('/latest/') ? imdsBase : base, path, headers, method);
  const observe = (c: Credentials) => tracker.observe({ credentials: c, origin: 'unit test' });
  const close = async () => {
    for (const server of listening) await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  };
  return { clock, tracker, token, request, requestAt, observe, close, callers, base, imdsBase };
}

const json = (body: string): Record<string, unknown> => JSON.parse(body) as Record<string, unknown>;

test('/v1/credentials refuses a missing, wrong, same-length, prefixed or misplaced token with 401', async () => {
  const s = await setup();
  try {
    s.observe(creds());
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'nope' }, { authorization: 'f'.repeat(64) }, { authorization: `Bearer ${s.token}` }, { authorization: `${s.token}x` }, { 'x-auth-token': s.token }];
    for (const headers of attempts) {
      const r = await s.request('/v1/credentials', headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.deepEqual(Object.keys(json(r.body)).sort(), ['code', 'message']);
    }
    assert.equal((await s.request('/v1/credentials', { authorization: s.token })).status, 200);
    assert.equal((await s.request('/v1/credentials', { authorization: s.token }, 'DELETE')).status, 405);
    assert.equal((await s.request('/nowhere', { authorization: s.token })).status, 404);
  } finally {
    await s.close();
  }
});

test('503 {code, message} and no secret when the tracker has nothing valid: before any credentials and after expiry', async () => {
  const s = await setup();
  try {
    const none = await s.request('/v1/credentials', { authorization: s.token });
    assert.equal(none.status, 503);
    assert.deepEqual(Object.keys(json(none.body)).sort(), ['code', 'message']);
    assert.equal(json(none.body).code, 'credentials-unavailable');
    const c = creds({ expiration: new Date(START + H) });
    s.observe(c);
    assert.equal((await s.request('/v1/credentials', { authorization: s.token })).status, 200);
    s.clock.advance(H);
    const expired = await s.request('/v1/credentials', { authorization: s.token });
    assert.equal(expired.status, 503, 'an expired generation must never be served');
    assert.equal(json(expired.body).code, 'credentials-expired');
    for (const secret of [c.secretAccessKey, c.sessionToken!, c.accessKeyId, s.token]) assert.ok(!expired.body.includes(secret));
  } finally {
    await s.close();
  }
});

test('200 body: AccessKeyId, SecretAccessKey, Token, Expiration (ISO 8601 UTC), plus AccountId/RoleArn when known', async () => {
  const s = await setup();
  try {
    const c = creds({ expiration: new Date(START + 5 * H + 123) });
    s.observe(c);
    const r = await s.request('/v1/credentials', { authorization: s.token });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(json(r.body), { AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: '2026-01-01T05:00:00.123Z' });
    assert.match(json(r.body).Expiration as string, ISO_UTC);

    // No Expiration from the source: first seen + validity. Extra identity fields pass through.
    s.clock.advance(M);
    const d = creds({ accountId: '123456789012', roleArn: 'arn:aws:iam::123456789012:role/fleet' });
    s.observe(d);
    const body = json((await s.request('/v1/credentials', { authorization: s.token })).body);
    assert.equal(body.AccessKeyId, d.accessKeyId);
    assert.equal(body.Expiration, new Date(START + M + 6 * H).toISOString());
    assert.equal(body.AccountId, '123456789012');
    assert.equal(body.RoleArn, 'arn:aws:iam::123456789012:role/fleet');
  } finally {
    await s.close();
  }
});

test('the body is serialized once per generation: the same Buffer every time, a new one per generation', async () => {
  const s = await setup();
  const original = JSON.stringify;
  try {
    const c = creds();
    const g = s.observe(c);
    assert.equal(containerBody(g).body, containerBody(g).body, 'same generation, same Buffer');
    assert.equal(s.observe(c), g, 're-reading the same credentials keeps the generation object');
    const first = await s.request('/v1/credentials', { authorization: s.token });
    assert.equal(first.body, containerBody(s.tracker.current()!).body.toString());
    let calls = 0;
    JSON.stringify = ((...args: Parameters<typeof original>) => {
      calls += 1;
      return original(...args);
    }) as typeof JSON.stringify;
    for (let i = 0; i < 5; i += 1) assert.equal((await s.request('/v1/credentials', { authorization: s.token })).body, first.body);
    JSON.stringify = original;
    assert.equal(calls, 0, 'the hot path serialized again');
    const g2 = s.observe(creds());
    assert.notEqual(containerBody(g2).body, containerBody(g).body);
    assert.notEqual(imdsBody(g).body, containerBody(g).body);
    assert.equal(imdsBody(g).body, imdsBody(g).body);
  } finally {
    JSON.stringify = original;
    await s.close();
  }
});

test('credentialsBody: Token is "" without a session token; the IMDS document has Code, Type and LastUpdated', () => {
  const clock = createFakeClock(START);
  const tracker = new Tracker({ clock, networkReady: true, timings: TEST_TIMINGS });
  const { sessionToken: _omit, ...noToken } = creds();
  const g = tracker.observe({ credentials: noToken, origin: 'unit test' });
  assert.equal(json(containerBody(g).body.toString()).Token, '');
  const doc = json(imdsBody(g).body.toString());
  assert.equal(doc.Code, 'Success');
  assert.equal(doc.Type, 'AWS-HMAC');
  assert.equal(doc.LastUpdated, new Date(START).toISOString());
  assert.match(doc.Expiration as string, ISO_UTC);
});

test('/healthz: 200 in ready, refresh-overdue and expiring; 503 while waiting and once expired; the body is only the state', async () => {
  const s = await setup({ networkReady: false });
  try {
    const health = async () => {
      const r = await s.request('/healthz');
      assert.deepEqual(Object.keys(json(r.body)), ['state']);
      return [r.status, json(r.body).state];
    };
    assert.deepEqual(await health(), [503, 'waiting-for-network']);
    s.tracker.setNetworkReady(true);
    assert.deepEqual(await health(), [503, 'waiting-for-credentials']);
    s.observe(creds());
    assert.deepEqual(await health(), [200, 'ready']);
    s.clock.advance(H + 10 * M + 1);
    assert.deepEqual(await health(), [200, 'refresh-overdue']);
    s.clock.advance(5 * H - (H + 10 * M + 1) + 31 * M);
    assert.deepEqual(await health(), [200, 'expiring']);
    s.clock.advance(30 * M);
    assert.deepEqual(await health(), [503, 'expired']);
  } finally {
    await s.close();
  }
});

test('/v1/status needs the token and shows key ids masked to their last 4 characters, never a secret', async () => {
  const s = await setup();
  try {
    const a = creds();
    const b = creds({ accountId: '123456789012' });
    s.observe(a);
    s.clock.advance(H);
    s.observe(b);
    assert.equal((await s.request('/v1/status')).status, 401);
    const r = await s.request('/v1/status', { authorization: s.token });
    assert.equal(r.status, 200);
    const status = json(r.body) as { state: string; current: { keyId: string; id: number }; generations: Array<{ keyId: string }> };
    assert.equal(status.state, 'ready');
    assert.equal(status.current.keyId, `…${b.accessKeyId.slice(-4)}`);
    assert.equal(status.current.id, 2);
    assert.deepEqual(status.generations.map((g) => g.keyId), [`…${a.accessKeyId.slice(-4)}`, `…${b.accessKeyId.slice(-4)}`]);
    for (const value of [a.accessKeyId, b.accessKeyId, a.secretAccessKey, b.secretAccessKey, a.sessionToken!, b.sessionToken!, s.token]) {
      assert.ok(!r.body.includes(value), 'status leaked a key id, secret, session token or the auth token');
    }
  } finally {
    await s.close();
  }
});

test('/metrics exposes state, expiry, refresh age, generations and request counters', async () => {
  const s = await setup();
  try {
    s.observe(creds({ expiration: new Date(START + 2 * H) }));
    s.clock.advance(90 * S);
    await s.request('/v1/credentials', { authorization: s.token });
    await s.request('/v1/credentials');
    const r = await s.request('/metrics');
    assert.equal(r.status, 200);
    for (const name of ['appstream_creds_state', 'appstream_creds_seconds_to_expiry', 'appstream_creds_seconds_since_refresh', 'appstream_creds_generations_seen', 'appstream_creds_http_requests_total']) {
      assert.match(r.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(r.body, /^appstream_creds_state\{state="ready"\} 1$/m);
    assert.match(r.body, /^appstream_creds_state\{state="expired"\} 0$/m);
    assert.match(r.body, /^appstream_creds_seconds_to_expiry 7110$/m);
    assert.match(r.body, /^appstream_creds_seconds_since_refresh 90$/m);
    assert.match(r.body, /^appstream_creds_generations_seen 1$/m);
    assert.match(r.body, /^appstream_creds_http_requests_total\{route="\/v1\/credentials",status="200"\} 1$/m);
    assert.match(r.body, /^appstream_creds_http_requests_total\{route="\/v1\/credentials",status="401"\} 1$/m);
  } finally {
    await s.close();
  }
});

test('guards: loopback Host only, no proxy headers, no body, exact token', async () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  for (const host of ['localhost', 'LOCALHOST:9920', '127.0.0.1', '127.0.0.1:9920', '127.1.2.3:80', '[::1]', '[::1]:9920', '[0:0:0:0:0:0:0:1]:9920']) assert.equal(checkHost(req({ host })), undefined, host);
  for (const host of ['', 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', '10.0.0.1:9920', '[::2]:9920', 'localhost:99999x']) assert.equal(checkHost(req({ host }))?.status, 403, host);
  assert.equal(checkHost(req({}))?.status, 403);
  assert.equal(checkNotForwarded(req({ 'x-forwarded-for': '1.2.3.4' }))?.status, 403);
  assert.equal(checkNotForwarded(req({ forwarded: 'for=1.2.3.4' }))?.status, 403);
  assert.equal(checkNotForwarded(req({})), undefined);
  assert.equal(checkNoBody(req({})), undefined);
  assert.equal(checkNoBody(req({ 'content-length': '0' })), undefined);
  assert.equal(checkNoBody(req({ 'content-length': '5000' }))?.status, 413);
  assert.equal(checkNoBody(req({ 'content-length': 'abc' }))?.status, 413);
  assert.equal(checkNoBody(req({ 'transfer-encoding': 'chunked' }))?.status, 413);
  const check = tokenChecker('a'.repeat(64));
  assert.equal(check('a'.repeat(64)), true);
  for (const bad of ['a'.repeat(63), 'a'.repeat(65), 'b'.repeat(64), '', undefined, ['a'.repeat(64)]]) assert.equal(check(bad), false, String(bad));

  const s = await setup({ imds: true });
  try {
    s.observe(creds());
    for (const path of ['/healthz', '/v1/credentials', '/latest/api/token']) {
      const rebound = await s.request(path, { host: 'attacker.example', authorization: s.token, 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, path.includes('api') ? 'PUT' : 'GET');
      assert.equal(rebound.status, 403, path);
      const proxied = await s.request(path, { 'x-forwarded-for': '203.0.113.1', authorization: s.token, 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, path.includes('api') ? 'PUT' : 'GET');
      assert.equal(proxied.status, 403, path);
      assert.ok(!proxied.body.includes(s.token));
    }
  } finally {
    await s.close();
  }
});

test('IMDSv2 routes: TTL 1..21600, 401 without a valid token, tokens expire, role list and document; off by default', async () => {
  const off = await setup();
  try {
    assert.equal((await off.request('/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, 'PUT')).status, 404);
  } finally {
    await off.close();
  }
  const s = await setup({ imds: true });
  try {
    const put = (ttl?: string) => s.request('/latest/api/token', ttl === undefined ? {} : { 'x-aws-ec2-metadata-token-ttl-seconds': ttl }, 'PUT');
    for (const ttl of [undefined, '0', '21601', '1.5', '']) assert.equal((await put(ttl)).status, 400, String(ttl));
    const token = (await put('60')).body;
    const list = '/latest/meta-data/iam/security-credentials/';
    assert.equal((await s.request(list)).status, 401);
    assert.equal((await s.request(list, { 'x-aws-ec2-metadata-token': token })).status, 503, 'no credentials yet');
    s.observe(creds({ roleArn: 'arn:aws:iam::123456789012:role/fleet-role' }));
    const names = await s.request(list, { 'x-aws-ec2-metadata-token': token });
    assert.deepEqual([names.status, names.body], [200, 'fleet-role']);
    const doc = await s.request(`${list}fleet-role`, { 'x-aws-ec2-metadata-token': token });
    assert.equal(doc.status, 200);
    assert.equal(json(doc.body).Code, 'Success');
    assert.equal((await s.request(`${list}other-role`, { 'x-aws-ec2-metadata-token': token })).status, 404);
    s.clock.advance(60 * S);
    assert.equal((await s.request(list, { 'x-aws-ec2-metadata-token': token })).status, 401, 'the token outlived its TTL');
  } finally {
    await s.close();
  }
});

test('IMDSv2 tokens are stateless: expiry + HMAC under a per-start key; tampered, foreign, expired or malformed tokens fail', () => {
  const clock = createFakeClock(START);
  const tokens = new ImdsTokens(clock);
  const t = tokens.issue(60);
  assert.ok(tokens.valid(t));
  assert.equal(new ImdsTokens(clock).valid(t), false, 'another start (key) does not accept it');
  const raw = Buffer.from(t, 'base64url');
  raw[3] = raw[3]! ^ 1; // a later expiry
  assert.equal(tokens.valid(raw.toString('base64url')), false);
  for (const bad of [undefined, '', 'x', 'A'.repeat(44), [t], `${t}${t}`]) assert.equal(tokens.valid(bad as string), false, String(bad));
  clock.advance(60 * S);
  assert.equal(tokens.valid(t), false, 'expired');
});

test('IMDSv2: a flood of 5,000 PUTs evicts nothing: the first token still works', async () => {
  const s = await setup({ imds: true });
  try {
    s.observe(creds());
    const first = (await s.request('/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '600' }, 'PUT')).body;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const put = () =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${s.imdsBase!}/latest/api/token`, { method: 'PUT', agent, headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    for (let i = 0; i < 50; i += 1) assert.deepEqual(new Set(await Promise.all(Array.from({ length: 100 }, put))), new Set([200]));
    agent.destroy();
    assert.equal((await s.request('/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': first })).status, 200);
  } finally {
    await s.close();
  }
});

test('caller check: root, the agent user, allowUsers (name or uid) and tokenGroup members get 200; anyone else 403 with no secret, logged once', async () => {
  const s = await setup({ imds: true, allowUsers: ['alice', '1500'], tokenGid: 4242 });
  try {
    const current = creds();
    s.observe(current);
    const imdsToken = async () => (await s.request('/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, 'PUT'));
    const routes = async () => {
      const t = await imdsToken();
      return [
        (await s.request('/v1/credentials', { authorization: s.token })).status,
        (await s.request('/v1/status', { authorization: s.token })).status,
        t.status,
        (await s.request('/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': t.status === 200 ? t.body : 'x' })).status,
        (await s.request('/healthz')).status,
      ];
    };
    const allowed: PeerIdentity[] = [ROOT, { kind: 'user', uid: 999, gids: [] }, { kind: 'user', uid: 1400, name: 'alice', gids: [] }, { kind: 'user', uid: 1500, gids: [] }, { kind: 'user', uid: 1600, name: 'bob', gids: [100, 4242] }];
    for (const peer of allowed) {
      s.callers.peer = peer;
      assert.deepEqual(await routes(), [200, 200, 200, 200, 200], JSON.stringify(peer));
    }
    for (const peer of [{ kind: 'user', uid: 1001, name: 'as2-streaming-user', gids: [1001] }, { kind: 'unknown', reason: 'gone' }, { kind: 'unsupported', reason: 'windows' }] as PeerIdentity[]) {
      s.callers.peer = peer;
      const refused = await s.request('/v1/credentials', { authorization: s.token });
      const expected = peer.kind === 'unsupported' ? 200 : 403; // token routes rest on the token where the OS cannot tell
      assert.equal(refused.status, expected, JSON.stringify(peer));
      if (expected === 403) {
        assert.deepEqual(Object.keys(json(refused.body)).sort(), ['code', 'message']);
        assert.ok(!refused.body.includes(current.secretAccessKey) && !refused.body.includes(current.accessKeyId));
        assert.equal((await s.request('/v1/status', { authorization: s.token })).status, 403);
      }
      assert.equal((await imdsToken()).status, 403, `IMDS refuses ${peer.kind}`);
      assert.equal((await s.request('/healthz')).status, 200, 'health has no secret and no check');
    }
    assert.deepEqual(s.callers.refused.map((p) => (p.kind === 'user' ? p.uid : p.kind)), [1001, 'unknown', 'unsupported'], 'one log per refused user');
  } finally {
    await s.close();
  }
});

test('caller check: one lookup per connection (keep-alive requests reuse it), none for unguarded routes, none at all with allowUsers *', async () => {
  const s = await setup();
  try {
    s.observe(creds());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        http.get(`${s.base}${path}`, { agent, headers: { authorization: s.token } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
    assert.equal(await get('/healthz'), 200);
    assert.equal(s.callers.lookups, 0);
    for (let i = 0; i < 20; i += 1) assert.equal(await get('/v1/credentials'), 200);
    assert.equal(s.callers.lookups, 1);
    agent.destroy();
    await s.request('/v1/credentials', { authorization: s.token });
    assert.equal(s.callers.lookups, 2, 'a new connection is looked up again');
  } finally {
    await s.close();
  }
  const open = await setup({ allowUsers: ['*'] });
  try {
    open.observe(creds());
    open.callers.peer = { kind: 'user', uid: 1001, gids: [] };
    assert.equal((await open.request('/v1/credentials', { authorization: open.token })).status, 200);
    assert.equal(open.callers.lookups, 0);
  } finally {
    await open.close();
  }
});

test('extra routes get the calling-user guards: a per-role rule admits its own users and refuses the rest', async () => {
  const clock = createFakeClock(START);
  const tracker = new Tracker({ clock, networkReady: true, timings: TEST_TIMINGS });
  let peer: PeerIdentity = { kind: 'user', uid: 1700, name: 'carol', gids: [] };
  const { agent: server } = createAgentServer({
    tracker,
    token: 'x'.repeat(64),
    clock,
    imds: false,
    profile: 'appstream_machine_role',
    roleName: () => 'r',
    callers: { peerUser: async () => peer, rule: { agentUid: 999, allowUsers: [] } },
    routes: (callers) => [{ methods: ['GET'], path: '/v1/roles/reports/credentials', guards: [callers.forRule({ allowUsers: ['carol'] })], handler: (_req, res) => (res.end('ok'), 200), metricName: 'role-credentials' }],
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const get = () => rawRequest(`${base}/v1/roles/reports/credentials`, { headers: { host: new URL(base).host } });
    assert.equal((await get()).status, 200, 'carol is in the role rule');
    peer = { kind: 'user', uid: 1800, name: 'dave', gids: [] };
    assert.equal((await get()).status, 403, 'dave is not');
    peer = { kind: 'user', uid: 999, gids: [] };
    assert.equal((await get()).status, 200, 'the agent user always is');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('IMDS has its own server: IMDS routes answer only there, the token routes, status, health and metrics only on the agent\'s', async () => {
  const off = await setup();
  try {
    assert.equal(off.imdsBase, undefined, 'no IMDS server without imds');
  } finally {
    await off.close();
  }
  const s = await setup({ imds: true });
  try {
    s.observe(creds());
    assert.ok(s.imdsBase && s.imdsBase !== s.base);
    const imdsPut = (at: string) => s.requestAt(at, '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, 'PUT');
    const put = await imdsPut(s.imdsBase);
    assert.equal(put.status, 200);
    assert.equal((await s.requestAt(s.imdsBase, '/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': put.body })).status, 200);
    assert.equal((await imdsPut(s.base)).status, 404, 'no IMDS on the agent port');
    assert.equal((await s.requestAt(s.base, '/latest/meta-data/iam/security-credentials/', { 'x-aws-ec2-metadata-token': put.body })).status, 404);
    for (const path of ['/v1/credentials', '/v1/status', '/healthz', '/metrics', '/v1/roles/x/credentials']) {
      assert.equal((await s.requestAt(s.base, path, { authorization: s.token })).status === 404, path.startsWith('/v1/roles'), `${path} on the agent port`);
      const there = await s.requestAt(s.imdsBase, path, { authorization: s.token });
      assert.equal(there.status, 404, `${path} on the IMDS port`);
      assert.ok(!there.body.includes('SecretAccessKey'));
    }
  } finally {
    await s.close();
  }
});

test('IMDS lookups are rate limited per second: past the limit a new connection gets 429 without a lookup; token holders are not limited', async () => {
  const s = await setup({ imds: true });
  try {
    s.observe(creds());
    const put = () => s.request('/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, 'PUT');
    for (let i = 0; i < IMDS_LOOKUPS_PER_SECOND; i += 1) assert.equal((await put()).status, 200);
    assert.equal(s.callers.lookups, IMDS_LOOKUPS_PER_SECOND);
    const limited = await put();
    assert.equal(limited.status, 429);
    assert.equal(json(limited.body).code, 'too-many-lookups');
    assert.equal(s.callers.lookups, IMDS_LOOKUPS_PER_SECOND, 'no lookup for a refused connection');
    for (let i = 0; i < 5; i += 1) assert.equal((await s.request('/v1/credentials', { authorization: s.token })).status, 200, 'the container route keeps its own lookups');
    await s.clock.sleep(1_000);
    assert.equal((await put()).status, 200, 'the limit refills');
  } finally {
    await s.close();
  }
});
