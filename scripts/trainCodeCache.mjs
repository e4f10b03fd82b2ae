// Writes dist/main.cjs.<platform>-<arch>-v8-<version>.cache, the code cache the launcher (src/launcher.ts) hands to V8.
//
// A cache made right after compiling holds little more than the top level, because V8 compiles
// functions when they first run. So the cache is made after real runs of the hot command, in
// one process that loads main.cjs through the launcher: `credential-process` through a running
// agent (against a simulated instance), then `credential-process` reading the profile directly.
// Whatever those runs compiled is in the cache; anything else is compiled on use, as without one.
//
// Training needs a loopback port and a temp folder. When it cannot run, the build still
// succeeds (the launcher works without a cache) and says what it lost.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Runs in the training process: argv[1] is dist/, argv[2] a JSON list of runs ({env}), each
// `credential-process`, one after another; the cache is written when the last has ended.
const TRAINER = `
const path = require('node:path');
const { writeFileSync, renameSync } = require('node:fs');
const [dist, runsJson] = process.argv.slice(1);
const { loadMain, codeCacheName } = require(path.join(dist, 'appstream-creds.cjs'));
const main = loadMain(dist, { cache: false });
const runs = JSON.parse(runsJson);
const base = { ...process.env };
let next = 0;
const start = () => {
  const run = runs[next++];
  process.env = { ...base, ...run.env };
  process.argv = [process.execPath, path.join(dist, 'appstream-creds.cjs'), 'credential-process'];
  main.run();
};
process.on('beforeExit', () => {
  if (process.exitCode) return;
  if (next < runs.length) return start();
  const file = path.join(dist, codeCacheName());
  writeFileSync(file + '.tmp', main.createCache());
  renameSync(file + '.tmp', file);
});
start();
`;

/** Our variables and the AWS ones that would point a run at another profile or agent. */
const cleanEnv = (home) =>
  Object.fromEntries([...Object.entries(process.env).filter(([k]) => !/^(APPSTREAM_CREDS_|AWS_)/.test(k)), ['HOME', home], ['USERPROFILE', home]]);

async function waitForAgent(stateDir, agent) {
  for (let waited = 0; waited < 20_000; waited += 100) {
    if (agent.exitCode !== null) throw new Error(`the agent exited with ${agent.exitCode}`);
    try {
      const discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8'));
      if ((await fetch(`${discovery.url}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error('the agent did not start within 20 s');
}

/** The line that says what went wrong: our one-line error, or a stack trace's message. */
const firstError = (stderr) => stderr.split('\n').find((line) => /^(appstream-creds:|\w*Error\b)/.test(line)) ?? stderr.trim().split('\n').at(-1);

export async function trainCodeCache(distDir) {
  const dist = path.resolve(distDir);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'as2creds-train-'));
  const entry = path.join(dist, 'appstream-creds.cjs');
  const env = cleanEnv(dir);
  const profile = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') };
  const stateDir = path.join(dir, 'state');
  let agent;
  try {
    const sim = spawnSync(process.execPath, [entry, 'simulate', '--dir', dir, '--rotations', '1', '--validity', '6h'], { env, encoding: 'utf8' });
    if (sim.status !== 0) throw new Error(`simulate failed: ${firstError(sim.stderr)}`);
    agent = spawn(process.execPath, [entry, 'serve', '--state-dir', stateDir, '--port', '0', '--log-level', 'error'], { env: { ...env, ...profile }, stdio: 'ignore' });
    await waitForAgent(stateDir, agent);
    const runs = [
      // Through the agent: no profile in reach, so the answer can only come from it.
      { env: { APPSTREAM_CREDS_STATE_DIR: stateDir, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'absent'), AWS_CONFIG_FILE: path.join(dir, 'absent') } },
      // Directly from the profile: a state folder with no agent in it.
      { env: { APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'no-agent'), ...profile } },
    ];
    const trained = spawnSync(process.execPath, ['-e', TRAINER, dist, JSON.stringify(runs)], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    if (trained.status !== 0) throw new Error(`a training run failed (exit ${trained.status ?? trained.signal}): ${firstError(trained.stderr)}`);
  } catch (error) {
    process.stderr.write(`build: the code cache was not made (${error.message}); the CLI works without it, but starts slower\n`);
  } finally {
    agent?.kill('SIGTERM');
    if (agent && agent.exitCode === null) await new Promise((resolve) => agent.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
}
