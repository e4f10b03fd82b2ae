import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassesProxy, proxyFor, proxyVariables } from '../../src/network/proxy.js';

test('proxyVariables: both letter cases, lower case first (as curl)', () => {
  assert.deepEqual(proxyVariables({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', NO_PROXY: 'a' }), { httpsProxy: 'http://lower:2', noProxy: 'a' });
  assert.deepEqual(proxyVariables({ HTTP_PROXY: 'http://p:3', no_proxy: 'b' }), { httpProxy: 'http://p:3', noProxy: 'b' });
  assert.deepEqual(proxyVariables({ HTTP_PROXY: '' }), {});
});

test('proxyFor: https uses HTTPS_PROXY, else HTTP_PROXY; http uses HTTP_PROXY; a bare host:port gets http://', () => {
  const sts = new URL('https://sts.us-west-2.amazonaws.com');
  assert.equal(proxyFor(sts, { httpsProxy: 'http://s:1', httpProxy: 'http://h:2' }), 'http://s:1');
  assert.equal(proxyFor(sts, { httpProxy: 'proxy.corp:3128' }), 'http://proxy.corp:3128');
  assert.equal(proxyFor(new URL('http://127.0.0.1:5000'), { httpsProxy: 'http://s:1' }), undefined);
  assert.equal(proxyFor(new URL('http://127.0.0.1:5000'), { httpProxy: 'http://h:2' }), 'http://h:2', 'loopback is proxied unless NO_PROXY says so');
});

test('bypassesProxy: *, exact host, domain suffix with or without a dot, port, IPv6', () => {
  const url = new URL('https://sts.us-east-1.amazonaws.com');
  assert.equal(bypassesProxy(url, '*'), true);
  assert.equal(bypassesProxy(url, 'amazonaws.com'), true);
  assert.equal(bypassesProxy(url, '.amazonaws.com'), true);
  assert.equal(bypassesProxy(url, '*.amazonaws.com'), true);
  assert.equal(bypassesProxy(url, 'zonaws.com'), false, 'a suffix must end at a dot');
  assert.equal(bypassesProxy(url, 'example.com, sts.us-east-1.amazonaws.com:443'), true);
  assert.equal(bypassesProxy(url, 'sts.us-east-1.amazonaws.com:8443'), false);
  assert.equal(bypassesProxy(new URL('http://[::1]:9920/'), '[::1]'), true);
  assert.equal(bypassesProxy(new URL('http://127.0.0.1:9920/'), 'localhost,127.0.0.1'), true);
  assert.equal(bypassesProxy(url, undefined), false);
});
