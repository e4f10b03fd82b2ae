// Time from SIGTERM to exit for an agent under request load (the figure daemonShutdown.test.ts
// used to assert), against an idle agent stopped the same way in the same run.
import http from 'node:http';
import { sandbox, startAgent, stats } from './lib.mjs';

async function stopTime(loaded) {
  const { dir, cleanup } = await sandbox();
  const { agent, discovery, token } = await startAgent(dir);
  let running = loaded;
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const loop = async () => {
    while (running) {
      await new Promise((resolve) => {
        http.get(discovery.credentialsUrl, { headers: { authorization: token }, agent: keepAlive }, (res) => res.resume().on('end', resolve)).on('error', resolve);
      });
    }
  };
  const loops = loaded ? Array.from({ length: 16 }, loop) : [];
  try {
    if (loaded) await new Promise((r) => setTimeout(r, 500));
    const exited = new Promise((resolve) => agent.child.once('exit', resolve));
    const started = performance.now();
    agent.child.kill('SIGTERM');
    await exited;
    return performance.now() - started;
  } finally {
    running = false;
    await Promise.all(loops);
    keepAlive.destroy();
    await agent.stop();
    await cleanup();
  }
}

export async function run({ runs = 5 } = {}) {
  const loaded = [];
  const idle = [];
  for (let i = 0; i < runs; i += 1) {
    loaded.push(await stopTime(true));
    idle.push(await stopTime(false));
  }
  const c = stats(loaded);
  const b = stats(idle);
  return { scenario: `SIGTERM to exit with 16 clients looping (baseline: idle agent), ${runs} runs each`, unit: 'ms', target: 'under the 4 s grace', candidate: c, baseline: b, ratio: c.median / b.median };
}
