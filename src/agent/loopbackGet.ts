import { connect } from 'node:net';

export interface LoopbackResponse {
  status: number;
  body: string;
}

/** Larger answers are not the agent's (its biggest, /v1/status, is a few KB). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * One GET to the agent over a fresh loopback connection, with `Connection: close`. Clients call
 * it only for URLs they checked (a literal loopback address from a trusted agent.json, on a port
 * held by root or the agent's user). It speaks the little HTTP/1.1 that takes, instead of
 * node:http: `credential-process` runs on every SDK refresh, and node:http's client costs about
 * 3 ms of start-up for one request (measured in scripts/bench/credentialProcessAgent.mjs).
 * The body may come with Content-Length, chunked, or end at close.
 */
export function loopbackGet(url: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<LoopbackResponse> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new Error(`not a URL: ${url}`));
  }
  if (target.protocol !== 'http:') return Promise.reject(new Error(`not an http URL: ${url}`));
  const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`];
  for (const [name, value] of Object.entries(headers)) {
    // A header that could end the request early and start another is never sent.
    if (!/^[A-Za-z0-9-]+$/.test(name) || /[\r\n\0]/.test(value)) return Promise.reject(new Error(`header ${JSON.stringify(name)} cannot be sent`));
    lines.push(`${name}: ${value}`);
  }
  lines.push('Connection: close', '', '');
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.port || 80);

  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (outcome: LoopbackResponse | Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error('timeout')));
    socket.on('connect', () => socket.write(lines.join('\r\n')));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_RESPONSE_BYTES) return finish(new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
      chunks.push(chunk);
      const parsed = parseResponse(Buffer.concat(chunks), false);
      if (parsed) finish(parsed);
    });
    socket.on('end', () => finish(parseResponse(Buffer.concat(chunks), true) ?? new Error('the connection closed before a whole answer arrived')));
    socket.on('error', (error) => finish(error));
  });
}

/**
 * The response in `raw`, once it is whole; `ended`: the server closed the connection, which
 * ends a body sent without a length. An answer that can never be whole is an Error.
 */
export function parseResponse(raw: Buffer, ended: boolean): LoopbackResponse | Error | undefined {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd === -1) return ended ? new Error('the connection closed before a whole answer arrived') : undefined;
  const [statusLine = '', ...headerLines] = raw.toString('latin1', 0, headEnd).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!status) return new Error('the answer is not HTTP/1.1');
  const header = (name: string): string | undefined => {
    const line = headerLines.find((l) => l.slice(0, l.indexOf(':')).trim().toLowerCase() === name);
    return line?.slice(line.indexOf(':') + 1).trim();
  };
  const body = raw.subarray(headEnd + 4);
  const answer = (bytes: Buffer): LoopbackResponse => ({ status: Number(status[1]), body: bytes.toString('utf8') });
  if (/(^|,)\s*chunked\s*$/i.test(header('transfer-encoding') ?? '')) {
    const decoded = dechunk(body);
    if (decoded instanceof Error) return decoded;
    if (decoded) return answer(decoded);
    return ended ? new Error('the connection closed in the middle of a chunked answer') : undefined;
  }
  const length = header('content-length');
  if (length !== undefined) {
    if (!/^\d{1,9}$/.test(length)) return new Error('the answer has an invalid Content-Length');
    const wanted = Number(length);
    if (body.length >= wanted) return answer(body.subarray(0, wanted));
    return ended ? new Error(`the answer ended after ${body.length} of ${wanted} bytes`) : undefined;
  }
  return ended ? answer(body) : undefined;
}

/** A chunked body decoded once its last chunk arrived; undefined while more is to come. */
function dechunk(body: Buffer): Buffer | Error | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(body.toString('latin1', at, lineEnd));
    if (!size) return new Error('the answer has an invalid chunk');
    const length = parseInt(size[1]!, 16);
    const start = lineEnd + 2;
    // The last chunk; trailers, if any, end with an empty line.
    if (length === 0) return body.indexOf('\r\n\r\n', lineEnd) === -1 ? undefined : Buffer.concat(parts);
    if (body.length < start + length + 2) return undefined;
    parts.push(body.subarray(start, start + length));
    at = start + length + 2;
  }
}
