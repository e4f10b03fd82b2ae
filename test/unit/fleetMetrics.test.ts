/**
 * Fleet metrics (issue 23) below the daemon: the values from a real Tracker, the publisher's
 * once-per-cause logging, backoff, counts and RequestsRefused baseline (fake clock, injected
 * send), and the EMF objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logCapture } from '../helpers/logCapture.js';
import { createFakeClock } from '../helpers/fakeClock.js';
import { Tracker } from '../../src/tracker/Tracker.js';
import { createLogger } from '../../src/log/createLogger.js';
import { fleetDimensions, fleetMetricValues, type MetricDatum } from '../../src/fleetMetrics/fleetMetricValues.js';
import { MAX_BACKOFF_MS, MetricsPublisher, failureCause } from '../../src/fleetMetrics/MetricsPublisher.js';
import { fleetPublisher } from '../../src/daemon/fleetPublisher.js';
import { RequestCounters } from '../../src/http/requestCounters.js';
import { emfObjects } from '../../src/fleetMetrics/emfLine.js';
import { readAppStreamIdentity } from '../../src/identity/appStreamIdentity.js';
import { M, H, TEST_TIMINGS } from '../helpers/timings.js';
import type { Settings } from '../../src/config/settingsSchema.js';

const T0 = Date.parse('2026-12-04T04:00:00Z');
const DIMS = { ResourceName: 'fleet-a', ResourceType: 'fleet' };

async function rig() {
  const clock = createFakeClock(T0);
  const { lines, sink } = logCapture();
  const logger = await createLogger({ level: 'debug', destination: sink });
  const tracker = new Tracker({ clock, logger, networkReady: true, timings: TEST_TIMINGS });
  return { clock, lines, logger, tracker };
}

const creds = (id: string, expiresAt: number) => ({ credentials: { accessKeyId: id, secretAccessKey: `secret-${id}`, sessionToken: `token-${id}`, expiration: new Date(expiresAt) }, origin: 'test' });
const byName = (data: MetricDatum[]): Record<string, number> => Object.fromEntries(data.map((d) => [d.name + (d.dimensions.Role ? `/${d.dimensions.Role}` : ''), d.value]));

test('values: remaining seconds of the served generation, overdue and expired flags, refusals, each role', async () => {
  const { clock, tracker } = await rig();
  const role = new Tracker({ clock, logger: await createLogger({ level: 'silent' }), networkReady: true, timings: TEST_TIMINGS });
  tracker.observe(creds('ASIAONE', T0 + H));
  role.observe(creds('ASIAROLE', T0 + 20 * M));
  const data = fleetMetricValues({ tracker, roles: new Map([['reporting', { tracker: role }]]), refused: 3, dimensions: DIMS, now: clock.now() });
  assert.deepEqual(byName(data), { CredentialsRemainingSeconds: 3600, RefreshOverdue: 0, Expired: 0, RequestsRefused: 3, 'RoleCredentialsRemainingSeconds/reporting': 1200 });
  assert.deepEqual(data[0]!.dimensions, DIMS);
  assert.deepEqual(data.at(-1)!.dimensions, { ...DIMS, Role: 'reporting' });
  clock.advance(H + 11 * M); // past refreshInterval + refreshGrace: overdue; past expiry
  tracker.evaluate();
  const later = byName(fleetMetricValues({ tracker, roles: new Map(), refused: 0, dimensions: DIMS, now: clock.now() }));
  assert.equal(later.CredentialsRemainingSeconds, 0);
  assert.equal(later.Expired, 1);
});

test('values: refresh overdue while still valid is RefreshOverdue 1, Expired 0', async () => {
  const { clock, tracker } = await rig();
  tracker.observe(creds('ASIAONE', T0 + 6 * H));
  clock.advance(H + 11 * M);
  tracker.evaluate();
  const v = byName(fleetMetricValues({ tracker, roles: new Map(), refused: 0, dimensions: DIMS, now: clock.now() }));
  assert.deepEqual([v.RefreshOverdue, v.Expired, v.CredentialsRemainingSeconds], [1, 0, (6 * H - H - 11 * M) / 1000]);
});

test('dimensions: fleet name, type and stack from the identity; Instance only when asked', () => {
  const identity = readAppStreamIdentity({ env: { AppStream_Resource_Name: 'fleet-a', AppStream_Resource_Type: 'fleet', AppStream_Stack_Name: 'stack-1', AppStream_Session_ID: 's-1' }, readFile: () => undefined });
  assert.deepEqual(fleetDimensions(identity, undefined), { ResourceName: 'fleet-a', ResourceType: 'fleet', Stack: 'stack-1' });
  assert.deepEqual(fleetDimensions(identity, 'ip-10-0-0-1'), { ResourceName: 'fleet-a', ResourceType: 'fleet', Stack: 'stack-1', Instance: 'ip-10-0-0-1' });
});

test('publisher: a failure is logged once per cause, backs off doubling to the cap, is counted, and recovery resets it', async () => {
  const { clock, lines, logger } = await rig();
  const outcomes: Array<Error | undefined> = [];
  const sent: MetricDatum[][] = [];
  const publisher = new MetricsPublisher({
    clock,
    logger,
    intervalMs: 60_000,
    describe: { format: 'cloudwatch', namespace: 'NS' },
    collect: () => ({ data: [{ name: 'X', value: 1, unit: 'Count', dimensions: {} }] }),
    send: async (data) => {
      const outcome = outcomes.shift();
      if (outcome) throw outcome;
      sent.push([...data]);
    },
  });
  const econnrefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const denied = Object.assign(new Error('User is not authorized to perform: cloudwatch:PutMetricData'), { name: 'AccessDenied' });
  outcomes.push(econnrefused, econnrefused, econnrefused, denied, econnrefused);
  const delays: number[] = [];
  for (let i = 0; i < 6; i += 1) delays.push(await publisher.publishOnce());
  assert.deepEqual(delays, [120_000, 240_000, 480_000, 960_000 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : 960_000, MAX_BACKOFF_MS, 60_000]);
  const warnings = lines.filter((l) => /fleet metrics not published/.test(String(l.msg)));
  assert.deepEqual(warnings.map((l) => l.cause), ['unreachable-ECONNREFUSED', 'access-denied']);
  assert.match(String(warnings[1]!.msg), /policy fleet-metrics/);
  const report = publisher.report();
  assert.equal(report.failures, 5);
  assert.equal(report.published, 1);
  assert.equal(report.consecutiveFailures, 0);
  assert.equal(report.lastError?.cause, 'unreachable-ECONNREFUSED');
  assert.equal(sent.length, 1);
  assert.ok(lines.some((l) => l.msg === 'fleet metrics published again'));
});

test('publisher: a send that never answers is cut off and counted as a timeout', async () => {
  const { clock, logger } = await rig();
  const publisher = new MetricsPublisher({ clock, logger, intervalMs: 1_000, timeoutMs: 50, describe: { format: 'cloudwatch', namespace: 'NS' }, collect: () => ({ data: [] }), send: () => new Promise(() => {}) });
  assert.equal(await publisher.publishOnce(), 2_000);
  assert.equal(publisher.report().lastError?.cause, 'timeout');
});

test('publisher: RequestsRefused counts the refusals since the last delivered batch (a failed one carries them over)', async () => {
  const { clock, logger, tracker } = await rig();
  tracker.observe(creds('ASIAONE', T0 + H));
  const counters = new RequestCounters();
  let fail = false;
  const batches: number[] = [];
  const settings = { metricsInterval: 60_000, metricsFormat: 'cloudwatch' } as Settings;
  const publisher = fleetPublisher({
    settings,
    namespace: 'NS',
    tracker,
    roles: new Map(),
    counters,
    clock,
    logger,
    dimensions: () => DIMS,
    send: () => async (data) => {
      if (fail) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      batches.push(data.find((d) => d.name === 'RequestsRefused')!.value);
    },
  });
  counters.inc('credentials', 403);
  counters.inc('credentials', 200);
  counters.inc('status', 503);
  await publisher.publishOnce();
  counters.inc('credentials', 403);
  fail = true;
  await publisher.publishOnce();
  assert.equal(publisher.report().lastError?.cause, 'throttled');
  fail = false;
  counters.inc('imds', 403);
  await publisher.publishOnce();
  await publisher.publishOnce();
  assert.deepEqual(batches, [2, 2, 0]);
});

test('failureCause names each kind of failure', () => {
  assert.equal(failureCause(Object.assign(new Error('x'), { name: 'AccessDeniedException' })).cause, 'access-denied');
  assert.equal(failureCause(Object.assign(new Error('x'), { name: 'Throttling' })).cause, 'throttled');
  // An XML or HTML refusal the JSON client cannot parse still carries its HTTP status.
  assert.equal(failureCause(Object.assign(new SyntaxError("Unexpected token '<'"), { $response: { statusCode: 403 } })).cause, 'access-denied');
  assert.equal(failureCause(Object.assign(new SyntaxError("Unexpected token '<'"), { $metadata: { httpStatusCode: 429 } })).cause, 'throttled');
  assert.equal(failureCause(Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })).cause, 'timeout');
  assert.equal(failureCause(Object.assign(new Error('getaddrinfo ENOTFOUND monitoring'), { code: 'ENOTFOUND' })).cause, 'unreachable-ENOTFOUND');
  assert.equal(failureCause(Object.assign(new Error('bad'), { name: 'InvalidParameterValue' })).cause, 'error-InvalidParameterValue');
});

test('EMF: one object per dimension set, with _aws metadata, dimension values and metric values at the top level', () => {
  const data: MetricDatum[] = [
    { name: 'CredentialsRemainingSeconds', value: 1200, unit: 'Seconds', dimensions: DIMS },
    { name: 'Expired', value: 0, unit: 'Count', dimensions: DIMS },
    { name: 'RoleCredentialsRemainingSeconds', value: 600, unit: 'Seconds', dimensions: { ...DIMS, Role: 'r' } },
  ];
  const objects = emfObjects('NS', data, T0);
  assert.equal(objects.length, 2);
  assert.deepEqual(objects[0], {
    _aws: { Timestamp: T0, CloudWatchMetrics: [{ Namespace: 'NS', Dimensions: [['ResourceName', 'ResourceType']], Metrics: [{ Name: 'CredentialsRemainingSeconds', Unit: 'Seconds' }, { Name: 'Expired', Unit: 'Count' }] }] },
    ResourceName: 'fleet-a',
    ResourceType: 'fleet',
    CredentialsRemainingSeconds: 1200,
    Expired: 0,
  });
  assert.deepEqual((objects[1]!._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0]!.Dimensions, [['ResourceName', 'ResourceType', 'Role']]);
});
