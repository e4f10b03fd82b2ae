/**
 * `appstream-creds wait` inside real network namespaces (docs/architecture.md, "Real parts for tests"):
 * the shipped bundle runs under `ip netns exec`, and a veth pair plays the customer ENI.
 * Needs root and iproute2 (skipped with the reason otherwise) and `node scripts/build.mjs`.
 *
 * Network rules: addresses exist only inside the namespaces made here (10.213.x.y and one
 * 198.19.x.y); the root-namespace end of each veth gets no address; `--probe none`, so no
 * traffic leaves loopback. Timing: the deterministic side is asserted strictly (never ready
 * before the ENI exists, never a timeout before the deadline); upper bounds only loosely,
 * and the measured figures go out as diagnostics.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliPath, runCli, type CliRun } from '../helpers/cli.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { createNetns, netnsSkipReason, type Netns } from '../helpers/netns.js';

const skip = await netnsSkipReason();

const NO_ADDRESS = 'no interface with an IPv4 address outside 198.19.0.0/16, 169.254.0.0/16, 127.0.0.0/8';
const STACK_LINE = /\n\s+at /;

let sandbox: { dir: string; cleanup: () => Promise<void> } | undefined;
let credentialsEnv: Record<string, string> = {};

/** Runs `appstream-creds wait ARGS…` inside the namespace with the sandbox's credentials. */
async function waitIn(ns: Netns, args: string[], timeoutMs = 60_000): Promise<CliRun & { elapsedMs: number }> {
  const started = performance.now();
  const run = await runCli(['wait', '--probe', 'none', ...args], { prefix: ns.exec, env: credentialsEnv, timeoutMs });
  return { ...run, elapsedMs: performance.now() - started };
}

/** A fresh namespace for one test, deleted when the test ends however it ends. */
async function freshNetns(t: TestContext): Promise<Netns> {
  const ns = await createNetns();
  t.after(() => ns.destroy());
  return ns;
}

const seconds = (ms: number): string => `${(ms / 1_000).toFixed(2)} s`;

