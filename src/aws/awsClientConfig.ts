/**
 * What every AWS client the agent builds shares: where the service is (the endpoint variables
 * the AWS SDKs honour, else the regional endpoint), the region, and the proxy rules
 * (HTTPS_PROXY / HTTP_PROXY / NO_PROXY). Built in one place so no caller can forget the proxy.
 */
import type { Agent } from 'node:http';
import { describeProxy, proxyAgentFor, proxyFor, proxyVariables } from '../network/proxy.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The services the agent calls; the key is the SDKs' AWS_ENDPOINT_URL_<KEY> suffix. */
const SERVICES = {
  sts: { host: 'sts', variable: 'AWS_ENDPOINT_URL_STS' },
  cloudwatch: { host: 'monitoring', variable: 'AWS_ENDPOINT_URL_CLOUDWATCH' },
} as const;
export type AwsService = keyof typeof SERVICES;

export interface AwsClientSettings {
  region: string | undefined;
  /** An explicit endpoint (a setting); unset = the endpoint variables, then the region's. */
  endpoint?: string | undefined;
  /** The caller's environment: endpoint variables and HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  env: Env;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export const DEFAULT_REGION = 'us-east-1';

/** AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, as the AWS SDKs read them. */
export const endpointFromEnv = (service: AwsService, env: Env): string | undefined => env[SERVICES[service].variable] || env.AWS_ENDPOINT_URL || undefined;

/** The configured endpoint (explicit, then the variables), or undefined for the regional one. */
export const configuredEndpoint = (service: AwsService, settings: Pick<AwsClientSettings, 'endpoint' | 'env'>): string | undefined =>
  settings.endpoint || endpointFromEnv(service, settings.env);

/** Where the service is for this caller: the configured endpoint, else the region's. */
export function serviceEndpointUrl(service: AwsService, settings: Pick<AwsClientSettings, 'region' | 'endpoint' | 'env'>): URL {
  const configured = configuredEndpoint(service, settings);
  if (configured) return new URL(configured);
  const region = settings.region ?? DEFAULT_REGION;
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://${SERVICES[service].host}.${region}.${domain}`);
}

/** The proxy calls to the service go through, or undefined for a direct connection. */
export const serviceProxy = (service: AwsService, settings: Pick<AwsClientSettings, 'region' | 'endpoint' | 'env'>): string | undefined =>
  proxyFor(serviceEndpointUrl(service, settings), proxyVariables(settings.env));

/** " through the proxy http://host:port" for messages (no credentials in it), or ''. */
export function viaProxy(service: AwsService, settings: Pick<AwsClientSettings, 'region' | 'endpoint' | 'env'>): string {
  const proxy = serviceProxy(service, settings);
  return proxy ? ` through the proxy ${describeProxy(proxy)}` : '';
}

export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  requestHandler: { httpAgent?: Agent; httpsAgent?: Agent; connectionTimeout?: number; requestTimeout?: number };
}

/**
 * The SDK v3 client options for a service: region, endpoint, and the SDK's own NodeHttpHandler
 * (built from requestHandler's options) with the proxy agent for the endpoint's scheme.
 * Spread into any client: `new CloudWatchClient({ ...(await awsClientConfig('cloudwatch', s)), credentials })`.
 */
export async function awsClientConfig(service: AwsService, settings: AwsClientSettings): Promise<AwsClientConfig> {
  const endpoint = configuredEndpoint(service, settings);
  const url = serviceEndpointUrl(service, settings);
  const proxy = await proxyAgentFor(url, settings.env);
  return {
    region: settings.region ?? DEFAULT_REGION,
    ...(endpoint ? { endpoint } : {}),
    requestHandler: {
      ...(settings.connectionTimeoutMs !== undefined ? { connectionTimeout: settings.connectionTimeoutMs } : {}),
      ...(settings.requestTimeoutMs !== undefined ? { requestTimeout: settings.requestTimeoutMs } : {}),
      ...(proxy ? (url.protocol === 'https:' ? { httpsAgent: proxy.agent } : { httpAgent: proxy.agent }) : {}),
    },
  };
}
