/**
 * The `status` timeline (issue 23 point 5) with fixed clocks: the same report drawn at chosen
 * instants. Checked by the drawing's geometry (where now, expiry and the refresh marks fall on the
 * axis), not by a stored snapshot; the real terminal is covered by test/e2e/fleetStatusTty.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTimeline } from '../../src/tracker/renderTimeline.js';
import { renderStatus, type StatusReport } from '../../src/tracker/describeTracker.js';
import { H, M } from '../helpers/timings.js';

const T0 = Date.parse('2026-12-04T03:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const gen = (id: number, start: number, end: number) => ({ id, keyId: `ASIA…000${id}`, firstSeenAt: iso(start), expiresAt: iso(end), expiry: 'source' as const, expiresInSeconds: 0, origin: 'test' });
const report = (over: Partial<StatusReport> = {}): StatusReport => ({
  state: 'ready',
  mode: 'agent',
  profile: 'appstream_machine_role',
  current: gen(2, T0 + H, T0 + 2 * H),
  generations: [gen(1, T0, T0 + H), gen(2, T0 + H, T0 + 2 * H)],
  lastRefreshAt: iso(T0 + H),
  refreshDueAt: iso(T0 + 2 * H),
  lastError: null,
  ...over,
});
const opts = (now: number, colour = false) => ({ now, expiryWarningMs: 15 * M, refreshGraceMs: 10 * M, colour, width: 41 });
// With width 41 over a 2 h axis, one column is 3 minutes.
const bar = (line: string): string => line.slice(14, 14 + 41);
const row = (lines: string[], label: string): string => lines.find((l) => l.startsWith(`  ${label}`))!;

test('each generation spans first seen to expiry; now is one column on every row; the expiring window is the last 15 min', () => {
  const lines = renderTimeline(report(), opts(T0 + H + 30 * M));
  const now = 30; // 90 min of 120 over 40 columns
  for (const label of ['gen 1', 'gen 2']) assert.equal(bar(row(lines, label))[now], '|', `${label}: ${row(lines, label)}`);
  assert.equal(row(lines, 'now').indexOf('|'), 14 + now);
  const g1 = bar(row(lines, 'gen 1'));
  assert.equal(g1.indexOf('['), 0);
  assert.equal(g1.indexOf(']'), 20);
  assert.equal(g1.slice(16, 20), '~~~~'); // 03:45–04:00
  assert.match(row(lines, 'gen 1'), /03:00-04:00 expired$/);
  const g2 = bar(row(lines, 'gen 2'));
  assert.equal(g2.indexOf('['), 20);
  assert.equal(g2.indexOf(']'), 40);
  assert.match(row(lines, 'gen 2'), /04:00-05:00 valid \(served\)$/);
  assert.match(row(lines, 'refresh'), /next refresh due 05:00, overdue after 05:10/);
  assert.ok(lines.every((l) => !l.includes('\u001b')), 'no colour unless asked');
});

test('the same report 25 min later: gen 2 is in its expiring window', () => {
  const lines = renderTimeline(report(), opts(T0 + H + 50 * M));
  assert.match(row(lines, 'gen 2'), /expiring \(served\)$/);
  assert.equal(bar(row(lines, 'gen 2'))[37], '|'); // 110 of 120 min
});

test('an overdue refresh: ^ at the due time, - through the grace, ! from then until now', () => {
  const lines = renderTimeline(report({ state: 'refresh-overdue', refreshDueAt: iso(T0 + H + 15 * M) }), opts(T0 + H + 45 * M));
  const refresh = bar(row(lines, 'refresh'));
  assert.equal(refresh.indexOf('^'), 25);
  assert.equal(refresh.slice(26, 28), '--');
  assert.equal(refresh.slice(28, 36), '!'.repeat(8)); // 04:25 to 04:45
  assert.match(row(lines, 'refresh'), /refresh overdue since 04:25 \(due 04:15\)/);
});

test('colour: the same characters, wrapped in SGR codes (green valid, yellow expiring, red overdue)', () => {
  const plain = renderTimeline(report({ refreshDueAt: iso(T0 + H + 15 * M) }), opts(T0 + H + 50 * M));
  const coloured = renderTimeline(report({ refreshDueAt: iso(T0 + H + 15 * M) }), opts(T0 + H + 50 * M, true));
  const strip = (l: string): string => l.replace(/\u001b\[[0-9;]*m/g, '');
  assert.deepEqual(coloured.map(strip), plain);
  assert.match(row(coloured, 'gen 2'), /\u001b\[32m=+\u001b\[0m/);
  assert.match(row(coloured, 'gen 2'), /\u001b\[33mexpiring\u001b\[0m/);
  assert.match(row(coloured, 'refresh'), /\u001b\[31mrefresh overdue/);
});

test('no generation yet: says so; renderStatus adds the timeline only when asked, and the metrics line', () => {
  assert.deepEqual(renderTimeline(report({ current: null, generations: [] }), opts(T0)), ['timeline:     no generation seen yet']);
  const metrics = { format: 'cloudwatch', namespace: 'NS', intervalSeconds: 60, published: 3, failures: 2, consecutiveFailures: 2, lastPublishedAt: iso(T0), nextAttemptAt: iso(T0 + 4 * M), lastError: { cause: 'timeout', message: 'CloudWatch did not answer in time', at: iso(T0 + M) } };
  const text = renderStatus(report({ metrics }));
  assert.doesNotMatch(text, /timeline:/);
  assert.match(text, /metrics: +cloudwatch NS every 60s: 3 published .*, 2 failed, 2 in a row/);
  assert.match(text, /metrics error: CloudWatch did not answer in time \(timeout/);
  assert.match(renderStatus(report(), opts(T0 + H)), /timeline:/);
});
