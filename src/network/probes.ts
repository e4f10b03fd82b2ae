import net from 'node:net';
import { describeProxy, proxyAgentFor, proxyFor, proxyVariables, sdkProxyOptions } from './proxy.js';

/** The caller's environment, for HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
type Env = Readonly<Record<string, string | undefined>>;
import type { Credentials } from '../credentials.js';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** Where STS is: AWS_ENDPOINT_URL_STS when set, else the regional endpoint. */
export function stsEndpointUrl(region: string | undefined, endpoint: string | undefined): URL {
  if (endpoint) return new URL(endpoint);
  const r = region ?? 'us-east-1';
  const domain = r.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://sts.${r}.${domain}`);
}

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

/** GetCallerIdentity with the given credentials; the SDK is loaded only when this runs. */
export async function stsIdentity(credentials: Credentials, region: string | undefined, endpoint: string | undefined, timeoutMs: number, env: Env = {}): Promise<Identity> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const client = new STSClient({
    region: region ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(await sdkProxyOptions(stsEndpointUrl(region, endpoint), env)),
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    maxAttempts: 1,
  });
  try {
    const result = await client.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
    return { account: result.Account, arn: result.Arn, userId: result.UserId };
  } finally {
    client.destroy();
  }
}

export async function stsProbe(credentials: Credentials, region: string | undefined, endpoint: string | undefined, timeoutMs: number, env: Env = {}): Promise<ProbeResult> {
  try {
    const identity = await stsIdentity(credentials, region, endpoint, timeoutMs, env);
    return { ok: true, detail: `STS GetCallerIdentity: ${identity.arn ?? 'unknown identity'}` };
  } catch (error) {
    const proxy = proxyFor(stsEndpointUrl(region, endpoint), proxyVariables(env));
    return { ok: false, detail: `STS GetCallerIdentity failed (${(error as Error).name}: ${(error as Error).message})${proxy ? ` through the proxy ${describeProxy(proxy)}` : ''}` };
  }
}
