// The processes of callerFlood.mjs, each started inside the bench's network namespace:
//   flood <url>          IMDS token PUTs, each on a new connection reset right after sending
//   measure <url> <n>    n GET /v1/credentials with the token ($TOKEN), a fresh connection
//                        each and a 1 s timeout (the JS SDK v3 default); prints JSON
//   queues <port>...     samples each listener's accept queue (rx_queue of its LISTEN line in
//                        /proc/net/tcp, which the kernel lists before any connection) every
//                        10 ms until SIGTERM, then prints the deepest seen per port as JSON
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
} else if (mode === 'queues') {
  const { openSync, readSync, closeSync } = await import('node:fs');
  const ports = new Map(args.map((p) => [Number(p).toString(16).toUpperCase().padStart(4, '0'), Number(p)]));
  const deepest = Object.fromEntries(args.map((p) => [p, 0]));
  const buffer = Buffer.alloc(8192);
  const sample = () => {
    const fd = openSync('/proc/net/tcp', 'r');
    const got = readSync(fd, buffer);
    closeSync(fd);
    for (const line of buffer.toString('latin1', 0, got).split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A') continue; // LISTEN
      const port = ports.get(f[1].split(':')[1]);
      if (port === undefined) continue;
      const queued = parseInt(f[4].split(':')[1], 16);
      if (queued > deepest[port]) deepest[port] = queued;
    }
  };
  const timer = setInterval(sample, 10);
  process.once('SIGTERM', () => {
    clearInterval(timer);
    process.stdout.write(JSON.stringify(deepest));
  });
} else {
  throw new Error(`unknown mode ${mode}`);
}
