/**
 * waitForNetwork on a fake clock and a scripted readNetwork: it backs off to at most 1 s,
 * becomes ready as soon as a poll sees the ENI, returns the last reason at the deadline,
 * never oversleeps the deadline, and never spins.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForNetwork, type WaitForNetworkInit } from '../../src/network/waitForNetwork.js';
import type { EniVerdict, InterfaceInfo, NetworkSnapshot, ReadNetwork } from '../../src/network/types.js';
import { createFakeClock, type FakeClock } from '../helpers/fakeClock.js';
import { S } from '../helpers/timings.js';
import { networkReaderFor } from '../../src/network/readLocalNetwork.js';

const START = Date.parse('2026-01-01T00:00:00Z');
const EXCLUDES = ['198.19.0.0/16', '169.254.0.0/16', '127.0.0.0/8'];
const NO_ADDRESS_REASON = `no interface with an IPv4 address outside ${EXCLUDES.join(', ')}`;

const lo: InterfaceInfo = { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ipv4: ['127.0.0.1'], internal: true };
const eni: InterfaceInfo = { name: 'eth1', mac: '0a:1b:2c:3d:4e:5f', operstate: 'up', ipv4: ['10.0.1.25'], internal: false };
const ONLY_LO: NetworkSnapshot = { interfaces: [lo], defaultRouteInterface: undefined };
const NO_ROUTE: NetworkSnapshot = { interfaces: [lo, eni], defaultRouteInterface: undefined };
const READY: NetworkSnapshot = { interfaces: [lo, eni], defaultRouteInterface: 'eth1' };

/** A guard against a busy loop: a correct poller never gets near this many reads in a test. */
const RUNAWAY = 10_000;

/** readNetwork that returns the scripted snapshots in turn (the last one repeats), counting calls. */
function scripted(...steps: Array<NetworkSnapshot | Error>): ReadNetwork & { calls: () => number } {
  let calls = 0;
  const read = async (): Promise<NetworkSnapshot> => {
    calls += 1;
    if (calls > RUNAWAY) throw new Error('runaway polling: readNetwork called more than 10000 times');
    const step = steps[Math.min(calls, steps.length) - 1]!;
    if (step instanceof Error) throw step;
    return step;
  };
  return Object.assign(read, { calls: () => calls });
}

/** readNetwork that is not ready for the first `notReadyPolls` calls, then ready. */
const readyAfter = (notReadyPolls: number) => scripted(...Array<NetworkSnapshot>(notReadyPolls).fill(ONLY_LO), READY);

function run(clock: FakeClock, readNetwork: ReadNetwork, timeoutMs: number, extra: Partial<WaitForNetworkInit> = {}) {
  const progress: Array<{ reason: string; elapsedMs: number }> = [];
  const verdict = waitForNetwork({
    readNetwork,
    criteria: { excludeCidrs: EXCLUDES },
    clock,
    deadline: clock.now() + timeoutMs,
    onProgress: (v: EniVerdict, elapsedMs: number) => progress.push({ reason: v.reason, elapsedMs }),
    ...extra,
  });
  return { verdict, progress };
}

