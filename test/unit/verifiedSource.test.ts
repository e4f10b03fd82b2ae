/**
 * Issue 20 point 2, the decision logic of verification (verifyNewCredentials) with a fake clock
 * and a scripted STS: each new set is checked once; a refusal is a failure (never handed on);
 * no answer hands the set on unverified; auto turns verification off when STS does not answer
 * the first check, and on when it answers anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifiedSource, REASK_REFUSED_MS } from '../../src/daemon/verifiedSource.js';
import type { VerifyOutcome } from '../../src/aws/fromStsVerification.js';
import type { Credentials, SourcedCredentials } from '../../src/credentials.js';
import { isAgentError } from '../../src/errors.js';
import { createLogger } from '../../src/log/createLogger.js';
import { createFakeClock } from '../helpers/fakeClock.js';
import { logCapture } from '../helpers/logCapture.js';

const set = (n: number, secretOf = n): Credentials => ({
  accessKeyId: `ASIAVERIFYTEST${String(n).padStart(6, '0')}`,
  secretAccessKey: `secret-of-set-${secretOf}-`.padEnd(40, 'x'),
  sessionToken: `token-of-set-${secretOf}`,
});

/** A source returning whatever `disk` holds now; STS answers from `answers` (a set's key id -> outcome). */
async function rig(setting: 'auto' | boolean, answer: (c: Credentials) => VerifyOutcome) {
  const clock = createFakeClock(Date.parse('2026-12-04T08:00:00Z'));
  const { lines, sink } = logCapture();
  const logger = await createLogger({ level: 'debug', destination: sink });
  let disk = set(1);
  const asked: string[] = [];
  const stage = verifiedSource({
    source: async (): Promise<SourcedCredentials> => ({ credentials: disk, origin: 'test' }),
    verify: async (c) => {
      asked.push(c.accessKeyId);
      return answer(c);
    },
    setting,
    clock,
    logger,
  });
  return { stage, clock, lines, asked, write: (c: Credentials) => (disk = c) };
}

const refusedCode = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (error) {
    assert.ok(isAgentError(error));
    return error.code;
  }
  assert.fail('expected a refusal');
};

test('on: a new set is handed on verified, and checked once however often it is re-read', async () => {
  const r = await rig(true, () => ({ outcome: 'verified' }));
  for (let i = 0; i < 3; i += 1) {
    const sourced = await r.stage.resolve();
    assert.deepEqual(sourced.verification?.verified, true);
  }
  r.write(set(2));
  assert.equal((await r.stage.resolve()).verification?.verified, true);
  assert.deepEqual(r.asked, [set(1).accessKeyId, set(2).accessKeyId]);
  const report = r.stage.report();
  assert.equal(report.active, true);
  assert.equal(report.verified, 2);
  assert.equal(report.refused, 0);
});

test('a set STS refuses (torn: new key id, old secret and token) is never handed on; the complete set that follows is', async () => {
  const torn = set(2, 1);
  const r = await rig(true, (c) => (c.secretAccessKey === set(Number(c.accessKeyId.slice(-6))).secretAccessKey ? { outcome: 'verified' } : { outcome: 'refused', code: 'SignatureDoesNotMatch' }));
  await r.stage.resolve();
  r.write(torn);
  assert.equal(await refusedCode(r.stage.resolve()), 'sts-refused');
  // Read again soon (the refresher's retry): refused from memory, STS not asked twice.
  r.clock.advance(500);
  assert.equal(await refusedCode(r.stage.resolve()), 'sts-refused');
  assert.equal(r.asked.filter((k) => k === torn.accessKeyId).length, 1);
  r.write(set(2));
  assert.equal((await r.stage.resolve()).verification?.verified, true);
  const report = r.stage.report();
  assert.equal(report.refused, 1);
  assert.equal(report.lastRefusal?.code, 'SignatureDoesNotMatch');
  assert.equal(report.lastRefusal?.keyId, `…${torn.accessKeyId.slice(-4)}`);
  // No secret, no token in the logs or the refusal.
  const text = r.lines.map((l) => JSON.stringify(l)).join("\n");
  assert.ok(!text.includes(torn.secretAccessKey) && !text.includes(torn.sessionToken!));
});

test('a refused set still on disk after REASK_REFUSED_MS is asked about once more (not hammered, not refused forever)', async () => {
  let refuse = true;
  const r = await rig(true, () => (refuse ? { outcome: 'refused', code: 'InvalidClientTokenId' } : { outcome: 'verified' }));
  assert.equal(await refusedCode(r.stage.resolve()), 'sts-refused');
  r.clock.advance(REASK_REFUSED_MS - 1);
  assert.equal(await refusedCode(r.stage.resolve()), 'sts-refused');
  assert.equal(r.asked.length, 1);
  refuse = false;
  r.clock.advance(1);
  assert.equal((await r.stage.resolve()).verification?.verified, true);
  assert.equal(r.asked.length, 2);
});

