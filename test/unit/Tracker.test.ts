import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logCapture } from '../helpers/logCapture.js';
import { Tracker } from '../../src/tracker/Tracker.js';
import { createLogger } from '../../src/log/createLogger.js';
import type { SourcedCredentials } from '../../src/credentials.js';
import { S, M, H, TEST_TIMINGS } from '../helpers/timings.js';

const timings = TEST_TIMINGS;

function setup(networkReady = true) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = { now: () => now, sleep: async () => {} };
  const { lines, sink } = logCapture();
  return {
    clock,
    lines,
    advance: (ms: number) => (now += ms),
    at: () => now,
    make: async () => new Tracker({ clock, timings, networkReady, logger: await createLogger({ level: 'debug', destination: sink }) }),
  };
}

let counter = 0;
const creds = (over: Partial<SourcedCredentials['credentials']> = {}, issuedAt?: Date): SourcedCredentials => {
  counter += 1;
  return {
    credentials: { accessKeyId: `ASIAGENERATION${String(counter).padStart(6, '0')}`, secretAccessKey: `secret-${counter}-xyz`, sessionToken: `token-${counter}-abc`, ...over },
    origin: 'test',
    ...(issuedAt ? { issuedAt } : {}),
  };
};

test('walks waiting-for-network -> waiting-for-credentials -> ready -> refresh-overdue -> expiring -> expired', async () => {
  const t = setup(false);
  const tracker = await t.make();
  assert.equal(tracker.evaluate(), 'waiting-for-network');
  tracker.setNetworkReady(true);
  assert.equal(tracker.state(), 'waiting-for-credentials');
  tracker.observe(creds());
  assert.equal(tracker.state(), 'ready');
  t.advance(H + 10 * M); // exactly at the grace boundary: not yet overdue
  assert.equal(tracker.evaluate(), 'ready');
  t.advance(1);
  assert.equal(tracker.evaluate(), 'refresh-overdue');
  t.advance(6 * H - (H + 10 * M) - 30 * M - 1); // 30 min before expiry
  assert.equal(tracker.evaluate(), 'expiring');
  t.advance(30 * M);
  assert.equal(tracker.evaluate(), 'expired');
  assert.equal(tracker.current(), undefined);
  const states = t.lines.filter((l) => typeof l.state === 'string').map((l) => l.state);
  assert.deepEqual(states, ['waiting-for-network', 'waiting-for-credentials', 'ready', 'refresh-overdue', 'expiring', 'expired']);
});

test('refresh-overdue returns to ready when a new generation arrives', async () => {
  const t = setup();
  const tracker = await t.make();
  tracker.observe(creds());
  t.advance(2 * H);
  assert.equal(tracker.evaluate(), 'refresh-overdue');
  const second = tracker.observe(creds());
  assert.equal(tracker.state(), 'ready');
  assert.equal(tracker.current()?.id, second.id);
  assert.equal(second.id, 2);
});

test('expiring returns to ready when a new generation arrives', async () => {
  const t = setup();
  const tracker = await t.make();
  tracker.observe(creds());
  t.advance(5 * H + 45 * M);
  assert.equal(tracker.evaluate(), 'expiring');
  tracker.observe(creds());
  assert.equal(tracker.evaluate(), 'ready');
});

test('expired recovers to ready with a fresh generation; an expired one is never returned', async () => {
  const t = setup();
  const tracker = await t.make();
  const first = tracker.observe(creds());
  t.advance(6 * H);
  assert.equal(tracker.evaluate(), 'expired');
  assert.equal(tracker.current(), undefined, 'expired generation must not be served');
  // Seeing the same, now expired, keys again does not revive them.
  tracker.observe({ credentials: first.credentials, origin: 'test' });
  assert.equal(tracker.current(), undefined);
  tracker.observe(creds());
  assert.equal(tracker.evaluate(), 'ready');
});

test("uses the source's Expiration when given, else first-seen + validity", async () => {
  const t = setup();
  const tracker = await t.make();
  const withExpiry = tracker.observe(creds({ expiration: new Date(t.at() + 45 * M) }));
  assert.equal(withExpiry.expiresAt, t.at() + 45 * M);
  assert.equal(withExpiry.expirySource, 'source');
  const estimated = tracker.observe(creds());
  assert.equal(estimated.expiresAt, t.at() + 6 * H);
  assert.equal(estimated.expirySource, 'estimated');
});

