import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startMoto, freePort, type MotoServer } from '../helpers/moto.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startCli } from '../helpers/daemon.js';

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
    const waiting = runCli(['wait', '--timeout', '30s'], { env: files(dir) });
    await new Promise((r) => setTimeout(r, 1500));
    const sim = await runCli(['simulate', '--dir', dir, '--rotations', '1', '--validity', '6h']);
    assert.equal(sim.code, 0);
    const run = await waiting;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /ready after .*credentials key …/);
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
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(path.join(dir, '.aws'));
    await writeFile(path.join(dir, '.aws', 'config'), '[profile appstream_machine_role]\ncredential_process = appstream-creds credential-process\n');
    const started = Date.now();
    const run = await runCli(['wait', '--timeout', '30s'], { env: files(dir) });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /recursion refused/);
    assert.ok(Date.now() - started < 20_000);
  });
});

test('simulate process form: credential-process follows each rotation of the credential_process source', async () => {
  await withSandbox(async (dir) => {
    const sim = startCli(['simulate', '--dir', dir, '--form', 'process', '--refresh-interval', '1s', '--validity', '10s', '--rotations', '3']);
    try {
      const seen = new Set<string>();
      const deadline = Date.now() + 20_000;
      while (seen.size < 3 && Date.now() < deadline) {
        const run = await runCli(['credential-process'], { env: files(dir) });
        if (run.code === 0) {
          const out = JSON.parse(run.stdout) as { Version: number; AccessKeyId: string; Expiration: string };
          assert.equal(out.Version, 1);
          const current = JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as { Expiration: string };
          assert.ok(Date.parse(out.Expiration) <= Date.parse(current.Expiration), 'Expiration comes from the source');
          seen.add(out.AccessKeyId);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.ok(seen.size >= 3, `saw ${seen.size} generations`);
    } finally {
      await sim.stop();
    }
  });
});
