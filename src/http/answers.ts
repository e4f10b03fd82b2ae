import type { ServerResponse } from 'node:http';
import { jsonHeaders } from './credentialsBody.js';
import type { Refusal } from './guards.js';

/** A JSON error body; messages are fixed strings, so no secret can reach a refusal. */
export function refuse(res: ServerResponse, refusal: Refusal, extraHeaders: readonly string[] = []): number {
  const body = Buffer.from(JSON.stringify({ code: refusal.code, message: refusal.message }));
  res.writeHead(refusal.status, [...jsonHeaders(body), ...extraHeaders]);
  res.end(body);
  return refusal.status;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): number {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, jsonHeaders(body));
  res.end(body);
  return status;
}

export function sendText(res: ServerResponse, text: string, headers: Record<string, string> = {}): number {
  const body = Buffer.from(text);
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length), ...headers });
  res.end(body);
  return 200;
}
