// Latency of authorized credential requests while slow clients trickle their headers one byte
// a second (the figures daemonHostile.test.ts used to assert), against the same agent with no
// slow client, alternating in blocks in the same run. Also how long the agent holds a trickler.
import http from 'node:http';
import net from 'node:net';
import { sandbox, startAgent, stats } from './lib.mjs';

function get(url, token) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: token }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/** Opens `count` sockets that send a request one byte a second; resolves each one's hold time on close. */
function tricklers(port, count) {
  const held = [];
  const sockets = Array.from({ length: count }, () => {
    const socket = net.connect(port, '127.0.0.1');
    const opened = performance.now();
    const request = `GET /v1/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(500)}`;
    let sent = 0;
    const drip = setInterval(() => sent < request.length && socket.write(request[sent++]), 1_000);
    socket.on('error', () => undefined);
    held.push(new Promise((resolve) => socket.on('close', () => (clearInterval(drip), resolve(performance.now() - opened)))));
    return socket;
  });
  return { held, close: () => sockets.forEach((s) => s.destroy()) };
}

export async function run({ blocks = 4, perBlock = 50, slow = 20 } = {}) {
  const { dir, cleanup } = await sandbox();
  const { agent, discovery, token } = await startAgent(dir);
  const port = Number(new URL(discovery.url).port);
  const candidate = [];
  const baseline = [];
  const holds = [];
  try {
    for (let b = 0; b < blocks; b += 1) {
      for (let i = 0; i < perBlock; i += 1) baseline.push(await get(discovery.credentialsUrl, token));
      const t = tricklers(port, slow);
      for (let i = 0; i < perBlock; i += 1) candidate.push(await get(discovery.credentialsUrl, token));
      holds.push(...(await Promise.all(t.held)));
      t.close();
    }
    const c = stats(candidate);
    const base = stats(baseline);
    const h = stats(holds);
    return {
      scenario: `credentials GET with ${slow} header-trickling clients connected (baseline: none); tricklers held median ${Math.round(h.median)} ms, max ${Math.round(h.max)} ms`,
      unit: 'ms',
      target: 'ratio ≤ 2; tricklers cut off by the header timeout, not held',
      candidate: c,
      baseline: base,
      ratio: c.median / base.median,
    };
  } finally {
    await agent.stop();
    await cleanup();
  }
}
