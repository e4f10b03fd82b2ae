import net from 'node:net';
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

export function tcpProbe(url: URL, timeoutMs: number): Promise<ProbeResult> {
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (result: ProbeResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, detail: `no TCP answer from ${host}:${port} within ${timeoutMs} ms` }));
    socket.once('connect', () => finish({ ok: true, detail: `TCP connect to ${host}:${port} succeeded` }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ ok: false, detail: `TCP connect to ${host}:${port} failed (${error.code ?? error.message})` }));
  });
}

export interface Identity {
  account?: string;
  arn?: string;
  userId?: string;
}

/** GetCallerIdentity with the given credentials; the SDK is loaded only when this runs. */
export async function stsIdentity(credentials: Credentials, region: string | undefined, endpoint: string | undefined, timeoutMs: number): Promise<Identity> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const client = new STSClient({
    region: region ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
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

export async function stsProbe(credentials: Credentials, region: string | undefined, endpoint: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  try {
    const identity = await stsIdentity(credentials, region, endpoint, timeoutMs);
    return { ok: true, detail: `STS GetCallerIdentity: ${identity.arn ?? 'unknown identity'}` };
  } catch (error) {
    return { ok: false, detail: `STS GetCallerIdentity failed (${(error as Error).name}: ${(error as Error).message})` };
  }
}
