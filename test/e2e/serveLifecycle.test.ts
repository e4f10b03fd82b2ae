/**
 * `serve` through the built CLI at the edges of its life: a port that is already taken, and a
 * second SIGTERM while the first one's graceful stop waits for a request in progress.
 * (test/unit/runDaemon.test.ts shows, with the grace period out of the way, that the second
 * request is what drops the connection.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startCli, waitFor, type Discovery } from '../helpers/daemon.js';
import { withSandbox } from '../helpers/sandbox.js';

const GUARD_MS = 30_000;

async function simulated(dir: string): Promise<Record<string, string>> {
  const sim = await runCli(['simulate', '--dir', dir, '--rotations', '1', '--validity', '6h']);
  assert.equal(sim.code, 0, sim.stderr);
  return { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') };
}

const exists = (file: string) => access(file).then(() => true, () => false);

test('serve on a port that is already in use: exit 1, one line naming the port and its holder, nothing left in the state dir', async () => {
  await withSandbox(async (dir) => {
    const env = await simulated(dir);
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const stateDir = path.join(dir, 'state');
      const run = await runCli(['serve', '--state-dir', stateDir, '--port', String(port)], { env, timeoutMs: GUARD_MS });
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      // The holder is this test (same uid), so the message names that user and the fix.
      assert.match(lines[0]!, new RegExp(`^appstream-creds: port ${port} on 127\\.0\\.0\\.1 is held by uid ${process.getuid?.() ?? 0} \\(`));
      assert.match(lines[0]!, /set port, or 0 for any free port$/);
      assert.equal(await exists(path.join(stateDir, 'agent.json')), false, 'no agent.json for an agent that never listened');
      assert.equal(await exists(path.join(stateDir, 'agent.lock')), false, 'the state lock is released');
      // The same state dir serves at once on a free port: nothing stale blocks it.
      const next = startCli(['serve', '--state-dir', stateDir, '--port', '0'], env);
      try {
        await waitFor(async () => JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null'))?.pid === next.child.pid, GUARD_MS, () => next.output());
      } finally {
        assert.equal(await next.stop(), 0);
      }
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});

test('serve: a second SIGTERM during the graceful stop drops the request in progress and exits 0', async () => {
  await withSandbox(async (dir) => {
    const env = await simulated(dir);
    const stateDir = path.join(dir, 'state');
    const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0'], env);
    const socket = new net.Socket();
    let drip: NodeJS.Timeout | undefined;
    try {
      let url = '';
      await waitFor(
        async () => {
          const discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | null;
          if (!discovery || discovery.pid !== agent.child.pid) return false;
          url = discovery.url;
          return (await fetch(`${url}/healthz`)).status === 200;
        },
        GUARD_MS,
        () => `the agent never became healthy: ${agent.output()}`,
      );
      // Headers that keep trickling in: a request in progress, which the graceful stop waits for.
      socket.connect(Number(new URL(url).port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ');
      drip = setInterval(() => socket.writable && socket.write('x'), 200);

      agent.child.kill('SIGTERM');
      await waitFor(async () => /shutting down/.test(agent.output()) && !(await exists(path.join(stateDir, 'agent.json'))), GUARD_MS, () => `no graceful stop began: ${agent.output()}`);
      assert.equal(agent.child.exitCode, null, 'still stopping: the request in progress holds it');
      agent.child.kill('SIGTERM');
      assert.equal(await agent.exited, 0, agent.output());
      await closed;
      const out = agent.output();
      const shutting = out.indexOf('shutting down');
      const dropping = out.indexOf('second stop request: dropping open connections');
      assert.ok(shutting >= 0 && dropping > shutting, `the second signal was acted on after the first: ${out}`);
      assert.ok(out.indexOf('"msg":"stopped"') > dropping, out);
    } finally {
      clearInterval(drip);
      socket.destroy();
      await agent.stop('SIGKILL');
    }
  });
});