test('on, STS does not answer: the set is handed on unverified (the settle rule already held it), once per generation, and verification stays on', async () => {
  let down = true;
  const r = await rig(true, () => (down ? { outcome: 'unverified', answered: false, reason: 'STS at sts.example did not answer (ECONNREFUSED)' } : { outcome: 'verified' }));
  const first = await r.stage.resolve();
  assert.equal(first.verification?.verified, false);
  assert.match(first.verification!.detail, /ECONNREFUSED/);
  await r.stage.resolve();
  assert.equal(r.asked.length, 1, 'an unverified generation is not asked about again');
  down = false;
  r.write(set(2));
  assert.equal((await r.stage.resolve()).verification?.verified, true);
  const report = r.stage.report();
  assert.equal(report.active, true);
  assert.equal(report.unverified, 1);
  assert.equal(report.verified, 1);
});

/** Lets the probe's promise chain run (the scripted STS answers at once). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

test('auto: STS not answering the first check turns verification off for the run (no further STS calls), logged once', async () => {
  const r = await rig('auto', () => ({ outcome: 'unverified', answered: false, reason: 'STS at sts.us-east-1.amazonaws.com did not answer (ENOTFOUND)' }));
  const first = await r.stage.resolve();
  assert.equal(first.verification?.verified, false);
  await settle();
  r.write(set(2));
  const second = await r.stage.resolve();
  assert.equal(second.verification?.verified, false);
  assert.match(second.verification!.detail, /off/);
  assert.equal(r.asked.length, 1);
  const report = r.stage.report();
  assert.equal(report.setting, 'auto');
  assert.equal(report.active, false);
  assert.match(report.detail, /ENOTFOUND/);
  assert.equal(r.lines.filter((l) => /verification is off for this run/.test(String(l.msg))).length, 1);
});

test('auto: the set read before STS first answers is handed on at once on the settle rule, not held for the probe', async () => {
  const clock = createFakeClock(Date.parse('2026-12-04T08:00:00Z'));
  const stage = verifiedSource({ source: async () => ({ credentials: set(1), origin: 'test' }), verify: () => new Promise<VerifyOutcome>(() => undefined), setting: 'auto', clock });
  const first = await Promise.race([stage.resolve(), new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 1_000))]);
  assert.notEqual(first, 'held', 'an agent where STS never answers would wait a check timeout before serving anything');
  assert.equal((first as SourcedCredentials).verification?.verified, false);
  assert.match((first as SourcedCredentials).verification!.detail, /has not answered the first check yet/);
  assert.equal((await stage.resolve()).verification?.verified, false, 'no second probe while the first is out');
});

test('auto: any answer from STS at the first check (even a refusal) turns verification on; the refused set is refused from then on', async () => {
  const r = await rig('auto', (c) => (c.accessKeyId === set(1).accessKeyId ? { outcome: 'refused', code: 'InvalidClientTokenId' } : { outcome: 'verified' }));
  assert.equal((await r.stage.resolve()).verification?.verified, false, 'served on the settle rule while the probe runs');
  await settle();
  assert.equal(await refusedCode(r.stage.resolve()), 'sts-refused');
  assert.equal(r.stage.report().refused, 1);
  assert.equal(r.lines.filter((l) => /STS refused the set read with key .*InvalidClientTokenId.* after it had been served on the settle rule/.test(String(l.msg))).length, 1);
  r.write(set(2));
  assert.equal((await r.stage.resolve()).verification?.verified, true);
  const report = r.stage.report();
  assert.equal(report.active, true);
  assert.match(report.detail, /on: auto/);
});

test('auto: a first set STS accepts shows verified on its next read', async () => {
  const r = await rig('auto', () => ({ outcome: 'verified' }));
  assert.equal((await r.stage.resolve()).verification?.verified, false);
  await settle();
  assert.equal((await r.stage.resolve()).verification?.verified, true);
  assert.equal(r.asked.length, 1);
});

test('off: STS is never asked; sets are handed on marked unverified', async () => {
  const r = await rig(false, () => assert.fail('STS asked with verification off'));
  const sourced = await r.stage.resolve();
  assert.equal(sourced.verification?.verified, false);
  assert.match(sourced.verification!.detail, /off/);
  assert.equal(r.stage.report().active, false);
});
