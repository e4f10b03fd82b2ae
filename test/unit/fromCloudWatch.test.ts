/**
 * The CloudWatch sink on its own: the endpoint variables, the proxy variables (as every other
 * AWS call), the machine role's session credentials in the signature, one call per batch and no
 * SDK retry. A loopback HTTP server plays CloudWatch, and another plays the proxy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromCloudWatch } from '../../src/fleetMetrics/fromCloudWatch.js';
import type { MetricDatum } from '../../src/fleetMetrics/fleetMetricValues.js';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function server(status = 200): Promise<{ url: string; seen: Seen[]; close: () => void }> {
  const seen: Seen[] = [];
  const s = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', ...(status !== 200 ? { 'x-amzn-query-error': 'Throttling;Sender' } : {}) });
      res.end(status === 200 ? '{}' : JSON.stringify({ __type: 'com.amazonaws.cloudwatch#Throttling', message: 'Rate exceeded' }));
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen, close: () => s.close() };
}

const DATA: MetricDatum[] = [{ name: 'CredentialsRemainingSeconds', value: 1800, unit: 'Seconds', dimensions: { ResourceName: 'fleet-a' } }];
const CREDS = { accessKeyId: 'ASIAFLEETMETRICSTEST', secretAccessKey: 'fleet-metrics-secret', sessionToken: 'fleet-metrics-session-token' };

test('endpoint: AWS_ENDPOINT_URL_CLOUDWATCH, else AWS_ENDPOINT_URL (the shared client config), reached for real', async () => {
  const specific = await server();
  const general = await server();
  try {
    const send = (env: Record<string, string>) => fromCloudWatch({ namespace: 'NS', region: 'us-east-1', env, credentials: () => CREDS })(DATA, new AbortController().signal);
    await send({ AWS_ENDPOINT_URL_CLOUDWATCH: specific.url, AWS_ENDPOINT_URL: general.url });
    assert.deepEqual([specific.seen.length, general.seen.length], [1, 0]);
    await send({ AWS_ENDPOINT_URL: general.url });
    assert.deepEqual([specific.seen.length, general.seen.length], [1, 1]);
  } finally {
    specific.close();
    general.close();
  }
});

test('one signed PutMetricData per batch with the session credentials; no credentials yet is its own failure', async () => {
  const cw = await server();
  try {
    let creds: typeof CREDS | undefined;
    const send = fromCloudWatch({ namespace: 'NS/Test', region: 'us-east-1', endpoint: cw.url, env: {}, credentials: () => creds });
    await assert.rejects(send(DATA, new AbortController().signal), (e: Error) => e.name === 'no-credentials');
    creds = CREDS;
    await send(DATA, new AbortController().signal);
    assert.equal(cw.seen.length, 1);
    const [call] = cw.seen;
    assert.equal(call!.headers['x-amz-target'], 'GraniteServiceVersion20100801.PutMetricData');
    assert.match(String(call!.headers.authorization), /^AWS4-HMAC-SHA256 Credential=ASIAFLEETMETRICSTEST\/\d{8}\/us-east-1\/monitoring\/aws4_request/);
    assert.equal(call!.headers['x-amz-security-token'], CREDS.sessionToken);
    assert.deepEqual(JSON.parse(call!.body), { Namespace: 'NS/Test', MetricData: [{ MetricName: 'CredentialsRemainingSeconds', Value: 1800, Unit: 'Seconds', Dimensions: [{ Name: 'ResourceName', Value: 'fleet-a' }] }] });
  } finally {
    cw.close();
  }
});

test('a throttled call fails once (the publisher retries, not the SDK)', async () => {
  const cw = await server(400);
  try {
    const send = fromCloudWatch({ namespace: 'NS', region: 'us-east-1', endpoint: cw.url, env: {}, credentials: () => CREDS });
    await assert.rejects(send(DATA, new AbortController().signal), (e: Error) => /Throttl/.test(e.name));
    assert.equal(cw.seen.length, 1);
  } finally {
    cw.close();
  }
});

test('HTTP_PROXY: the call goes through the proxy (absolute URI), NO_PROXY exempts the endpoint', async () => {
  const proxy = await server();
  try {
    const endpoint = 'http://monitoring.proxied.test:8080';
    const via = fromCloudWatch({ namespace: 'NS', region: 'us-east-1', endpoint, env: { HTTP_PROXY: proxy.url }, credentials: () => CREDS });
    await via(DATA, new AbortController().signal);
    assert.equal(proxy.seen.length, 1);
    assert.equal(proxy.seen[0]!.url, `${endpoint}/`);
    const direct = await server();
    try {
      const exempt = fromCloudWatch({ namespace: 'NS', region: 'us-east-1', endpoint: direct.url, env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, credentials: () => CREDS });
      await exempt(DATA, new AbortController().signal);
      assert.equal(proxy.seen.length, 1, 'not through the proxy');
      assert.equal(direct.seen.length, 1);
    } finally {
      direct.close();
    }
  } finally {
    proxy.close();
  }
});
