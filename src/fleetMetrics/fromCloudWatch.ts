import type { Credentials } from '../credentials.js';
import { awsClientConfig } from '../aws/awsClientConfig.js';
import type { MetricDatum } from './fleetMetricValues.js';
import type { SendMetrics } from './MetricsPublisher.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface CloudWatchInit {
  namespace: string;
  region: string | undefined;
  /** An explicit endpoint; unset = AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL, then the region's. */
  endpoint?: string | undefined;
  /** The endpoint and proxy variables (HTTPS_PROXY, NO_PROXY…), as for every other AWS call. */
  env: Env;
  /** The machine role's credentials now (the served generation), or undefined. */
  credentials: () => Credentials | undefined;
}

const toCloudWatch = (d: MetricDatum) => ({
  MetricName: d.name,
  Value: d.value,
  Unit: d.unit,
  Dimensions: Object.entries(d.dimensions).map(([Name, Value]) => ({ Name, Value })),
});

/**
 * PutMetricData through the maintained client, signed with the machine role's current
 * credentials, with the endpoint, region and proxy rules every AWS call shares
 * (src/aws/awsClientConfig.ts). @aws-sdk/client-cloudwatch is loaded on the first send, so an
 * agent with metrics off (and every other command) never loads it. The client does not retry:
 * the publisher's backoff does, and a call never outlives its interval.
 */
export function fromCloudWatch(init: CloudWatchInit): SendMetrics {
  return async (data, signal) => {
    const credentials = init.credentials();
    if (!credentials) throw Object.assign(new Error('no machine-role credentials to sign PutMetricData with yet'), { name: 'no-credentials' });
    const { CloudWatchClient, PutMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    const client = new CloudWatchClient({
      ...(await awsClientConfig('cloudwatch', { region: init.region, endpoint: init.endpoint, env: init.env, connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000 })),
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}) },
      maxAttempts: 1,
    });
    try {
      // PutMetricData takes up to 1000 values per call: one interval is one call.
      await client.send(new PutMetricDataCommand({ Namespace: init.namespace, MetricData: data.map(toCloudWatch) }), { abortSignal: signal });
    } finally {
      client.destroy();
    }
  };
}
