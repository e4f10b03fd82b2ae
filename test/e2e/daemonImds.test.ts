/**
 * IMDSv2 emulation (`serve --imds`): the AWS CLI finds the machine role through
 * AWS_EC2_METADATA_SERVICE_ENDPOINT alone, and the token handshake refuses what real IMDSv2
 * refuses (no TTL, proxied PUTs, token-less reads).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ASSUMED_ROLE_PREFIX, type MotoServer } from '../helpers/moto.js';
import { startMotoAgent, stopMotoAgent } from '../helpers/motoAgent.js';
import { getCredentials, type SandboxAgent } from '../helpers/daemon.js';
import { awsCliIdentity, baseClientEnv, rawRequest, runProgram } from '../helpers/clients.js';

const CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/';

let moto: MotoServer;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;

before(async () => {
  ({ moto, sandbox, agent } = await startMotoAgent({ imds: true }));
});

after(() => stopMotoAgent({ moto, sandbox, agent }));

/** IMDS paths on IMDS's own port (imdsEndpoint), the rest on the agent's. */
const base = (p: string): string => (p.startsWith('/latest/') ? agent.discovery.imdsEndpoint! : agent.discovery.url);
const url = (p: string): string => `${base(p)}${p}`;
const putToken = (headers: Record<string, string>) => rawRequest(url('/latest/api/token'), { method: 'PUT', headers: { host: new URL(base('/latest/')).host, ...headers } });
const get = (p: string, headers: Record<string, string> = {}) => rawRequest(url(p), { headers: { host: new URL(base(p)).host, ...headers } });

