// GET /v1/credentials with a new TCP connection per request, the case where the caller check
// (issue 8: the calling user from /proc/net/tcp, once per connection) is paid on every request.
// Three servers in the same run: the agent as shipped, the agent with allowUsers=* (no lookup),
// and a bare node:http server with a body of the same size. One client, `concurrency` requests
// in flight; the per-connection cost is the latency difference at concurrency 1.
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { sandbox, startAgent, startBare, stats, until } from './lib.mjs';


const once = (url, headers) =>
  new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    http
      .get(url, { agent: false, headers }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
      })
      .on('error', reject);
  });

/** Requests per second over `ms`, with `concurrency` loops each opening a connection per request. */
async function rate(url, headers, ms, concurrency) {
  const deadline = Date.now() + ms;
  const latencies = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) latencies.push(await once(url, headers));
    }),
  );
  return { perSecond: latencies.length / (ms / 1000), latency: stats(latencies) };
}

export async function run({ seconds = 3 } = {}) {
  const { dir, cleanup } = await sandbox();
  const openConfig = path.join(dir, 'open.json');
  await writeFile(openConfig, JSON.stringify({ allowUsers: ['*'] }));
  const { mkdir } = await import('node:fs/promises');
  await Promise.all([mkdir(path.join(dir, 'a')), mkdir(path.join(dir, 'b'))]);
  const checked = await startAgent(path.join(dir, 'a'));
  const open = await startAgent(path.join(dir, 'b'), ['--config', openConfig]);
  const size = (await (await fetch(checked.discovery.credentialsUrl, { headers: { authorization: checked.token } })).arrayBuffer()).byteLength;
  const bare = await startBare(size);
  try {
    await until(async () => (await fetch(bare.url)).ok, 5_000, 'bare server');
    const targets = {
      checked: [checked.discovery.credentialsUrl, { authorization: checked.token }],
      open: [open.discovery.credentialsUrl, { authorization: open.token }],
      bare: [bare.url, {}],
    };
    const best = {};
    for (const [concurrency, ms] of [[1, seconds * 500], [16, seconds * 1000]]) {
      for (let round = 0; round < 2; round += 1) {
        for (const [name, [url, headers]] of Object.entries(targets)) {
          const r = await rate(url, headers, ms, concurrency);
          const key = `${name}@${concurrency}`;
          if (!best[key] || r.perSecond > best[key].perSecond) best[key] = r;
        }
      }
    }
    const perConnectionMs = best['checked@1'].latency.median - best['open@1'].latency.median;
    // The lookup scans /proc/net/tcp; this load itself leaves thousands of TIME_WAIT lines there.
    const tableLines = (await readFile('/proc/net/tcp', 'latin1').catch(() => '')).split('\n').length - 2;
    return {
      scenario: `GET /v1/credentials, new connection per request, 16 in flight, ${seconds}s × 2; caller check costs ${perConnectionMs.toFixed(3)} ms per connection (median latency at 1 in flight: checked ${best['checked@1'].latency.median.toFixed(3)} ms, allowUsers=* ${best['open@1'].latency.median.toFixed(3)} ms, bare ${best['bare@1'].latency.median.toFixed(3)} ms); allowUsers=* ${best['open@16'].perSecond.toFixed(0)} req/s; /proc/net/tcp ${tableLines} lines at the end`,
      unit: 'req/s',
      target: 'report',
      candidate: { median: best['checked@16'].perSecond },
      baseline: { median: best['bare@16'].perSecond },
      ratio: best['checked@16'].perSecond / best['bare@16'].perSecond,
    };
  } finally {
    bare.child.kill();
    await Promise.all([checked.agent.stop(), open.agent.stop()]);
    await cleanup();
  }
}
