/**
 * CredentialRefresher: keeps a real Tracker current from an injected source. Timer-driven
 * behaviour (backoff, re-run ahead of an Expiration) runs under node's mock timers so the
 * delays are checked exactly; file watching runs on a real temp folder with real time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logCapture } from '../helpers/logCapture.js';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CredentialRefresher, MAX_DEBOUNCE_MS, type RefresherInit } from '../../src/daemon/CredentialRefresher.js';
import { Tracker } from '../../src/tracker/Tracker.js';
import { createLogger } from '../../src/log/createLogger.js';
import { AgentError } from '../../src/errors.js';
import type { CredentialSource, SourcedCredentials } from '../../src/credentials.js';
import { S, M, H, TEST_TIMINGS } from '../helpers/timings.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function setup(over: Partial<RefresherInit> & { source: CredentialSource }) {
  let now = T0;
  const clock = { now: () => now, sleep: async () => {} };
  const { lines, sink } = logCapture();
  const ready = (async () => {
    const logger = await createLogger({ level: 'debug', destination: sink });
    const tracker = new Tracker({ clock, logger, networkReady: true, timings: TEST_TIMINGS });
    const refresher = new CredentialRefresher({ tracker, clock, logger, files: [], refreshInterval: H, pollMs: H, ...over });
    return { tracker, refresher };
  })();
  return { clock, lines, advance: (ms: number) => (now += ms), ready };
}

const creds = (accessKeyId: string, expiration?: Date): SourcedCredentials => ({
  credentials: { accessKeyId, secretAccessKey: `secret-of-${accessKeyId}`, sessionToken: `session-of-${accessKeyId}`, ...(expiration ? { expiration } : {}) },
  origin: 'test',
});

/** Lets pending promise chains (source, tracker, re-scheduling) settle; setImmediate is never mocked here. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
};

/** Polls `check` until true; `timeoutMs` is a hang guard, not a figure under test. */
async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`hang guard: ${timeoutMs} ms passed waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves once fs.watch on `dir` reports `name`: the refresher's own watcher got the same event. */
function watchedEvent(dir: string, name: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dir, (_event, changed) => {
      if (String(changed) !== name) return;
      watcher.close();
      // The refresher's watcher is dispatched from the same inotify read; let it run first.
      setImmediate(resolve);
    });
  });
}

test('a change to a watched file triggers a re-read (fs.watch; the stat poll is off)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refresher-'));
  const file = path.join(dir, 'credentials');
  let reads = 0;
  const source: CredentialSource = async () => {
    reads += 1;
    const id = (await readFile(file, 'utf8')).trim();
    // An in-place rewrite can be caught between truncate and write, as the real source knows.
    if (!id) throw new AgentError(`${file}: empty`, { code: 'file-empty', transient: true });
    return creds(id);
  };
  await writeFile(file, 'ASIAFIRSTGENERATION1\n');
  const { ready } = setup({ source, files: [file], pollMs: H });
  const { tracker, refresher } = await ready;
  try {
    await refresher.start();
    assert.equal(reads, 1);
    assert.equal(tracker.current()?.credentials.accessKeyId, 'ASIAFIRSTGENERATION1');

    // Replacement by rename, as AppStream and most writers do it.
    await writeFile(`${file}.tmp`, 'ASIASECONDGENERATION\n');
    await rename(`${file}.tmp`, file);
    await waitUntil(() => tracker.current()?.credentials.accessKeyId === 'ASIASECONDGENERATION', 30_000, 'the renamed file to be read');

    // In-place rewrite (truncate + write).
    await writeFile(file, 'ASIATHIRDGENERATION1\n');
    await waitUntil(() => tracker.current()?.credentials.accessKeyId === 'ASIATHIRDGENERATION1', 30_000, 'the rewritten file to be read');
    assert.deepEqual(tracker.generations().map((g) => g.credentials.accessKeyId), ['ASIAFIRSTGENERATION1', 'ASIASECONDGENERATION', 'ASIATHIRDGENERATION1']);
  } finally {
    refresher.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a change to another file in the watched folder schedules no read; the watched file, in the same order, does', async (t) => {
  // Timers are mocked: whether a read was scheduled is seen by running every timer, not by waiting.
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refresher-'));
  const file = path.join(dir, 'credentials');
  let reads = 0;
  const source: CredentialSource = async () => {
    reads += 1;
    return creds((await readFile(file, 'utf8')).trim());
  };
  await writeFile(file, 'ASIAFIRSTGENERATION1\n');
  const { ready } = setup({ source, files: [file], pollMs: H });
  const { tracker, refresher } = await ready;
  try {
    await refresher.start();
    assert.equal(reads, 1);

    const unrelated = watchedEvent(dir, 'unrelated.txt');
    await writeFile(path.join(dir, 'unrelated.txt'), 'hello');
    await unrelated;
    t.mock.timers.tick(MAX_DEBOUNCE_MS * 10);
    await settle();
    assert.equal(reads, 1, 'a change to an unwatched file must not schedule a read');

    // The control, through the same path: the watched file's event does schedule one.
    const watched = watchedEvent(dir, 'credentials');
    await writeFile(`${file}.tmp`, 'ASIASECONDGENERATION\n');
    await rename(`${file}.tmp`, file);
    await watched;
    t.mock.timers.tick(MAX_DEBOUNCE_MS * 10);
    assert.equal(reads, 2, 'the watched file\'s change schedules exactly one read');
    // The read itself is real file I/O: let it finish (setImmediate is not mocked).
    for (let i = 0; i < 100_000 && tracker.current()?.credentials.accessKeyId !== 'ASIASECONDGENERATION'; i += 1) await new Promise((r) => setImmediate(r));
    assert.equal(tracker.current()?.credentials.accessKeyId, 'ASIASECONDGENERATION');
  } finally {
    refresher.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a profile whose folder does not exist yet is picked up once it appears (stat poll)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refresher-'));
  const file = path.join(dir, 'later', 'credentials');
  const source: CredentialSource = async () => {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new AgentError(`${file}: no such file`, { code: 'file-missing' });
    });
    return creds(text.trim());
  };
  const { ready } = setup({ source, files: [file], pollMs: 100 });
  const { tracker, refresher } = await ready;
  try {
    await refresher.start(); // fs.watch on the absent folder fails; start must not
    assert.equal(tracker.state(), 'waiting-for-credentials');
    assert.equal(tracker.lastFailure()?.code, 'file-missing');
    await mkdir(path.dirname(file));
    await writeFile(file, 'ASIAAPPEAREDLATER001\n');
    await waitUntil(() => tracker.current()?.credentials.accessKeyId === 'ASIAAPPEAREDLATER001', 5_000, 'the new file to be read');
    assert.equal(tracker.state(), 'ready');
    assert.equal(tracker.lastFailure(), undefined, 'a success clears the failure');
  } finally {
    refresher.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('concurrent triggers coalesce: one run at a time, and all triggers during a run share one follow-up', async () => {
  const pending: Array<() => void> = [];
  let calls = 0;
  const source: CredentialSource = () => {
    calls += 1;
    const id = `ASIACOALESCED${String(calls).padStart(7, '0')}`;
    return new Promise((resolve) => pending.push(() => resolve(creds(id))));
  };
  const { ready } = setup({ source });
  const { tracker, refresher } = await ready;
  try {
    const first = refresher.refresh('a');
    const others = ['b', 'c', 'd', 'e'].map((reason) => refresher.refresh(reason));
    assert.equal(calls, 1, 'no second run while the first is in flight');
    for (const p of others) assert.equal(p, first, 'every trigger during a run waits on the same work');

    pending[0]!();
    await settle();
    assert.equal(calls, 2, 'the four triggers during run 1 produce exactly one follow-up run');
    const duringSecond = refresher.refresh('f');
    assert.equal(duringSecond, first);
    pending[1]!();
    await settle();
    assert.equal(calls, 3, 'a trigger during the follow-up produces one more run');
    pending[2]!();
    await first;
    await settle();
    assert.equal(calls, 3, 'nothing runs without a trigger');
    assert.equal(tracker.generations().length, 3);

    // After the work settles a new trigger starts a new run.
    const later = refresher.refresh('g');
    assert.notEqual(later, first);
    assert.equal(calls, 4);
    pending[3]!();
    await later;
  } finally {
    refresher.stop();
  }
});

test('failures back off (500 ms doubling, capped), keep the last good generation and reach the tracker; logged once', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let calls = 0;
  let failing = false;
  const source: CredentialSource = async () => {
    calls += 1;
    if (failing) throw new AgentError('profile appstream_machine_role not found', { code: 'profile-missing' });
    return creds('ASIALASTGOODKEY00001');
  };
  const s = setup({ source, refreshInterval: 60 * S, maxBackoffMs: 4 * S });
  const { tracker, refresher } = await s.ready;
  try {
    await refresher.refresh('start');
    assert.equal(calls, 1);
    failing = true;
    s.advance(10 * S);
    await refresher.refresh('file-changed');
    assert.equal(calls, 2);
    const failure = tracker.lastFailure();
    assert.deepEqual(failure, { code: 'profile-missing', message: 'profile appstream_machine_role not found', at: T0 + 10 * S });
    assert.equal(tracker.current()?.credentials.accessKeyId, 'ASIALASTGOODKEY00001', 'the last good generation is kept');
    assert.equal(tracker.state(), 'ready');

    const delays = [500, 1_000, 2_000, 4_000, 4_000, 4_000];
    for (const delay of delays) {
      const before: number = calls;
      t.mock.timers.tick(delay - 1);
      await settle();
      assert.equal(calls, before, `no retry before ${delay} ms`);
      t.mock.timers.tick(1);
      await settle();
      assert.equal(calls, before + 1, `a retry after exactly ${delay} ms`);
    }
    const warnings = s.lines.filter((l) => String(l.msg).startsWith('credential source failed'));
    assert.equal(warnings.length, 1, 'the same failure is logged once, not on every retry');

    // Recovery resets the backoff: the next run is a normal refreshInterval away.
    failing = false;
    t.mock.timers.tick(4_000);
    await settle();
    assert.equal(tracker.lastFailure(), undefined);
    const before: number = calls;
    t.mock.timers.tick(60 * S - 1);
    await settle();
    assert.equal(calls, before, 'after a success the next run waits the full refreshInterval');
    t.mock.timers.tick(1);
    await settle();
    assert.equal(calls, before + 1);
  } finally {
    refresher.stop();
  }
});

test('a plain Error is reported as source-error, and the backoff never exceeds refreshInterval', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let calls = 0;
  const source: CredentialSource = async () => {
    calls += 1;
    throw new Error('boom');
  };
  const { tracker, refresher } = await setup({ source, refreshInterval: 1_500 }).ready;
  try {
    await refresher.refresh('start');
    assert.equal(tracker.lastFailure()?.code, 'source-error');
    assert.equal(tracker.lastFailure()?.message, 'boom');
    assert.equal(tracker.state(), 'waiting-for-credentials');
    for (const delay of [500, 1_000, 1_500, 1_500]) {
      const before: number = calls;
      t.mock.timers.tick(delay - 1);
      await settle();
      assert.equal(calls, before, `no retry before ${delay} ms`);
      t.mock.timers.tick(1);
      await settle();
      assert.equal(calls, before + 1, `a retry after ${delay} ms`);
    }
  } finally {
    refresher.stop();
  }
});

test('a source with an Expiration is re-run as its life enters the 15 min window, then with backoff while it has nothing fresher', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const s = setup({ source: async () => next(), freshWindowMs: 15 * M, maxStaleBackoffMs: 8 * S });
  let calls = 0;
  let lifeMs = H;
  const next = (): SourcedCredentials => {
    calls += 1;
    return creds(`ASIAEXPIRING${String(calls).padStart(8, '0')}`, new Date(s.clock.now() + lifeMs));
  };
  const tickTo = async (ms: number): Promise<void> => {
    s.advance(ms); // the clock first: the run a timer fires reads it
    t.mock.timers.tick(ms);
    await settle();
  };
  const { tracker, refresher } = await s.ready;
  try {
    await refresher.refresh('start');
    assert.equal(calls, 1);
    assert.equal(tracker.current()?.expirySource, 'source');
    // 1 h of life, refreshInterval 1 h: the next run comes when 15 min are left, at 45 min.
    await tickTo(45 * M - 1);
    assert.equal(calls, 1, 'not before 45 min');
    lifeMs = 14 * M; // the process has nothing fresher: the same short-lived credentials
    await tickTo(1);
    assert.equal(calls, 2, 'run again with 15 min left');
    // Inside the window: 1 s, 2 s, 4 s, then the 8 s cap.
    for (const delay of [S, 2 * S, 4 * S, 8 * S, 8 * S]) {
      const runs: number = calls;
      await tickTo(delay - 1);
      assert.equal(calls, runs, `no re-run before ${delay} ms`);
      await tickTo(1);
      assert.equal(calls, runs + 1, `a re-run after ${delay} ms`);
    }
    lifeMs = H; // fresh credentials at last: back to the window's edge, backoff reset
    const before: number = calls;
    await tickTo(8 * S);
    assert.equal(calls, before + 1);
    await tickTo(45 * M - 1);
    assert.equal(calls, before + 1);
    lifeMs = 5 * S; // life shorter than the backoff: still re-run before 90% of it has passed
    await tickTo(1);
    assert.equal(calls, before + 2);
    await tickTo(S);
    assert.equal(calls, before + 3, 'first backoff step (1 s)');
    await tickTo(2 * S);
    assert.equal(calls, before + 4);
    lifeMs = 2 * S; // 90% of 2 s is 1.8 s, shorter than the next 4 s step
    await tickTo(4 * S);
    assert.equal(calls, before + 5);
    await tickTo(1_800 - 1);
    assert.equal(calls, before + 5);
    await tickTo(1);
    assert.equal(calls, before + 6);
  } finally {
    refresher.stop();
  }
});
