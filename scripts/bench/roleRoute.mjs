// GET /v1/roles/<name>/credentials (a role assumed from the machine role, issue 12) against
// GET /v1/credentials on the same agent, same run, 64 connections each. The role is assumed at
// moto's STS in the background; the route answers from memory like the machine role's.
import autocannon from 'autocannon';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sandbox, startAgent, startCli, startMoto, until } from './lib.mjs';

function load(url, headers, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: 64, duration: seconds, headers }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

export async function run({ seconds = 8 } = {}) {
  // This moto accepts the simulator's fake machine credentials (startMoto).
  const moto = await startMoto();
  const motoUrl = moto.url;
  const { dir, cleanup } = await sandbox();
  let agent;
  try {
    const roles = JSON.stringify({ bench: { roleArn: 'arn:aws:iam::123456789012:role/BenchRole', sessionName: 'bench' } });
    const started = await startAgent(dir, []);
    await started.agent.stop();
    // Restart with the roles setting (startAgent takes flags only; roles come from the environment).
    agent = startCli(['serve', '--state-dir', started.stateDir, '--port', '0', '--log-level', 'warn'], { ...started.env, APPSTREAM_CREDS_ROLES: roles, APPSTREAM_CREDS_STS_ENDPOINT: motoUrl, APPSTREAM_CREDS_REGION: 'us-east-1' });
    let discovery;
    await until(
      async () => {
        discovery = JSON.parse(await readFile(path.join(started.stateDir, 'agent.json'), 'utf8'));
        return discovery.pid === agent.child.pid && (await fetch(`${discovery.url}/healthz`)).ok;
      },
      20_000,
      `the agent (${agent.stderr()})`,
    );
    const token = (await readFile(discovery.tokenFile, 'utf8')).trim();
    // The role's route takes the role's own token (issue 19).
    const roleToken = (await readFile(discovery.roleTokenFiles.bench, 'utf8')).trim();
    const roleUrl = `${discovery.url}/v1/roles/bench/credentials`;
    await until(async () => (await fetch(roleUrl, { headers: { authorization: roleToken } })).ok, 30_000, `the role route (${agent.stderr()})`);
    // Warm both routes first: the role route, measured first, would otherwise pay the JIT alone.
    await load(roleUrl, { authorization: roleToken }, 1);
    await load(discovery.credentialsUrl, { authorization: token }, 1);
    const roleRuns = [];
    const machineRuns = [];
    // Alternate twice each and keep the better run of each, so a noisy moment hurts neither side alone.
    for (let i = 0; i < 2; i += 1) {
      roleRuns.push(await load(roleUrl, { authorization: roleToken }, seconds));
      machineRuns.push(await load(discovery.credentialsUrl, { authorization: token }, seconds));
    }
    const best = (runs) => runs.reduce((a, b) => (b.requests.average > a.requests.average ? b : a));
    const r = best(roleRuns);
    const m = best(machineRuns);
    for (const [name, result] of [['role route', r], ['/v1/credentials', m]]) {
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name} answered ${result.non2xx} non-2xx and ${result.errors} errors under load`);
    }
    return {
      scenario: `GET /v1/roles/bench/credentials vs GET /v1/credentials, same agent, 64 connections, ${seconds}s × 2`,
      unit: 'req/s',
      target: '≥ 0.95×',
      candidate: { median: r.requests.average, p99LatencyMs: r.latency.p99 },
      baseline: { median: m.requests.average, p99LatencyMs: m.latency.p99 },
      ratio: r.requests.average / m.requests.average,
    };
  } finally {
    await agent?.stop();
    moto.stop();
    await cleanup();
  }
}
