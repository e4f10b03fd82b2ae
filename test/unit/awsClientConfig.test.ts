import { test } from 'node:test';
import assert from 'node:assert/strict';
import { awsClientConfig, serviceEndpointUrl, viaProxy } from '../../src/aws/awsClientConfig.js';

test('endpoint: the explicit one, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the region\'s', () => {
  const env = { AWS_ENDPOINT_URL: 'http://all.example:1', AWS_ENDPOINT_URL_CLOUDWATCH: 'http://cw.example:2' };
  assert.equal(serviceEndpointUrl('cloudwatch', { region: 'eu-west-1', endpoint: 'http://set.example:3', env }).href, 'http://set.example:3/');
  assert.equal(serviceEndpointUrl('cloudwatch', { region: 'eu-west-1', env }).href, 'http://cw.example:2/');
  assert.equal(serviceEndpointUrl('sts', { region: 'eu-west-1', env }).href, 'http://all.example:1/');
  assert.equal(serviceEndpointUrl('sts', { region: 'eu-west-1', env: {} }).href, 'https://sts.eu-west-1.amazonaws.com/');
  assert.equal(serviceEndpointUrl('cloudwatch', { region: 'cn-north-1', env: {} }).href, 'https://monitoring.cn-north-1.amazonaws.com.cn/');
  assert.equal(serviceEndpointUrl('sts', { region: undefined, env: {} }).href, 'https://sts.us-east-1.amazonaws.com/');
});

test('the proxy agent follows the endpoint\'s scheme and NO_PROXY; timeouts pass through', async () => {
  const env = { HTTPS_PROXY: 'http://user:pw@proxy.example:3128', NO_PROXY: 'sts.example' };
  const https = await awsClientConfig('sts', { region: 'eu-west-1', env, connectionTimeoutMs: 3000 });
  assert.equal(https.region, 'eu-west-1');
  assert.equal(https.endpoint, undefined);
  assert.ok(https.requestHandler.httpsAgent, 'an https endpoint gets the CONNECT agent');
  assert.equal(https.requestHandler.connectionTimeout, 3000);
  const exempt = await awsClientConfig('sts', { region: 'eu-west-1', endpoint: 'https://sts.example', env });
  assert.equal(exempt.requestHandler.httpsAgent, undefined);
  assert.equal(exempt.endpoint, 'https://sts.example');
  const plain = await awsClientConfig('cloudwatch', { region: undefined, env: { HTTP_PROXY: 'http://proxy.example:3128', AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' } });
  assert.ok(plain.requestHandler.httpAgent);
  assert.equal(plain.region, 'us-east-1');
  // Messages name the proxy without its credentials.
  assert.equal(viaProxy('sts', { region: 'eu-west-1', env }), ' through the proxy http://proxy.example:3128');
  assert.equal(viaProxy('sts', { region: 'eu-west-1', endpoint: 'https://sts.example', env }), '');
});
