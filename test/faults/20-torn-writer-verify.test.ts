/**
 * Issue 20 point 2: verifyNewCredentials. Each new set is signed into one STS GetCallerIdentity
 * (moto, signatures checked) before it is served. The two-step in-place writer of point 1 runs
 * with settleTime far SHORTER than its pauses, so the settle rule alone lets its mixes through:
 * verification must catch every one (0 torn responses), and status must show it refused some.
 * STS going away falls back to the settle rule (served, shown unverified); auto with no STS at
 * the first check turns verification off for the run.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { replaceFile, startFaultAgent, startTornReaders, staticProfile, mintTriple, writeTwoStep, type FaultAgent, type Triple } from '../helpers/faultAgent.js';
import { assumeMachineRole, freePort, startMoto, type MotoServer } from '../helpers/moto.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemon.js';
import { withSandbox } from '../helpers/sandbox.js';
import type { StatusReport } from '../../src/tracker/describeTracker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fullStatus = async (rig: FaultAgent): Promise<StatusReport> => (await rig.status()) as unknown as StatusReport;
const metrics = async (rig: FaultAgent): Promise<string> => (await fetch(`${rig.discovery.url}/metrics`)).text();

/** One moto for the tests that keep STS up (the STS-gone test stops its own). */
let shared: Promise<MotoServer> | undefined;
const sharedMoto = (): Promise<MotoServer> => (shared ??= startMoto());
after(async () => (await shared)?.stop());

