// The processes of callerFlood.mjs, each started inside the bench's network namespace:
//   flood <url>          IMDS token PUTs, each on a new connection reset right after sending
//   measure <url> <n>    n GET /v1/credentials with the token ($TOKEN), a fresh connection
//                        each and a 1 s timeout (the JS SDK v3 default); prints JSON
import http from 'node:http';
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'flood') {
  const url = new URL(args[0]);
  const request = `PUT /latest/api/token HTTP/1.1\r\nHost: ${url.host}\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n`;
  let sent = 0;
  const loop = async () => {
    for (;;) {
      await new Promise((resolve) => {
        const s = net.connect(Number(url.port), url.hostname);
        s.on('error', () => {});
        s.on('close', resolve);
        s.on('connect', () => s.write(request, () => {
          sent += 1;
          s.resetAndDestroy();
        }));
      });
    }
  };
  setInterval(() => process.stderr.write(`flood: ${sent} reset PUTs\n`), 5000).unref();
  await Promise.all(Array.from({ length: 64 }, loop));
} else if (mode === 'measure') {
  const [url, n] = [args[0], Number(args[1])];
  const once = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = http.get(url, { agent: false, headers: { authorization: process.env.TOKEN }, signal: AbortSignal.timeout(1000) }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started }));
      });
      req.on('error', (error) => resolve({ error: error.name === 'AbortError' || error.name === 'TimeoutError' ? 'timeout' : error.code ?? error.message, ms: performance.now() - started }));
    });
  const results = [];
  for (let i = 0; i < n; i += 1) {
    results.push(await once());
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(JSON.stringify(results));
} else {
  throw new Error(`unknown mode ${mode}`);
}
