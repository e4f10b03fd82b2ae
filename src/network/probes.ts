import net from 'node:net';
import { describeProxy, proxyAgentFor, proxyFor, proxyVariables } from './proxy.js';
import { serviceEndpointUrl, viaProxy, type AwsClientSettings } from '../aws/awsClientConfig.js';
import { withStsClient } from '../aws/stsClient.js';

/** The caller's environment, for HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
type Env = Readonly<Record<string, string | undefined>>;
import type { Credentials } from '../credentials.js';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** Where STS is: the configured endpoint (stsEndpoint, AWS_ENDPOINT_URL_STS), else the region's. */
export const stsEndpointUrl = (sts: Pick<AwsClientSettings, 'region' | 'endpoint' | 'env'>): URL => serviceEndpointUrl('sts', sts);

/** TCP connect to the STS endpoint, or to the proxy that requests to it go through. */
export function tcpProbe(url: URL, timeoutMs: number, env: Env = {}): Promise<ProbeResult> {
  const proxy = proxyFor(url, proxyVariables(env));
  const target = proxy ? new URL(proxy) : url;
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const via = proxy ? ` (the proxy ${describeProxy(proxy)} for ${url.host})` : '';
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (result: ProbeResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, detail: `no TCP answer from ${host}:${port}${via} within ${timeoutMs} ms` }));
    socket.once('connect', () => finish({ ok: true, detail: `TCP connect to ${host}:${port}${via} succeeded` }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ ok: false, detail: `TCP connect to ${host}:${port}${via} failed (${error.code ?? error.message})` }));
  });
}

/** The Date header of any answer from `url` (through the proxy when one applies), for clock skew. */
export async function responseDate(url: URL, timeoutMs: number, env: Env = {}): Promise<Date | undefined> {
  const agent = (await proxyAgentFor(url, env))?.agent;
  const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = client.get(url, { timeout: timeoutMs, ...(agent ? { agent } : {}) }, (res) => {
      res.resume();
      const date = res.headers.date;
      resolve(date ? new Date(date) : undefined);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export interface Identity {
  account?: string;
  arn?: string;
  userId?: string;
}

/** GetCallerIdentity with the given credentials, through the shared STS client. */
export async function stsIdentity(credentials: Credentials, sts: AwsClientSettings, timeoutMs: number): Promise<Identity> {
  return withStsClient({ ...sts, credentials }, async (client, { GetCallerIdentityCommand }) => {
    const result = await client.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
    return { account: result.Account, arn: result.Arn, userId: result.UserId };
  });
}

export async function stsProbe(credentials: Credentials, sts: AwsClientSettings, timeoutMs: number): Promise<ProbeResult> {
  try {
    const identity = await stsIdentity(credentials, sts, timeoutMs);
    return { ok: true, detail: `STS GetCallerIdentity: ${identity.arn ?? 'unknown identity'}` };
  } catch (error) {
    return { ok: false, detail: `STS GetCallerIdentity failed (${(error as Error).name}: ${(error as Error).message})${viaProxy('sts', sts)}` };
  }
}