test('issue 20 point 2: two-step in-place writer with settleTime shorter than its pauses -> 0 torn responses with verification on; STS refused the mixes', async (t) => {
  const moto = await sharedMoto();
  await withSandbox(async (dir) => {
    const generations = 40;
    // Real sessions, minted before the writer starts so minting does not stretch its timing.
    const sets = await assumeMachineRole(moto, generations + 1);
    // Far below the writer's 30-120 ms pauses: on its own this rule serves the mixes.
    const settleMs = 10;
    const rig = await startFaultAgent({
      dir,
      // verifyNewCredentials left at its default (auto): moto answers, so it turns on.
      env: { APPSTREAM_CREDS_SETTLE_TIME: `${settleMs}ms`, APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: undefined, AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' },
    });
    try {
      const first = sets[0]!;
      await writeFile(rig.credentialsFile, staticProfile(first), { mode: 0o600 });
      await rig.waitServing(first.id, 'the first generation');
      // auto serves the set read before STS's first answer on the settle rule: the writer starts once STS has answered.
      await waitFor(async () => (await fullStatus(rig)).verification?.active === true, 20_000, () => `verification never turned on: ${rig.agent.output().slice(-2000)}`);
      const written = new Map<string, Triple>([[first.id, first]]);
      const readers = startTornReaders(rig, written, 8);
      let shortestPause = Number.POSITIVE_INFINITY;
      for (let i = 1; i <= generations; i += 1) {
        const next = sets[i]!;
        written.set(next.id, next);
        shortestPause = Math.min(shortestPause, await writeTwoStep(rig.credentialsFile, next, 30 + Math.floor(Math.random() * 91), i % 2 === 0));
        // Every tenth generation stays on disk a while, so the agent does move on.
        await sleep(i % 10 === 0 ? 1_000 : 80);
      }
      const last = sets[generations]!;
      await rig.waitServing(last.id, 'the last generation, once the writer stopped');
      const { responses, torn, served, examples } = await readers.stop();
      const status = await fullStatus(rig);
      const v = status.verification!;
      t.diagnostic(`${responses} responses over ${generations} two-step rewrites (shortest real pause ${Math.round(shortestPause)} ms, settleTime ${settleMs} ms); ${served.size} generations served; ${torn} torn; STS: ${v?.verified} verified, ${v?.refused} refused, ${v?.unverified} unverified`);
      assert.ok(shortestPause > settleMs, 'the scenario needs pauses longer than settleTime');
      assert.equal(torn, 0, `torn responses served: ${examples.join('; ')}`);
      assert.ok(responses > 0);
      assert.ok(v, `status has no verification report: ${JSON.stringify(status)}`);
      assert.equal(v.setting, 'auto');
      assert.equal(v.active, true, v.detail);
      // The proof the settle rule alone was not enough here: STS refused mixed sets.
      assert.ok(v.refused > 0, `STS refused no set (${JSON.stringify(v)}): the writer's mixes never reached verification`);
      assert.ok(v.verified >= served.size - 1, `every generation served after the first was verified (${v.verified} verified, ${served.size} served)`);
      assert.equal(status.current?.verification, 'verified');
      assert.match(await metrics(rig), /appstream_creds_served_verification\{verification="verified"\} 1/);
      assert.match(rig.agent.output(), /STS refused the set read with key …\w{4} \((SignatureDoesNotMatch|InvalidClientTokenId)\)/);
    } finally {
      await rig.agent.stop();
    }
  });
});

test('issue 20 point 2: a torn first read (new key id, old secret and token at rest) is never served with verification on; the complete set is, verified', async () => {
  const moto = await sharedMoto();
  await withSandbox(async (dir) => {
    const [old, next] = await assumeMachineRole(moto, 2, 'first-read');
    // The agent starts while the writer is mid-way: only the mix is on disk.
    await mkdir(path.join(dir, '.aws'), { recursive: true });
    await writeFile(path.join(dir, '.aws', 'credentials'), staticProfile({ id: next!.id, secret: old!.secret, token: old!.token }), { mode: 0o600 });
    // true, not auto: auto serves the set read before STS's first answer on the settle rule.
    const rig = await startFaultAgent({ dir, env: { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'true', AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' } });
    try {
      await waitFor(async () => ((await fullStatus(rig)).verification?.refused ?? 0) > 0, 20_000, () => `STS never refused the torn first read: ${rig.agent.output().slice(-2000)}`);
      const before = await rig.credentials();
      assert.equal(before.status, 503, 'nothing is served while only the mix is on disk');
      await writeTwoStep(rig.credentialsFile, next!, 0, false);
      await rig.waitServing(next!.id, 'the complete set', 5_000);
      const served = await rig.credentials();
      assert.equal(served.body.SecretAccessKey, next!.secret);
      assert.equal((await fullStatus(rig)).current?.verification, 'verified');
    } finally {
      await rig.agent.stop();
    }
  });
});

test('issue 20 point 2: STS gone (connection refused) -> a new set is served on the settle rule, shown unverified; never blocked', async () => {
  const moto = await startMoto();
  let motoUp = true;
  try {
    await withSandbox(async (dir) => {
      const [first, second] = await assumeMachineRole(moto, 2);
      const rig = await startFaultAgent({ dir, env: { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'true', AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' } });
      try {
        await writeFile(rig.credentialsFile, staticProfile(first!), { mode: 0o600 });
        await rig.waitServing(first!.id, 'the first generation');
        assert.equal((await fullStatus(rig)).current?.verification, 'verified');
        await moto.stop();
        motoUp = false;
        await replaceFile(rig.credentialsFile, staticProfile(second!));
        await rig.waitServing(second!.id, 'a new set with STS down');
        const status = await fullStatus(rig);
        assert.equal(status.current?.verification, 'unverified');
        assert.match(status.current?.verificationDetail ?? '', /did not answer/);
        assert.equal(status.verification?.active, true, 'explicitly on: it stays on for the next generation');
        assert.equal(status.verification?.unverified, 1);
        assert.match(await metrics(rig), /appstream_creds_served_verification\{verification="unverified"\} 1/);
        // The CLI's status, text and --json, from the running agent.
        const env = { AWS_SHARED_CREDENTIALS_FILE: rig.credentialsFile, AWS_CONFIG_FILE: rig.configFile };
        const text = await runCli(['status', '--state-dir', rig.stateDir], { env });
        assert.equal(text.code, 0, text.stderr);
        assert.match(text.stdout, /verified: +no \(not verified: STS at 127\.0\.0\.1:\d+ did not answer/);
        assert.match(text.stdout, /verification: on \(verifyNewCredentials true\); 1 verified, 0 refused, 1 unverified/);
        const json = await runCli(['status', '--json', '--state-dir', rig.stateDir], { env });
        const parsed = JSON.parse(json.stdout) as StatusReport;
        assert.equal(parsed.current?.verification, 'unverified');
        assert.equal(parsed.verification?.unverified, 1);
      } finally {
        await rig.agent.stop();
      }
    });
  } finally {
    if (motoUp) await moto.stop();
  }
});

test('issue 20 point 2: auto with no STS answering at the first check -> verification off for the run, sets served once settled', async () => {
  await withSandbox(async (dir) => {
    const closed = await freePort();
    const rig = await startFaultAgent({ dir, env: { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'auto', AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${closed}`, AWS_REGION: 'us-east-1' } });
    try {
      const one = mintTriple();
      await writeFile(rig.credentialsFile, staticProfile(one), { mode: 0o600 });
      await rig.waitServing(one.id, 'the first generation');
      const two = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(two));
      await rig.waitServing(two.id, 'the second generation');
      const status = await fullStatus(rig);
      assert.equal(status.verification?.setting, 'auto');
      assert.equal(status.verification?.active, false);
      assert.match(status.verification?.detail ?? '', /off: auto/);
      assert.equal(status.current?.verification, 'unverified');
      assert.equal(rig.agent.output().match(/verification is off for this run/g)?.length, 1);
    } finally {
      await rig.agent.stop();
    }
  });
});
