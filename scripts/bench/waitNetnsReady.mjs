// From a veth "ENI" appearing in a network namespace to `wait` exiting ready (the figure
// waitNetns.test.ts used to assert), against `wait` started with the ENI already up, same run.
// Needs root and iproute2; reported as skipped otherwise.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cli, sandbox, stats } from './lib.mjs';
import path from 'node:path';

const ip = (...args) => execFileSync('ip', args, { stdio: 'pipe' });

function waitIn(ns, env) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, cli, 'wait', '--probe', 'none', '--timeout', '60s'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ code, at: performance.now(), stderr })));
  return { exited, progressed: () => /waiting for network/.test(stderr) };
}

function addEni(ns, n) {
  const peer = `bnp${process.pid % 10000}${n}`;
  ip('link', 'add', 'dev', peer, 'type', 'veth', 'peer', 'name', 'eni0', 'netns', ns);
  ip('link', 'set', 'dev', peer, 'addrgenmode', 'none');
  ip('link', 'set', 'dev', peer, 'up');
  ip('-n', ns, 'link', 'set', 'dev', 'eni0', 'up');
  ip('-n', ns, 'addr', 'add', '10.214.1.2/24', 'dev', 'eni0');
  ip('-n', ns, 'route', 'add', 'default', 'via', '10.214.1.1', 'dev', 'eni0');
}

export async function run({ runs = 5 } = {}) {
  const target = 'ready within ~1 s of the ENI (poll backs off to 1 s)';
  if (process.getuid?.() !== 0) return { scenario: 'wait: ENI appears -> ready', unit: 'ms', target, skipped: 'needs root for network namespaces' };
  const { dir, cleanup } = await sandbox();
  spawnSync(process.execPath, [cli, 'simulate', '--dir', dir, '--rotations', '1', '--validity', '6h'], { stdio: 'ignore' });
  const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state') };
  const afterAdd = [];
  const alreadyUp = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      const ns = `bench-ns-${process.pid}-${i}`;
      ip('netns', 'add', ns);
      try {
        ip('-n', ns, 'link', 'set', 'dev', 'lo', 'up');
        const waiting = waitIn(ns, env);
        while (!waiting.progressed()) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 1_500)); // let the poll settle into its 1 s back-off
        addEni(ns, i);
        const added = performance.now();
        const done = await waiting.exited;
        if (done.code !== 0) throw new Error(`wait exited ${done.code}: ${done.stderr}`);
        afterAdd.push(done.at - added);
        const started = performance.now();
        const again = await waitIn(ns, env).exited;
        if (again.code !== 0) throw new Error(`wait exited ${again.code}: ${again.stderr}`);
        alreadyUp.push(again.at - started);
      } finally {
        spawnSync('ip', ['netns', 'del', ns]);
      }
    }
  } finally {
    await cleanup();
  }
  const c = stats(afterAdd);
  const b = stats(alreadyUp);
  return { scenario: `wait: ENI appears -> ready, ${runs} namespaces (baseline: wait with the ENI already up)`, unit: 'ms', target, candidate: c, baseline: b, ratio: c.median / b.median };
}
