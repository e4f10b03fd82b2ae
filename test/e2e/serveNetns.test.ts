/**
 * `serve` inside a real network namespace: the built agent starts with only loopback, answers
 * 503 `waiting-for-network`, becomes ready when a veth "ENI" comes up, and its periodic ENI
 * re-check (networkCheckInterval 1s here) reports the network lost and back. Root only
 * (skipped with the reason otherwise). No traffic leaves the namespace's loopback.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, runProgram } from '../helpers/cli.js';
import { startCli, waitFor, type Discovery, type RunningProcess } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { createNetns, netnsSkipReason, type Eni, type Netns } from '../helpers/netns.js';

const skip = await netnsSkipReason();
/** Hang guard per step: far above the ENI poll (at most 1 s apart) and the 1 s re-check. */
const GUARD_MS = 30_000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('serve inside a network namespace', { skip: skip ?? false }, () => {
  let sandbox: { dir: string; cleanup: () => Promise<void> };
  let ns: Netns;
  let agent: RunningProcess | undefined;
  let stateDir: string;

  before(async () => {
    sandbox = await makeSandbox();
    ns = await createNetns();
    const sim = await runCli(['simulate', '--dir', sandbox.dir, '--rotations', '1', '--validity', '6h']);
    assert.equal(sim.code, 0, sim.stderr);
    stateDir = path.join(sandbox.dir, 'state');
  });
  after(async () => {
    await agent?.stop('SIGKILL');
    await ns?.destroy();
    await sandbox?.cleanup();
  });

  /** GET a route of the agent from inside the namespace (its loopback is not the test's). */
  async function get(route: string, token?: string): Promise<Answer> {
    const discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8')) as Discovery;
    const script = `fetch(${JSON.stringify(discovery.url + route)}, { headers: ${JSON.stringify(token ? { authorization: token } : {})} }).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.json() })))`;
    // It prints the body it got: credentials on its stdout are its product.
    const run = await runProgram('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script], { timeoutMs: GUARD_MS, credentialsOnStdout: true });
    assert.equal(run.code, 0, `fetch inside ${ns.name} failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as Answer;
  }

  test('503 waiting-for-network with only loopback; ready once the ENI is up; the re-check sees it lost and back', async () => {
    agent = startCli(
      ['serve', '--state-dir', stateDir, '--port', '0'],
      {
        AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox.dir, '.aws', 'credentials'),
        AWS_CONFIG_FILE: path.join(sandbox.dir, '.aws', 'config'),
        APPSTREAM_CREDS_NETWORK_CHECK_INTERVAL: '1s',
      },
      (argv) => ({ command: ns.exec[0]!, args: [...ns.exec.slice(1), ...argv] }),
    );
    const running = agent;
    await waitFor(
      async () => JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null'))?.pid === running.child.pid,
      GUARD_MS,
      () => `the agent did not publish agent.json: ${running.output()}`,
    );
    const token = (await readFile(path.join(stateDir, 'token'), 'utf8')).trim();

    // Only loopback: an honest 503, and the credentials route refuses too.
    const waiting = await get('/healthz');
    assert.deepEqual(waiting, { status: 503, body: { state: 'waiting-for-network' } });
    const refused = await get('/v1/credentials', token);
    assert.equal(refused.status, 503);
    assert.equal(refused.body.AccessKeyId, undefined);
    assert.match(running.output(), /waiting for network: no interface with an IPv4 address/);

    const eni: Eni = await ns.addEni({ address: '10.213.7.2/24', defaultVia: '10.213.7.1' });
    await waitFor(async () => (await get('/healthz')).status === 200, GUARD_MS, () => `never ready after the ENI came up: ${running.output()}`);
    const served = await get('/v1/credentials', token);
    assert.equal(served.status, 200);
    assert.match(String(served.body.AccessKeyId), /^ASIA/);
    const ready = (await get('/v1/status', token)).body.network as { ready: boolean; eni: { name: string; address: string } };
    assert.equal(ready.ready, true);
    assert.equal(ready.eni.name, eni.name);
    assert.equal(ready.eni.address, '10.213.7.2');

    // The ENI goes down (which also drops its default route): the periodic re-check notices.
    await ns.ip(['link', 'set', 'dev', eni.name, 'down']);
    await waitFor(async () => ((await get('/v1/status', token)).body.network as { ready: boolean }).ready === false, GUARD_MS, () => `the re-check never saw the ENI go: ${running.output()}`);
    await ns.ip(['link', 'set', 'dev', eni.name, 'up']);
    await ns.ip(['route', 'replace', 'default', 'via', '10.213.7.1', 'dev', eni.name]);
    await waitFor(async () => ((await get('/v1/status', token)).body.network as { ready: boolean }).ready === true, GUARD_MS, () => `the re-check never saw the ENI come back: ${running.output()}`);

    const out = running.output();
    const order = ['waiting for network: ', '"msg":"network ready"', '"msg":"network lost: ', '"msg":"network back"'].map((m) => out.indexOf(m));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `log order waiting -> ready -> lost -> back: ${out}`);
    assert.equal(out.split('"msg":"network lost').length - 1, 1, 'a lost network is logged once, not on every re-check');
    // The last good credentials are still valid: losing the ENI does not take them away.
    assert.equal((await get('/healthz')).status, 200);

    assert.equal(await running.stop('SIGTERM'), 0, out);
  });
});