describe('waitForNetwork: becoming ready', () => {
  test('Linux: the reader is polled at its fixed 100 ms, never backed off: an ENI is seen within one interval of appearing (simulated)', async () => {
    const linux = networkReaderFor('linux');
    assert.ok(linux.pollIntervalMs !== undefined && linux.pollIntervalMs <= 100, `the Linux reader declares a poll of ${linux.pollIntervalMs} ms`);
    const clock = createFakeClock(START);
    const appearsAt = START + 3_330;
    let reads = 0;
    const read: ReadNetwork = Object.assign(async () => {
      reads += 1;
      return clock.now() >= appearsAt ? READY : ONLY_LO;
    }, { pollIntervalMs: linux.pollIntervalMs });
    const v = await run(clock, read, 30 * S).verdict;
    assert.equal(v.ready, true);
    assert.ok(clock.now() >= appearsAt, 'not ready before the ENI appeared');
    assert.ok(clock.now() - appearsAt <= linux.pollIntervalMs, `seen ${clock.now() - appearsAt} ms after it appeared`);
    assert.deepEqual(new Set(clock.sleeps), new Set([linux.pollIntervalMs]), 'every sleep is the fixed interval');
    assert.equal(reads, Math.ceil(3_330 / linux.pollIntervalMs) + 1);
  });

  test('ready on the first poll: no sleep at all', async () => {
    const clock = createFakeClock(START);
    const read = scripted(READY);
    const { verdict, progress } = run(clock, read, 10 * S);
    const v = await verdict;
    assert.equal(v.ready, true);
    assert.deepEqual(v.eni, { name: 'eth1', mac: '0a:1b:2c:3d:4e:5f', address: '10.0.1.25' });
    assert.equal(read.calls(), 1);
    assert.deepEqual(clock.sleeps, []);
    assert.equal(progress.length, 0);
  });

  test('ready after N polls: exactly N+1 reads, one sleep between each, backing off to at most 1 s', async () => {
    const N = 8;
    const clock = createFakeClock(START);
    const read = readyAfter(N);
    const { verdict, progress } = run(clock, read, 60 * S);
    const v = await verdict;
    assert.equal(v.ready, true, v.reason);
    assert.equal(read.calls(), N + 1);
    assert.equal(clock.sleeps.length, N, 'one sleep after each failed poll');
    for (const [i, ms] of clock.sleeps.entries()) {
      assert.ok(ms > 0, `sleep #${i} is ${ms} ms: that is a busy loop`);
      assert.ok(ms <= 1_000, `sleep #${i} is ${ms} ms: the backoff cap is 1 s`);
      if (i > 0) assert.ok(ms >= clock.sleeps[i - 1]!, `backoff never shrinks: ${clock.sleeps.join(', ')}`);
    }
    assert.ok(clock.sleeps[0]! < 1_000, `the first retry comes sooner than the cap: ${clock.sleeps.join(', ')}`);
    assert.equal(Math.max(...clock.sleeps), 1_000, `the backoff reaches the 1 s cap: ${clock.sleeps.join(', ')}`);
    // Readiness is noticed on the poll right after it happens: the clock only moved by the sleeps.
    assert.equal(clock.now() - START, clock.sleptMs());
    // Progress went out after each failed poll, with the reason and a growing elapsed time.
    assert.equal(progress.length, N);
    assert.ok(progress.every((p) => p.reason === NO_ADDRESS_REASON));
    assert.deepEqual(progress.map((p) => p.elapsedMs), [...progress.map((p) => p.elapsedMs)].sort((a, b) => a - b));
    assert.equal(progress[0]!.elapsedMs, 0);
  });

  test('once the backoff is capped, the ENI is seen within 1 s of appearing (simulated)', async () => {
    const clock = createFakeClock(START);
    const appearsAt = START + 3_300;
    const read: ReadNetwork = async () => (clock.now() >= appearsAt ? READY : ONLY_LO);
    const v = await run(clock, read, 30 * S).verdict;
    assert.equal(v.ready, true);
    assert.ok(clock.now() >= appearsAt, 'not ready before the ENI appeared');
    assert.ok(clock.now() - appearsAt <= 1_000, `seen ${clock.now() - appearsAt} ms after it appeared`);
  });

  test('a failing readNetwork is a reason to keep waiting, not a crash', async () => {
    const clock = createFakeClock(START);
    const read = scripted(new Error('ip: command not found'), new Error('ip: command not found'), READY);
    const { verdict, progress } = run(clock, read, 10 * S);
    const v = await verdict;
    assert.equal(v.ready, true);
    assert.equal(read.calls(), 3);
    assert.equal(progress[0]!.reason, 'cannot read the network interfaces (ip: command not found)');
  });
});

