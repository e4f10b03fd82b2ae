/**
 * src/agent/loopbackGet.ts against real servers on loopback: node:http answering with a length,
 * chunked and at close, a raw server sending what node:http never would, and the failures a
 * client must report instead of hanging or reading too much.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { loopbackGet, MAX_RESPONSE_BYTES, parseResponse } from '../../src/agent/loopbackGet.js';

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('loopbackGet: status and body from node:http with Content-Length, chunked, and a body that ends at close', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  const urls: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    urls.push(req.url ?? '');
    if (req.url === '/length?x=1') return res.writeHead(200, { 'content-length': '11' }).end('hello world');
    if (req.url === '/chunked') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.write('{"code":"not-ready",');
      setTimeout(() => res.end('"message":"é"}'), 20);
      return;
    }
    res.writeHead(404).end();
  });
  const base = await listen(server);
  t.after(() => server.close());
  assert.deepEqual(await loopbackGet(`${base}/length?x=1`, { authorization: 'tok' }, 2_000), { status: 200, body: 'hello world' });
  assert.deepEqual(await loopbackGet(`${base}/chunked`, {}, 2_000), { status: 503, body: '{"code":"not-ready","message":"é"}' });
  assert.deepEqual(await loopbackGet(`${base}/nothing`, {}, 2_000), { status: 404, body: '' });
  assert.equal(seen[0]!.authorization, 'tok');
  assert.equal(seen[0]!.host, base.slice('http://'.length));
  assert.equal(seen[0]!.connection, 'close');
  assert.deepEqual(urls, ['/length?x=1', '/chunked', '/nothing']);

  const raw = net.createServer((socket) => socket.once('data', () => socket.end('HTTP/1.0 200 OK\r\nX: y\r\n\r\nuntil close')));
  const rawBase = await listen(raw);
  t.after(() => raw.close());
  assert.deepEqual(await loopbackGet(`${rawBase}/`, {}, 2_000), { status: 200, body: 'until close' });
});

test('loopbackGet: refused, silent, truncated, oversized and non-HTTP answers are errors, and no header can smuggle a second request', async (t) => {
  const closed = net.createServer();
  const closedBase = await listen(closed);
  await new Promise((r) => closed.close(r));
  await assert.rejects(loopbackGet(`${closedBase}/`, {}, 2_000), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');

  const sockets = new Set<net.Socket>();
  const behaviours: Record<string, (socket: net.Socket) => void> = {
    '/silent': () => {},
    '/short': (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'),
    '/huge': (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\n');
      const block = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!socket.destroyed && socket.write(block));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    },
    '/ftp': (socket) => socket.end('220 hello\r\n\r\n'),
    '/badchunk': (socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
  };
  const raw = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', (data) => behaviours[/^GET (\S+)/.exec(String(data))![1]!]!(socket));
  });
  const base = await listen(raw);
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    raw.close();
  });
  await assert.rejects(loopbackGet(`${base}/silent`, {}, 200), /timeout/);
  await assert.rejects(loopbackGet(`${base}/short`, {}, 2_000), /ended after 9 of 100 bytes/);
  await assert.rejects(loopbackGet(`${base}/huge`, {}, 5_000), new RegExp(`larger than ${MAX_RESPONSE_BYTES} bytes`));
  await assert.rejects(loopbackGet(`${base}/ftp`, {}, 2_000), /not HTTP/);
  await assert.rejects(loopbackGet(`${base}/badchunk`, {}, 2_000), /invalid chunk/);
  await assert.rejects(loopbackGet(`${base}/x`, { authorization: 'tok\r\nX-Evil: 1' }, 2_000), /cannot be sent/);
  await assert.rejects(loopbackGet(`${base}/x`, { 'bad name': 'v' }, 2_000), /cannot be sent/);
  await assert.rejects(loopbackGet('https://127.0.0.1:1/', {}, 2_000), /not an http URL/);
});

test('parseResponse: waits for the whole answer, and takes only Content-Length bytes', () => {
  const raw = (text: string) => Buffer.from(text, 'latin1');
  assert.equal(parseResponse(raw('HTTP/1.1 200 OK\r\nContent-Le'), false), undefined);
  assert.equal(parseResponse(raw('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'), false), undefined);
  assert.deepEqual(parseResponse(raw('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nabEXTRA'), false), { status: 200, body: 'ab' });
  assert.equal(parseResponse(raw('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n'), false), undefined);
  assert.deepEqual(parseResponse(raw('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;ext\r\nc\r\n0\r\n\r\n'), false), { status: 200, body: 'abc' });
  assert.match(String(parseResponse(raw('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'), false)), /invalid Content-Length/);
  assert.match(String(parseResponse(raw('HTTP/1.1 200'), true)), /closed before a whole answer/);
});
