// Shared pieces of the benchmark scenarios: timing child processes, statistics, sandboxes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cli = path.join(root, 'dist', 'appstream-creds.cjs');

/**
 * The agent's default verification (auto) would ask the real regional STS about each new set;
 * the scenarios use made-up sets and loopback only. A scenario that verifies overrides it.
 */
export const NO_REAL_STS = { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'false' };

export function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, median: at(0.5), p10: at(0.1), p90: at(0.9), p99: at(0.99), max: sorted.at(-1), min: sorted[0] };
}

/** Wall time of one run of a command, in ms. */
export function timeRun(command, args, env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env: { ...process.env, ...NO_REAL_STS, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

/**
 * Alternates candidate and baseline runs so machine noise hits both alike; returns the
 * medians, spreads and the ratio of medians.
 */
export function compareRuns(runs, candidate, baseline) {
  const a = [];
  const b = [];
  for (let i = 0; i < 3; i += 1) {
    candidate();
    baseline();
  }
  for (let i = 0; i < runs; i += 1) {
    a.push(candidate());
    b.push(baseline());
  }
  const sa = stats(a);
  const sb = stats(b);
  return { candidate: sa, baseline: sb, ratio: sa.median / sb.median };
}

export async function sandbox() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'as2-bench-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function startCli(args, env = {}, { stdio = ['ignore', 'ignore', 'pipe'], nodeArgs = [] } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { env: { ...process.env, ...NO_REAL_STS, ...env }, stdio });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  return {
    child,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function until(check, ms, what) {
  const started = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * moto's server on a free loopback port, ready to answer. Without INITIAL_NO_AUTH_ACTION_COUNT it
 * accepts any signed request, so made-up credentials sign STS calls; the benches time the calls.
 */
export async function startMoto() {
  const port = await new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  try {
    await until(async () => (await fetch(`${url}/moto-api/`)).status < 500, 30_000, 'moto');
  } catch (error) {
    moto.kill();
    throw error;
  }
  return { url, stop: () => void moto.kill() };
}

/** A simulated instance (one static generation) and a running agent on an ephemeral port. */
export async function startAgent(dir, extraArgs = [], extraEnv = {}) {
  const sim = spawnSync(process.execPath, [cli, 'simulate', '--dir', dir, '--rotations', '1', '--validity', '6h'], { stdio: 'ignore' });
  if (sim.status !== 0) throw new Error('simulate failed');
  const stateDir = path.join(dir, 'state');
  const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'), ...extraEnv };
  const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0', '--log-level', 'warn', ...extraArgs], env);
  let discovery;
  await until(
    async () => {
      discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8'));
      return (await fetch(`${discovery.url}/healthz`)).ok;
    },
    20_000,
    `the agent (${agent.stderr()})`,
  );
  const token = (await readFile(discovery.tokenFile, 'utf8')).trim();
  return { agent, discovery, token, stateDir, env };
}

export const fmt = (n, digits = 1) => Number(n).toFixed(digits);

/** A bare node:http server answering a constant body of `size` bytes: the floor for any Node server here. */
export function startBare(size) {
  const source = `
    const body = Buffer.alloc(${size}, 'x');
    require('node:http').createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    }).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) =>
    child.stdout.once('data', (d) => {
      const port = Number(String(d).trim());
      resolve({ child, port, url: `http://127.0.0.1:${port}/` });
    }),
  );
}
