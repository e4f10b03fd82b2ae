import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startMoto, freePort, type MotoServer } from '../helpers/moto.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startCli, waitFor } from '../helpers/daemon.js';

// These run on the host's own network (this machine's ENI); the namespace tests cover the ENI.
let moto: MotoServer;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto?.stop();
});

const files = (dir: string) => ({ AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') });

test('wait: no profile by the deadline -> exit 4 naming what was missing, with progress lines', async () => {
  await withSandbox(async (dir) => {
    const run = await runCli(['wait', '--timeout', '3s'], { env: files(dir) });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /waiting for credentials: .*no such file/);
    const last = run.stderr.trim().split('\n').pop()!;
    assert.match(last, /^appstream-creds: timed out after 3s waiting for credentials: /);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});

test('wait: the profile appears while waiting -> exit 0', async () => {
  await withSandbox(async (dir) => {
    const waiting = startCli(['wait', '--timeout', '120s'], files(dir));
    try {
      // In order: wait reports the missing profile, then the profile is written, then wait is ready.
      await waitFor(async () => /waiting for credentials: .*no such file/.test(waiting.output()), 60_000, () => `hang guard: no progress line: ${waiting.output()}`);
      assert.equal(waiting.child.exitCode, null, waiting.output());
      const sim = await runCli(['simulate', '--dir', dir, '--rotations', '1', '--validity', '6h']);
      assert.equal(sim.code, 0);
      assert.equal(await waiting.exited, 0, waiting.output());
      assert.match(waiting.output(), /ready after .*credentials key …/);
    } finally {
      await waiting.stop('SIGKILL');
    }
  });
});

test('wait --probe sts and --probe tcp against moto succeed; tcp to a closed port times out with exit 3', async () => {
  await withSandbox(async (dir) => {
    const sim = await runCli(['simulate', '--dir', dir, '--rotations', '1', '--validity', '6h', '--sts-endpoint', moto.url, '--role-arn', moto.roleArn], { env: moto.callerEnv });
    assert.equal(sim.code, 0, sim.stderr);
    const env = { ...files(dir), AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' };
    const sts = await runCli(['wait', '--timeout', '20s', '--probe', 'sts', '--json'], { env });
    assert.equal(sts.code, 0, sts.stderr);
    const result = JSON.parse(sts.stdout) as { probe: { ok: boolean; detail: string } };
    assert.match(result.probe.detail, /assumed-role\/appstream-fleet-machine-role/);
    const tcp = await runCli(['wait', '--timeout', '20s', '--probe', 'tcp'], { env });
    assert.equal(tcp.code, 0, tcp.stderr);
    const closed = await freePort();
    const refused = await runCli(['wait', '--timeout', '3s', '--probe', 'tcp'], { env: { ...env, AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${closed}` } });
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /waiting for the network: TCP connect to 127\.0\.0\.1:\d+ failed/);
  });
});

test('wait: a recursion in the profile fails at once with exit 2 rather than waiting', async () => {
  await withSandbox(async (dir) => {
    await mkdir(path.join(dir, '.aws'));
    await writeFile(path.join(dir, '.aws', 'config'), '[profile appstream_machine_role]\ncredential_process = appstream-creds credential-process\n');
    // A deadline far past runCli's 60 s hang guard: had wait kept polling, the guard would kill it (no exit code).
    const run = await runCli(['wait', '--timeout', '600s'], { env: files(dir) });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /recursion refused/);
  });
});

test('simulate process form: credential-process runs the source each time and prints each new generation with its Expiration', async () => {
  await withSandbox(async (dir) => {
    const seen = new Set<string>();
    // Each `simulate --rotations 1` writes one new generation; no sampling of a running timer.
    for (let rotation = 1; rotation <= 3; rotation += 1) {
      const sim = await runCli(['simulate', '--dir', dir, '--form', 'process', '--validity', '10m', '--rotations', '1']);
      assert.equal(sim.code, 0, sim.stderr);
      const current = JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as { AccessKeyId: string; Expiration: string };
      const run = await runCli(['credential-process'], { env: files(dir) });
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as { Version: number; AccessKeyId: string; Expiration: string };
      assert.equal(out.Version, 1);
      assert.equal(out.AccessKeyId, current.AccessKeyId, `rotation ${rotation}: not the generation just written`);
      assert.equal(Date.parse(out.Expiration), Date.parse(current.Expiration), 'Expiration comes from the source');
      seen.add(out.AccessKeyId);
    }
    assert.equal(seen.size, 3);
  });
});

test('wait on static keys whose file is older than validity: exit 5 like credential-process, and ready once AppStream rewrites the file', async () => {
  await withSandbox(async (dir) => {
    await mkdir(path.join(dir, '.aws'));
    const file = path.join(dir, '.aws', 'credentials');
    const write = (key: string) => writeFile(file, `[appstream_machine_role]\naws_access_key_id = ${key}\naws_secret_access_key = ${'S'.repeat(40)}\naws_session_token = stale-token\n`, { mode: 0o600 });
    await write('ASIAWAITSTALEKEY0001');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(file, twoHoursAgo, twoHoursAgo);
    const env = { ...files(dir), APPSTREAM_CREDS_VALIDITY: '1h' };

    const direct = await runCli(['credential-process'], { env });
    assert.equal(direct.code, 5, direct.stderr);
    const run = await runCli(['wait', '--timeout', '2s'], { env });
    assert.equal(run.code, direct.code, `wait and credential-process disagree about the same file: ${run.stderr}`);
    assert.match(run.stderr, /waiting for credentials: credentials for profile appstream_machine_role \(key …0001\) expired at .* \(estimated: file written \+ validity 1h\)/);
    assert.match(run.stderr.trim().split('\n').pop()!, /^appstream-creds: timed out after 2s waiting for credentials: .*expired at/);

    // The same wait, with time to spare: AppStream writes a fresh generation and wait is satisfied.
    const waiting = startCli(['wait', '--timeout', '60s'], env);
    try {
      await waitFor(async () => /expired at/.test(waiting.output()), 30_000, () => `wait never reported the expired keys: ${waiting.output()}`);
      assert.equal(waiting.child.exitCode, null, 'wait gave up on expired keys before its deadline');
      await write('ASIAWAITFRESHKEY0002');
      assert.equal(await waiting.exited, 0, waiting.output());
      assert.match(waiting.output(), /ready after .*credentials key …0002/);
    } finally {
      await waiting.stop('SIGKILL');
    }
  });
});