describe('wait inside a network namespace', { skip: skip ?? false }, () => {
  before(async () => {
    assert.ok(existsSync(cliPath), `the CLI bundle ${cliPath} is missing: run node scripts/build.mjs first`);
    sandbox = await makeSandbox();
    const simulate = await runCli(['simulate', '--dir', sandbox.dir, '--rotations', '1', '--validity', '6h'], { timeoutMs: 30_000 });
    assert.equal(simulate.code, 0, `simulate failed:\n${simulate.stderr}`);
    const aws = path.join(sandbox.dir, '.aws');
    assert.ok(existsSync(path.join(aws, 'credentials')), `simulate wrote no credentials file:\n${simulate.stderr}`);
    credentialsEnv = {
      AWS_SHARED_CREDENTIALS_FILE: path.join(aws, 'credentials'),
      AWS_CONFIG_FILE: path.join(aws, 'config'),
      APPSTREAM_CREDS_STATE_DIR: path.join(sandbox.dir, 'state'),
    };
  });
  after(async () => {
    await sandbox?.cleanup();
  });

  test('only loopback: `wait --timeout 10s` exits 3 after about 10 s, naming the missing network', async (t) => {
    const ns = await freshNetns(t);
    const run = await waitIn(ns, ['--timeout', '10s']);
    t.diagnostic(`loopback only: exit ${run.code} after ${seconds(run.elapsedMs)} (budget 10 s)`);
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.elapsedMs >= 9_500, `gave up after ${run.elapsedMs} ms, before the 10 s deadline`);
    assert.ok(run.elapsedMs < 30_000, `took ${run.elapsedMs} ms`);
    assert.match(run.stderr, new RegExp(`appstream-creds: timed out after 10s waiting for the network: ${escape(NO_ADDRESS)}\\n`));
    assert.match(run.stderr, new RegExp(`waiting for network: ${escape(NO_ADDRESS)} \\(`), 'a progress line names the reason');
    assert.doesNotMatch(run.stderr, STACK_LINE);
    assert.doesNotMatch(run.stderr, /internal error/);
    assert.equal(run.stdout, '');
  });

  test('an ENI (veth with address and default route) added 3 s in: `wait --timeout 30s` exits 0, after the add', async (t) => {
    const ns = await freshNetns(t);
    let exitedAt: number | undefined;
    const started = performance.now();
    const running = waitIn(ns, ['--timeout', '30s']).then((run) => {
      exitedAt = performance.now();
      return run;
    });
    await sleep(3_000);
    // The deterministic side: with only loopback, wait must still be waiting.
    const stillWaiting = exitedAt === undefined;
    const addStart = performance.now();
    const eni = await ns.addEni({ address: '10.213.2.2/24', defaultVia: '10.213.2.1' });
    const addDone = performance.now();
    const run = await running;
    const exitAt = exitedAt!;
    t.diagnostic(
      `ENI ${eni.name} added ${seconds(addStart - started)} after start (the add took ${Math.round(addDone - addStart)} ms); ` +
        `wait exited ${exitAt - addDone < 0 ? '-' : ''}${Math.round(Math.abs(exitAt - addDone))} ms after the add completed ` +
        `(${Math.round(exitAt - addStart)} ms after it began; target <= 2000 ms); total ${seconds(run.elapsedMs)}`,
    );
    assert.ok(stillWaiting, `wait exited before the ENI existed (code ${run.code}):\n${run.stderr}`);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(exitAt >= addStart, 'wait exited before the add');
    assert.ok(exitAt - addDone < 5_000, `ready ${Math.round(exitAt - addDone)} ms after the add`);
    assert.match(run.stderr, new RegExp(`waiting for network: ${escape(NO_ADDRESS)}`), 'it was waiting for the network before');
    assert.match(run.stderr, new RegExp(`ready after \\S+: ENI ${eni.name} 10\\.213\\.2\\.2; credentials key`));
    assert.doesNotMatch(run.stderr, STACK_LINE);
  });

  test('an interface with only a 198.19.x.x address (default route via it) does not count: `wait --timeout 4s` exits 3', async (t) => {
    const ns = await freshNetns(t);
    const eni = await ns.addEni({ address: '198.19.213.2/24', defaultVia: '198.19.213.1' });
    const route = (await ns.ip(['route', 'show', 'default'])).stdout.trim();
    assert.match(route, new RegExp(`default via 198\\.19\\.213\\.1 dev ${eni.name}`), 'precondition: the default route goes via the management address');
    const run = await waitIn(ns, ['--timeout', '4s']);
    t.diagnostic(`198.19-only: exit ${run.code} after ${seconds(run.elapsedMs)} (budget 4 s); ${lastLine(run.stderr)}`);
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.elapsedMs >= 3_500, `gave up after ${run.elapsedMs} ms, before the deadline`);
    assert.match(run.stderr, new RegExp(`timed out after 4s waiting for the network: ${escape(NO_ADDRESS)}`));
    assert.doesNotMatch(run.stderr, STACK_LINE);

    // Control: give the same interface a VPC address; now it is the ENI, reported by that address.
    await ns.ip(['addr', 'add', '10.213.3.2/24', 'dev', eni.name]);
    const ready = await waitIn(ns, ['--timeout', '10s']);
    assert.equal(ready.code, 0, ready.stderr);
    assert.match(ready.stderr, new RegExp(`ENI ${eni.name} 10\\.213\\.3\\.2;`));
  });

  test('--interface by name and MAC: the ENI matches; a name that matches nothing exits 3', async (t) => {
    const ns = await freshNetns(t);
    const eni = await ns.addEni({ address: '10.213.4.2/24', defaultVia: '10.213.4.1' });

    const byName = await waitIn(ns, ['--interface', eni.name, '--timeout', '10s']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stderr, new RegExp(`ENI ${eni.name} 10\\.213\\.4\\.2;`));

    const mac = eni.mac.toUpperCase().replace(/:/g, '-');
    const byMac = await waitIn(ns, ['--interface', mac, '--timeout', '10s']);
    assert.equal(byMac.code, 0, `--interface ${mac}: ${byMac.stderr}`);

    const missing = await waitIn(ns, ['--interface', 'nosuch0', '--timeout', '3s']);
    t.diagnostic(`--interface nosuch0: exit ${missing.code} after ${seconds(missing.elapsedMs)}; ${lastLine(missing.stderr)}`);
    assert.equal(missing.code, 3, missing.stderr);
    assert.ok(missing.elapsedMs >= 2_500, `gave up after ${missing.elapsedMs} ms, before the deadline`);
    assert.match(missing.stderr, /timed out after 3s waiting for the network: no interface named or with MAC nosuch0\n/);
    assert.doesNotMatch(missing.stderr, STACK_LINE);
  });

  test('an ENI without carrier (outer veth end down) does not count: exit 3', async (t) => {
    const ns = await freshNetns(t);
    const eni = await ns.addEni({ address: '10.213.5.2/24', defaultVia: '10.213.5.1', peerUp: false });
    const run = await waitIn(ns, ['--timeout', '3s']);
    t.diagnostic(`no carrier on ${eni.name}: exit ${run.code}; ${lastLine(run.stderr)}`);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /timed out after 3s waiting for the network: /);
  });

  test('an interface with an address but no default route does not count: exit 3', async (t) => {
    const ns = await freshNetns(t);
    const eni = await ns.addEni({ address: '10.213.6.2/24' });
    const run = await waitIn(ns, ['--timeout', '3s']);
    t.diagnostic(`no default route on ${eni.name}: exit ${run.code}; ${lastLine(run.stderr)}`);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /carries no default route/);
  });

  test('a default route without a gateway (`default dev ENI`) counts: exit 0', async (t) => {
    const ns = await freshNetns(t);
    const eni = await ns.addEni({ address: '10.213.7.2/24' });
    await ns.ip(['route', 'add', 'default', 'dev', eni.name]);
    const run = await waitIn(ns, ['--timeout', '3s']);
    t.diagnostic(`default dev ${eni.name}: exit ${run.code}; ${lastLine(run.stderr)}`);
    assert.equal(run.code, 0, run.stderr);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
