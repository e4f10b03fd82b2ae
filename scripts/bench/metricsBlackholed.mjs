// GET /v1/credentials latency of an agent publishing fleet metrics to a blackholed CloudWatch
// (a loopback port that accepts and never answers), against an agent with metrics off, both
// running at once and asked in alternation so machine noise hits both alike.
import net from 'node:net';
import { sandbox, startAgent, stats } from './lib.mjs';

async function timeGet(url, token) {
  const started = process.hrtime.bigint();
  const answer = await fetch(url, { headers: { authorization: token } });
  await answer.arrayBuffer();
  if (answer.status !== 200) throw new Error(`agent answered ${answer.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function run({ requests = 2000 } = {}) {
  const held = new Set();
  const blackhole = net.createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {}).on('close', () => held.delete(socket));
  });
  await new Promise((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${blackhole.address().port}`;
  const on = await sandbox();
  const off = await sandbox();
  const publishing = await startAgent(on.dir, [], {
    APPSTREAM_CREDS_METRICS_NAMESPACE: 'Bench/Blackholed',
    APPSTREAM_CREDS_METRICS_INTERVAL: '1s',
    AWS_ENDPOINT_URL_CLOUDWATCH: endpoint,
    AWS_REGION: 'us-east-1',
  });
  const quiet = await startAgent(off.dir);
  try {
    // Until the first attempt has hung on the blackhole: from then on the publisher is stuck or backing off.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const a = [];
    const b = [];
    for (let i = 0; i < requests; i += 1) {
      a.push(await timeGet(publishing.discovery.credentialsUrl, publishing.token));
      b.push(await timeGet(quiet.discovery.credentialsUrl, quiet.token));
    }
    const sa = stats(a);
    const sb = stats(b);
    return {
      scenario: `GET /v1/credentials one at a time (${requests}×), CloudWatch blackholed (attempts held ${held.size > 0 ? 'open' : 'closed'}) vs metrics off`,
      unit: 'ms',
      target: '≤ 1.2×',
      candidate: sa,
      baseline: sb,
      ratio: sa.median / sb.median,
    };
  } finally {
    await publishing.agent.stop();
    await quiet.agent.stop();
    for (const socket of held) socket.destroy();
    blackhole.close();
    await on.cleanup();
    await off.cleanup();
  }
}
