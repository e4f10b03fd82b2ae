import { readFile } from 'node:fs/promises';
import type { Credentials } from '../credentials.js';
import { processAlive, readDiscovery } from './discovery.js';
import type { AgentDiscovery } from './contract.js';

export interface AgentCredentials {
  credentials: Credentials & { expiration: Date };
  discovery: AgentDiscovery;
}

export interface RunningAgent {
  discovery: AgentDiscovery;
  token: string;
}

const LOOPBACK_URL = /^http:\/\/(127(?:\.\d{1,3}){3}|localhost|\[::1\]):\d+\//;

/**
 * The agent described by <state-dir>/agent.json, if it is alive and its token is readable.
 * Anything else (no file, stale pid, unreadable token, non-loopback URL) means "no agent":
 * callers fall back to reading the profile directly.
 */
export async function findRunningAgent(stateDir: string): Promise<RunningAgent | undefined> {
  const discovery = await readDiscovery(stateDir);
  if (!discovery || !processAlive(discovery.pid) || !LOOPBACK_URL.test(discovery.credentialsUrl)) return undefined;
  try {
    const token = (await readFile(discovery.tokenFile, 'utf8')).trim();
    return token ? { discovery, token } : undefined;
  } catch {
    return undefined;
  }
}

/** Asks the running agent for credentials; undefined when it has none or does not answer. */
export async function fetchFromAgent(agent: RunningAgent, timeoutMs = 3_000): Promise<AgentCredentials | undefined> {
  const response = await get(agent.discovery.credentialsUrl, { authorization: agent.token }, timeoutMs).catch(() => undefined);
  if (!response || response.status !== 200) return undefined;
  try {
    const body = JSON.parse(response.body) as Record<string, unknown>;
    const { AccessKeyId, SecretAccessKey, Token, Expiration, AccountId, RoleArn } = body;
    if (typeof AccessKeyId !== 'string' || typeof SecretAccessKey !== 'string' || typeof Expiration !== 'string') return undefined;
    return {
      discovery: agent.discovery,
      credentials: {
        accessKeyId: AccessKeyId,
        secretAccessKey: SecretAccessKey,
        ...(typeof Token === 'string' && Token ? { sessionToken: Token } : {}),
        expiration: new Date(Expiration),
        ...(typeof AccountId === 'string' ? { accountId: AccountId } : {}),
        ...(typeof RoleArn === 'string' ? { roleArn: RoleArn } : {}),
      },
    };
  } catch {
    return undefined;
  }
}

export async function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string }> {
  // Loaded here, not at start-up: direct-mode credential-process never needs it.
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
