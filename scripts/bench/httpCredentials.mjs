// GET /v1/credentials at 64 connections, against a bare node:http server that returns a
// constant body of the same size (the floor for any Node server on this machine).
import autocannon from 'autocannon';
import { sandbox, startAgent, startBare, until } from './lib.mjs';

function load(url, headers, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: 64, duration: seconds, headers }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}


export async function run({ seconds = 8 } = {}) {
  const { dir, cleanup } = await sandbox();
  const { agent, discovery, token } = await startAgent(dir);
  const size = (await (await fetch(discovery.credentialsUrl, { headers: { authorization: token } })).arrayBuffer()).byteLength;
  const bare = await startBare(size);
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${bare.port}/`)).ok, 5_000, 'bare server');
    // Alternate twice each and keep the better run of each, so a noisy moment hurts neither side alone.
    const agentRuns = [];
    const bareRuns = [];
    for (let i = 0; i < 2; i += 1) {
      agentRuns.push(await load(discovery.credentialsUrl, { authorization: token }, seconds));
      bareRuns.push(await load(`http://127.0.0.1:${bare.port}/`, {}, seconds));
    }
    const best = (runs) => runs.reduce((a, b) => (b.requests.average > a.requests.average ? b : a));
    const a = best(agentRuns);
    const b = best(bareRuns);
    if (a.non2xx > 0 || a.errors > 0) throw new Error(`agent answered ${a.non2xx} non-2xx and ${a.errors} errors under load`);
    return {
      scenario: `GET /v1/credentials, 64 connections, ${seconds}s × 2 (body ${size} B)`,
      unit: 'req/s',
      target: '≥ 0.8×',
      candidate: { median: a.requests.average, p99LatencyMs: a.latency.p99 },
      baseline: { median: b.requests.average, p99LatencyMs: b.latency.p99 },
      ratio: a.requests.average / b.requests.average,
    };
  } finally {
    bare.child.kill();
    await agent.stop();
    await cleanup();
  }
}