test('a file written earlier (issuedAt) dates the generation, so an old file is already overdue', async () => {
  const t = setup();
  const tracker = await t.make();
  const generation = tracker.observe(creds({}, new Date(t.at() - 2 * H)));
  assert.equal(generation.firstSeenAt, t.at() - 2 * H);
  assert.equal(generation.expiresAt, t.at() + 4 * H);
  assert.equal(tracker.state(), 'refresh-overdue');
  // A future mtime (clock skew) never dates a generation after now.
  const future = tracker.observe(creds({}, new Date(t.at() + H)));
  assert.equal(future.firstSeenAt, t.at());
});

test('serves the newest unexpired generation; older valid ones stay valid until they expire', async () => {
  const t = setup();
  const tracker = await t.make();
  const a = tracker.observe(creds({ expiration: new Date(t.at() + 6 * H) }));
  t.advance(H);
  const b = tracker.observe(creds({ expiration: new Date(t.at() + 30 * S) }));
  assert.equal(tracker.current()?.id, b.id);
  t.advance(31 * S);
  // b expired first; a is older but still valid, so it is served.
  assert.equal(tracker.current()?.id, a.id);
  assert.equal(tracker.generations().length, 2);
});

test('same key id observed again is the same generation; a read sharing some but not all of key id, secret and token is torn and refused', async () => {
  const t = setup();
  const tracker = await t.make();
  const c = creds();
  const one = tracker.observe(c);
  t.advance(M);
  assert.equal(tracker.observe(c), one);
  assert.equal(tracker.generations().length, 1);
  const torn = [
    { ...c.credentials, secretAccessKey: 'rotated-secret' },
    { ...c.credentials, accessKeyId: 'ASIANEWKEYID00000001' },
    { ...c.credentials, accessKeyId: 'ASIANEWKEYID00000002', secretAccessKey: 'new-secret' },
  ];
  for (const credentials of torn) {
    assert.throws(() => tracker.observe({ ...c, credentials }), (e: { code?: string; transient?: boolean }) => e.code === 'torn-read' && e.transient === true);
  }
  assert.equal(tracker.generations().length, 1);
  assert.equal(tracker.current()?.credentials.secretAccessKey, c.credentials.secretAccessKey, 'the stored generation is untouched');
});

test('generations are ordered by observation, not wall time: a clock stepped back still serves the newest', async () => {
  let wall = Date.parse('2026-01-02T00:00:00Z');
  let mono = 0;
  const clock = { now: () => wall, monotonic: () => mono, sleep: async () => {} };
  const tracker = new Tracker({ clock, timings, networkReady: true });
  const ahead = tracker.observe(creds({ expiration: new Date(wall + H) }));
  wall -= 24 * H; // the clock steps back a day
  mono += S;
  const newer = tracker.observe(creds({ expiration: new Date(wall + H) }));
  assert.equal(tracker.current()?.id, newer.id);
  assert.equal(tracker.current()?.credentials.expiration.getTime(), wall + H, 'served Expiration is what the source said');
  // The older generation's life is also bounded by the monotonic clock: it ends an hour after it was seen.
  assert.ok(ahead.expiresAt - wall > 24 * H);
  mono += H;
  wall += H;
  assert.equal(tracker.current(), undefined);
});

test('an Expiration absurdly far ahead is capped to 12 h with a warning', async () => {
  const t = setup();
  const tracker = await t.make();
  const c = creds({ expiration: new Date('2030') });
  const g = tracker.observe(c);
  assert.equal(g.expiresAt, t.at() + 12 * H);
  t.advance(M);
  assert.equal(tracker.observe(c).expiresAt, g.expiresAt, 're-reading keeps the cap rather than pushing it forward');
  assert.equal(t.lines.filter((l) => String(l.msg).includes('capped')).length, 1);
});

test('each transition is logged once, failures once per distinct failure, and no secret in any line', async () => {
  const t = setup();
  const tracker = await t.make();
  const c = creds();
  tracker.observe(c);
  for (let i = 0; i < 5; i += 1) {
    tracker.reportFailure({ code: 'file-missing', message: '/x/credentials: no such file' });
    tracker.evaluate();
  }
  tracker.reportFailure({ code: 'file-malformed', message: '/x/credentials:3: malformed line' });
  tracker.observe(c);
  const messages = t.lines.map((l) => String(l.msg));
  assert.equal(messages.filter((m) => m.startsWith('credential source failed: /x/credentials: no such file')).length, 1);
  assert.equal(messages.filter((m) => m.includes('malformed')).length, 1);
  assert.equal(messages.filter((m) => m === 'credential source recovered').length, 1);
  assert.equal(messages.filter((m) => m.startsWith('state ')).length, 1);
  const all = JSON.stringify(t.lines);
  assert.ok(!all.includes(c.credentials.secretAccessKey));
  assert.ok(!all.includes(c.credentials.sessionToken!));
  assert.ok(!all.includes(c.credentials.accessKeyId), 'key ids appear only masked');
});

