import type { Credentials } from '../credentials.js';
import { sdkProxyOptions } from '../network/proxy.js';
import type { MetricDatum } from './fleetMetricValues.js';
import type { SendMetrics } from './MetricsPublisher.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface CloudWatchInit {
  namespace: string;
  region: string | undefined;
  /** AWS_ENDPOINT_URL_CLOUDWATCH, else AWS_ENDPOINT_URL; unset = the region's endpoint. */
  endpoint: string | undefined;
  /** The proxy variables (HTTPS_PROXY, NO_PROXY…), as for every other AWS call. */
  env: Env;
  /** The machine role's credentials now (the served generation), or undefined. */
  credentials: () => Credentials | undefined;
}

/** Where CloudWatch is: the endpoint variable when set, else the regional endpoint. */
export function cloudWatchEndpointUrl(region: string | undefined, endpoint: string | undefined): URL {
  return new URL(endpoint ?? `https://monitoring.${region ?? 'us-east-1'}.amazonaws.com`);
}

/** The endpoint variables the AWS SDKs honour for CloudWatch, the specific one first. */
export const cloudWatchEndpointFrom = (env: Env): string | undefined => env.AWS_ENDPOINT_URL_CLOUDWATCH || env.AWS_ENDPOINT_URL || undefined;

const toCloudWatch = (d: MetricDatum) => ({
  MetricName: d.name,
  Value: d.value,
  Unit: d.unit,
  Dimensions: Object.entries(d.dimensions).map(([Name, Value]) => ({ Name, Value })),
});

/**
 * PutMetricData through the maintained client, signed with the machine role's current
 * credentials. @aws-sdk/client-cloudwatch is loaded on the first send, so an agent with metrics
 * off (and every other command) never loads it. The client does not retry: the publisher's
 * backoff does, and a call never outlives its interval.
 */
export function fromCloudWatch(init: CloudWatchInit): SendMetrics {
  const url = cloudWatchEndpointUrl(init.region, init.endpoint);
  return async (data, signal) => {
    const credentials = init.credentials();
    if (!credentials) throw Object.assign(new Error('no machine-role credentials to sign PutMetricData with yet'), { name: 'no-credentials' });
    const { CloudWatchClient, PutMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    const proxy = await sdkProxyOptions(url, init.env);
    const client = new CloudWatchClient({
      region: init.region ?? 'us-east-1',
      ...(init.endpoint ? { endpoint: init.endpoint } : {}),
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}) },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, ...('requestHandler' in proxy ? proxy.requestHandler : {}) },
    });
    try {
      // PutMetricData takes up to 1000 values per call: one interval is one call.
      await client.send(new PutMetricDataCommand({ Namespace: init.namespace, MetricData: data.map(toCloudWatch) }), { abortSignal: signal });
    } finally {
      client.destroy();
    }
  };
}