describe('waitForNetwork: the deadline', () => {
  test('never ready: returns not ready with the last reason, exactly at the deadline (no oversleep)', async () => {
    const clock = createFakeClock(START);
    // The reason changes along the way; the result must carry the latest one.
    const read = scripted(ONLY_LO, ONLY_LO, ONLY_LO, NO_ROUTE);
    const { verdict, progress } = run(clock, read, 10 * S);
    const v = await verdict;
    assert.equal(v.ready, false);
    assert.equal(v.eni, undefined);
    assert.equal(v.reason, 'interface eth1 is up but carries no default route');
    assert.equal(clock.now(), START + 10 * S, `ended ${clock.now() - START} ms after start; the deadline was 10000`);
    assert.ok(progress.some((p) => p.reason === NO_ADDRESS_REASON));
  });

  test('the last poll happens at the deadline: an ENI that appears just before it is still seen', async () => {
    const clock = createFakeClock(START);
    const read: ReadNetwork = async () => (clock.now() >= START + 9_900 ? READY : ONLY_LO);
    const v = await run(clock, read, 10 * S).verdict;
    assert.equal(v.ready, true, v.reason);
    assert.ok(clock.now() <= START + 10 * S);
  });

  test('a deadline already passed still checks once (so --timeout 0s answers "ready now?")', async () => {
    for (const [snapshot, ready] of [[READY, true], [ONLY_LO, false]] as const) {
      const clock = createFakeClock(START);
      const read = scripted(snapshot);
      const v = await run(clock, read, 0).verdict;
      assert.equal(v.ready, ready);
      assert.equal(read.calls(), 1);
      assert.deepEqual(clock.sleeps, []);
    }
  });

  test('when every read fails, the timeout reason says why', async () => {
    const clock = createFakeClock(START);
    const v = await run(clock, scripted(new Error('EACCES')), 5 * S).verdict;
    assert.equal(v.ready, false);
    assert.equal(v.reason, 'cannot read the network interfaces (EACCES)');
  });
});

describe('waitForNetwork: no busy loop', () => {
  test('polls in a 60 s window are bounded (about one per second once backed off)', async (t) => {
    const clock = createFakeClock(START);
    const read = scripted(ONLY_LO);
    const v = await run(clock, read, 60 * S).verdict;
    assert.equal(v.ready, false);
    t.diagnostic(`60 s simulated: ${read.calls()} polls; sleeps began ${clock.sleeps.slice(0, 4).join(', ')} ms`);
    // With a 1 s cap and a start below it, 60 s allows at most ~63 polls; a spin would do thousands.
    assert.ok(read.calls() <= 65, `${read.calls()} polls in 60 s`);
    // And it does keep polling all along (it did not give up early or sleep through the window).
    assert.ok(read.calls() >= 55, `${read.calls()} polls in 60 s`);
    assert.ok(clock.sleeps.every((ms) => ms > 0), 'every pause is a real pause');
  });

  test('even when readNetwork fails instantly every time, polls stay bounded', async () => {
    const clock = createFakeClock(START);
    const read = scripted(new Error('boom'));
    await run(clock, read, 30 * S).verdict;
    assert.ok(read.calls() <= 35, `${read.calls()} polls in 30 s`);
  });

  test('the polls per simulated second settle at one (the 1 s cap), not fewer, over a long wait', async () => {
    const clock = createFakeClock(START);
    const read = scripted(ONLY_LO);
    await run(clock, read, 300 * S).verdict; // the default waitTimeout
    const tail = clock.sleeps.slice(5, -1);
    assert.ok(tail.length > 250);
    assert.ok(tail.every((ms) => ms === 1_000), `after the ramp every sleep is 1 s: ${[...new Set(tail)].join(', ')}`);
  });
});

describe('waitForNetwork: abort', () => {
  test('an abort (Ctrl-C) ends the wait promptly with not ready', async () => {
    const clock = createFakeClock(START);
    const controller = new AbortController();
    let calls = 0;
    const read: ReadNetwork = async () => {
      calls += 1;
      if (calls === 3) controller.abort();
      return ONLY_LO;
    };
    const v = await run(clock, read, 60 * S, { signal: controller.signal }).verdict;
    assert.equal(v.ready, false);
    assert.equal(calls, 3);
    assert.ok(clock.now() - START < 5 * S);
  });
});