test('transition levels: overdue and expiring warn, expired is an error', async () => {
  const t = setup();
  const tracker = await t.make();
  tracker.observe(creds());
  t.advance(2 * H);
  tracker.evaluate();
  t.advance(4 * H - 10 * M);
  tracker.evaluate();
  t.advance(10 * M);
  tracker.evaluate();
  const level = (state: string) => t.lines.find((l) => l.state === state)?.level;
  assert.equal(level('ready'), 30);
  assert.equal(level('refresh-overdue'), 40);
  assert.equal(level('expiring'), 40);
  assert.equal(level('expired'), 50);
});

test('nextChangeIn points at the next boundary so timers need not poll', async () => {
  const t = setup();
  const tracker = await t.make();
  tracker.observe(creds());
  assert.equal(tracker.nextChangeIn(), H + 10 * M + 1);
  t.advance(H + 10 * M + 1);
  assert.equal(tracker.evaluate(), 'refresh-overdue');
  assert.equal(tracker.nextChangeIn(), 6 * H - 30 * M - (H + 10 * M + 1) + 1);
});

test('issue 20: a torn generation is replaced once the same key id settles with a new secret and token; an old secret under a new key id never settles', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const tracker = new Tracker({ clock: { now: () => now, sleep: async () => {} }, timings, networkReady: true, conflictSettleMs: 500 });
  const set = (accessKeyId: string, secretAccessKey: string, sessionToken: string): SourcedCredentials => ({ credentials: { accessKeyId, secretAccessKey, sessionToken }, origin: 'test' });
  // First read caught the writer mid-way: new key id, old secret and token.
  tracker.observe(set('ASIANEW', 'old-secret', 'old-token'));
  const complete = set('ASIANEW', 'new-secret', 'new-token');
  assert.throws(() => tracker.observe(complete), /mixed parts/);
  now += 100;
  assert.throws(() => tracker.observe(complete), /mixed parts/, 'not settled before conflictSettleMs');
  now += 500;
  tracker.observe(complete);
  assert.equal(tracker.current()?.credentials.secretAccessKey, 'new-secret');
  assert.equal(tracker.generations().filter((g) => g.credentials.accessKeyId === 'ASIANEW').length, 1, 'the torn set is no longer kept');
  // A new key id with the served secret and token is a mix, however long it stays.
  const mix = set('ASIANEXT', 'new-secret', 'new-token');
  assert.throws(() => tracker.observe(mix), /mixed parts/);
  now += 10_000;
  assert.throws(() => tracker.observe(mix), /mixed parts/);
  assert.equal(tracker.current()?.credentials.accessKeyId, 'ASIANEW');
});

test('issue 20 point 2: a set STS verified replaces at once the unverified torn generation it conflicts with; generations carry their verification', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const tracker = new Tracker({ clock: { now: () => now, sleep: async () => {} }, timings, networkReady: true });
  const set = (accessKeyId: string, secretAccessKey: string, sessionToken: string, verified: boolean): SourcedCredentials => ({
    credentials: { accessKeyId, secretAccessKey, sessionToken },
    origin: 'test',
    verification: { verified, detail: verified ? 'STS GetCallerIdentity accepted it' : 'not verified: STS did not answer' },
  });
  // Served unverified while STS was down: the writer's mix (new key id, old secret and token).
  tracker.observe(set('ASIANEW', 'old-secret', 'old-token', false));
  assert.equal(tracker.current()?.verification?.verified, false);
  // Unverified, the complete set is refused as torn (no settle period configured here)...
  assert.throws(() => tracker.observe(set('ASIANEW', 'new-secret', 'new-token', false)), /mixed parts/);
  // ...verified, it is whole by proof: served at once, and the mix is gone.
  tracker.observe(set('ASIANEW', 'new-secret', 'new-token', true));
  assert.equal(tracker.current()?.credentials.secretAccessKey, 'new-secret');
  assert.equal(tracker.current()?.verification?.verified, true);
  assert.deepEqual(tracker.generations().map((g) => g.credentials.secretAccessKey), ['new-secret']);
});