/** The agent's request counter for one route and status, from /metrics. */
async function requestCount(route: string, status: number): Promise<number> {
  const text = await (await fetch(url('/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('appstream_creds_http_requests_total{') && l.includes(`route="${route}"`) && l.includes(`status="${status}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test('discovery advertises the IMDS endpoint: a loopback port of its own', () => {
  const imds = new URL(agent.discovery.imdsEndpoint!);
  assert.equal(imds.hostname, new URL(agent.discovery.url).hostname);
  assert.notEqual(imds.port, new URL(agent.discovery.url).port, 'IMDS has its own listener');
});

test('the AWS CLI gets the assumed role through IMDSv2 with only AWS_EC2_METADATA_SERVICE_ENDPOINT set', async (t) => {
  const tokensBefore = await requestCount('imds-token', 200);
  const credsBefore = await requestCount('imds-credentials', 200);
  // No container variables, no profile: IMDS is the only source left in the chain.
  const env = baseClientEnv(sandbox.dir, { AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: `${agent.discovery.imdsEndpoint!}/` });
  const run = await awsCliIdentity(moto.url, env);
  assert.equal(run.code, 0, run.stderr);
  const arn = (JSON.parse(run.stdout) as { Arn: string }).Arn;
  assert.ok(arn.startsWith(ASSUMED_ROLE_PREFIX), arn);
  // The CLI really went through the IMDSv2 handshake (token, then role list and role).
  const tokens = (await requestCount('imds-token', 200)) - tokensBefore;
  const reads = (await requestCount('imds-credentials', 200)) - credsBefore;
  t.diagnostic(`the CLI made ${tokens} token PUTs and ${reads} credential reads`);
  assert.ok(tokens >= 1, 'no IMDSv2 token was issued');
  assert.ok(reads >= 2, 'the CLI did not read the role list and the role');

  // Control: the same environment with IMDS disabled finds no credentials.
  const off = await awsCliIdentity(moto.url, { ...env, AWS_EC2_METADATA_DISABLED: 'true' });
  assert.notEqual(off.code, 0, 'credentials were found without IMDS: the environment is not isolated');
});

test('boto3 gets the same credentials through IMDSv2 as the container endpoint serves', async () => {
  const script = "import boto3, json; c = boto3.Session().get_credentials(); f = c.get_frozen_credentials(); print(json.dumps({'method': c.method, 'key': f.access_key, 'secret': f.secret_key, 'token': f.token}))";
  const beforeRun = await getCredentials(agent);
  const run = await runProgram('python3', ['-c', script], baseClientEnv(sandbox.dir, { AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: `${agent.discovery.imdsEndpoint!}/` }), 60_000, true);
  const afterRun = await getCredentials(agent);
  assert.equal(run.code, 0, run.stderr);
  const got = JSON.parse(run.stdout) as { method: string; key: string; secret: string; token: string };
  assert.equal(got.method, 'iam-role');
  const match = [beforeRun.body, afterRun.body].find((b) => b.AccessKeyId === got.key);
  assert.ok(match, 'boto3 got a key the container endpoint never served');
  assert.equal(got.secret, match.SecretAccessKey);
  assert.equal(got.token, match.Token);
});

test('PUT /latest/api/token: the TTL header is required and must be 1..21600', async () => {
  const bad: Array<Record<string, string>> = [{}, { 'x-aws-ec2-metadata-token-ttl-seconds': '0' }, { 'x-aws-ec2-metadata-token-ttl-seconds': '21601' }, { 'x-aws-ec2-metadata-token-ttl-seconds': 'abc' }, { 'x-aws-ec2-metadata-token-ttl-seconds': '-5' }];
  for (const headers of bad) {
    const response = await putToken(headers);
    assert.equal(response.status, 400, `${JSON.stringify(headers)} -> ${response.status}`);
    assert.equal((JSON.parse(response.body) as { code: string }).code, 'bad-ttl');
  }
  for (const ttl of ['1', '21600']) {
    const response = await putToken({ 'x-aws-ec2-metadata-token-ttl-seconds': ttl });
    assert.equal(response.status, 200);
    assert.ok(response.body.length >= 32, 'the token is long and random');
    assert.equal(response.headers['x-aws-ec2-metadata-token-ttl-seconds'], ttl);
  }
});

test('PUT /latest/api/token with X-Forwarded-For (or Forwarded) is refused with 403', async () => {
  const proxied: Array<Record<string, string>> = [{ 'x-forwarded-for': '203.0.113.7' }, { forwarded: 'for=203.0.113.7' }];
  for (const headers of proxied) {
    const response = await putToken({ 'x-aws-ec2-metadata-token-ttl-seconds': '60', ...headers });
    assert.equal(response.status, 403, JSON.stringify(headers));
    assert.equal((JSON.parse(response.body) as { code: string }).code, 'forwarded');
  }
  // A non-loopback Host (DNS rebinding) is refused too.
  const rebound = await rawRequest(url('/latest/api/token'), { method: 'PUT', headers: { host: 'attacker.example:80', 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
  assert.equal(rebound.status, 403);
});

test('GET of the credentials paths needs a valid IMDSv2 token (401 without, with a made-up or a GET-only token)', async () => {
  assert.equal((await get(CREDENTIALS_PATH)).status, 401);
  assert.equal((await get(`${CREDENTIALS_PATH}appstream-fleet-machine-role`)).status, 401);
  assert.equal((await get(CREDENTIALS_PATH, { 'x-aws-ec2-metadata-token': 'A'.repeat(43) })).status, 401);
  // The container endpoint's token is not an IMDS token.
  assert.equal((await get(CREDENTIALS_PATH, { 'x-aws-ec2-metadata-token': agent.token })).status, 401);
  // GET cannot mint a token.
  assert.equal((await get('/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' })).status, 405);

  const token = (await putToken({ 'x-aws-ec2-metadata-token-ttl-seconds': '60' })).body;
  const list = await get(CREDENTIALS_PATH, { 'x-aws-ec2-metadata-token': token });
  assert.equal(list.status, 200);
  const role = list.body.trim();
  // Static keys carry no role ARN, so the listed name is the profile's.
  assert.equal(role, 'appstream_machine_role');
  const document = await get(`${CREDENTIALS_PATH}${role}`, { 'x-aws-ec2-metadata-token': token });
  assert.equal(document.status, 200);
  const body = JSON.parse(document.body) as Record<string, string>;
  assert.equal(body.Code, 'Success');
  assert.equal(body.Type, 'AWS-HMAC');
  for (const field of ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration', 'LastUpdated']) assert.ok(body[field], `missing ${field}`);
  assert.ok(Date.parse(body.Expiration!) > Date.now());
  assert.equal((await get(`${CREDENTIALS_PATH}some-other-role`, { 'x-aws-ec2-metadata-token': token })).status, 404);
});
