import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|\[0{0,4}(?::0{0,4}){6}:0{0,3}1\])(?::\d{1,5})?$/i;

/**
 * DNS rebinding: a web page can make a browser send requests to 127.0.0.1 under its own
 * hostname. Only loopback names and addresses are accepted as Host.
 */
export function checkHost(req: IncomingMessage): Refusal | undefined {
  const host = req.headers.host;
  if (!host || !LOOPBACK_HOST.test(host)) {
    return { status: 403, code: 'bad-host', message: 'Host must be a loopback address or localhost' };
  }
  return undefined;
}

/** A proxy in front of the agent would let remote callers reach it; refuse proxied requests. */
export function checkNotForwarded(req: IncomingMessage): Refusal | undefined {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) {
    return { status: 403, code: 'forwarded', message: 'proxied requests (X-Forwarded-For/Forwarded) are refused' };
  }
  return undefined;
}

/** Requests here carry no body; anything sizeable is an attack or a mistake. */
export function checkNoBody(req: IncomingMessage, maxBytes = 1024): Refusal | undefined {
  const length = Number(req.headers['content-length'] ?? 0);
  if (req.headers['transfer-encoding'] !== undefined || !(length <= maxBytes)) {
    return { status: 413, code: 'body-too-large', message: 'request bodies are not accepted' };
  }
  return undefined;
}

/**
 * Constant-time token check. Only the length can leak, and every token this agent issues is
 * 64 hex characters, so that is public anyway.
 */
export function tokenChecker(token: string): (presented: string | string[] | undefined) => boolean {
  const expected = Buffer.from(token);
  return (presented) => {
    if (typeof presented !== 'string' || Buffer.byteLength(presented) !== expected.length) return false;
    return timingSafeEqual(Buffer.from(presented), expected);
  };
}

const UNAUTHORIZED: Refusal = { status: 401, code: 'unauthorized', message: 'missing or wrong Authorization token' };

/** Route guard: the agent's token in `Authorization`. */
export function requireToken(token: string): (req: IncomingMessage) => Refusal | undefined {
  const tokenOk = tokenChecker(token);
  return (req) => (tokenOk(req.headers.authorization) ? undefined : UNAUTHORIZED);
}
