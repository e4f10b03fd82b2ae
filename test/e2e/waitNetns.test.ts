/**
 * `appstream-creds wait` inside real network namespaces (docs/architecture.md, "Real parts for tests"):
 * the shipped bundle runs under `ip netns exec`, and a veth pair plays the customer ENI.
 * Needs root and iproute2 (skipped with the reason otherwise) and `node scripts/build.mjs`.
 *
 * Network rules: addresses exist only inside the namespaces made here (10.213.x.y and one
 * 198.19.x.y); the root-namespace end of each veth gets no address; `--probe none`, so no
 * traffic leaves loopback. No timing is asserted: order (waiting before the ENI exists, ready
 * after) and outcome (exit code, message naming the deadline). That a timeout never comes
 * before the deadline is shown on a fake clock in test/unit/waitForNetwork.test.ts; the time
 * from the ENI to ready is a figure for `npm run bench -- waitNetnsReady` (root).
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cliPath, runCli, type CliRun } from '../helpers/cli.js';
import { startCli, waitFor } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { createNetns, netnsSkipReason, type Netns } from '../helpers/netns.js';

const skip = await netnsSkipReason();

const NO_ADDRESS = 'no interface with an IPv4 address outside 198.19.0.0/16, 169.254.0.0/16, 127.0.0.0/8';
const STACK_LINE = /\n\s+at /;

let sandbox: { dir: string; cleanup: () => Promise<void> } | undefined;
let credentialsEnv: Record<string, string> = {};

/** Runs `appstream-creds wait ARGS…` inside the namespace with the sandbox's credentials. */
async function waitIn(ns: Netns, args: string[], timeoutMs = 60_000): Promise<CliRun> {
  return runCli(['wait', '--probe', 'none', ...args], { prefix: ns.exec, env: credentialsEnv, timeoutMs });
}

/** A fresh namespace for one test, deleted when the test ends however it ends. */
async function freshNetns(t: TestContext): Promise<Netns> {
  const ns = await createNetns();
  t.after(() => ns.destroy());
  return ns;
}

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

  test('only loopback: `wait --timeout 10s` exits 3 at its deadline, naming the missing network', async (t) => {
    const ns = await freshNetns(t);
    const run = await waitIn(ns, ['--timeout', '10s']);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, new RegExp(`appstream-creds: timed out after 10s waiting for the network: ${escape(NO_ADDRESS)}\\n`));
    assert.match(run.stderr, new RegExp(`waiting for network: ${escape(NO_ADDRESS)} \\(`), 'a progress line names the reason');
    assert.doesNotMatch(run.stderr, STACK_LINE);
    assert.doesNotMatch(run.stderr, /internal error/);
    assert.equal(run.stdout, '');
  });

  test('an ENI (veth with address and default route) added while `wait` waits: exit 0, ready on that ENI', async (t) => {
    const ns = await freshNetns(t);
    const waiting = startCli(['wait', '--probe', 'none', '--timeout', '120s'], credentialsEnv, (argv) => ({ command: ns.exec[0]!, args: [...ns.exec.slice(1), ...argv] }));
    try {
      // The deterministic side: with only loopback, wait reports what it waits for and keeps waiting.
      await waitFor(async () => new RegExp(`waiting for network: ${escape(NO_ADDRESS)}`).test(waiting.output()), 60_000, () => `hang guard: no progress line: ${waiting.output()}`);
      assert.equal(waiting.child.exitCode, null, `wait exited before the ENI existed:\n${waiting.output()}`);
      const eni = await ns.addEni({ address: '10.213.2.2/24', defaultVia: '10.213.2.1' });
      const code = await Promise.race([waiting.exited, new Promise<string>((r) => setTimeout(() => r('hang guard: wait did not exit within 60 s of the ENI'), 60_000))]);
      assert.equal(code, 0, waiting.output());
      const out = waiting.output();
      assert.ok(out.lastIndexOf('waiting for network') < out.indexOf('ready after'), 'waiting came before ready');
      assert.match(out, new RegExp(`ready after \\S+: ENI ${eni.name} 10\\.213\\.2\\.2; credentials key`));
      assert.doesNotMatch(out, STACK_LINE);
    } finally {
      await waiting.stop('SIGKILL');
    }
  });

  test('an interface with only a 198.19.x.x address (default route via it) does not count: `wait --timeout 4s` exits 3', async (t) => {
    const ns = await freshNetns(t);
    const eni = await ns.addEni({ address: '198.19.213.2/24', defaultVia: '198.19.213.1' });
    const route = (await ns.ip(['route', 'show', 'default'])).stdout.trim();
    assert.match(route, new RegExp(`default via 198\\.19\\.213\\.1 dev ${eni.name}`), 'precondition: the default route goes via the management address');
    const run = await waitIn(ns, ['--timeout', '4s']);
    t.diagnostic(`198.19-only: exit ${run.code}; ${lastLine(run.stderr)}`);
    assert.equal(run.code, 3, run.stderr);
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
    t.diagnostic(`--interface nosuch0: exit ${missing.code}; ${lastLine(missing.stderr)}`);
    assert.equal(missing.code, 3, missing.stderr);
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
