/**
 * Named checks that the structural secret scan (test/helpers/leakScan.ts) covers the flows the
 * issue lists: every route's body (/metrics included), `serve --imds`, doctor, status,
 * `wait --probe sts`, the kit and the service command, all at debug level, with real moto
 * credentials and the agent's token known to the scan. Each process goes through runCli /
 * startCli, which fail the test on a leak by themselves; these tests add the HTTP bodies, which
 * no process prints, and prove that the scan had the secrets to look for.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startSandboxAgent, getCredentials, type SandboxAgent } from '../helpers/daemon.js';
import { knownSecrets } from '../helpers/leakScan.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { rawRequest } from '../helpers/clients.js';
import { assertNoKnownSecrets } from '../helpers/secrets.js';

let moto: MotoServer;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;

before(async () => {
  moto = await startMoto();
  sandbox = await makeSandbox();
  agent = await startSandboxAgent({ dir: sandbox.dir, form: 'static', refreshInterval: '2s', validity: '2m', stsEndpoint: moto.url, roleArn: moto.roleArn, imds: true, agentEnv: { APPSTREAM_CREDS_LOG_LEVEL: 'debug' } });
});
after(async () => {
  await agent?.stop().catch(() => undefined);
  await moto?.stop();
  await sandbox?.cleanup();
});

const toolEnv = (): Record<string, string> => ({
  AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile,
  AWS_CONFIG_FILE: agent.configFile,
  APPSTREAM_CREDS_STATE_DIR: agent.stateDir,
  AWS_ENDPOINT_URL_STS: moto.url,
  AWS_REGION: 'us-east-1',
});

test('the scan knows this sandbox: the served secret and session token, the agent token and moto’s admin secret', async () => {
  const served = await getCredentials(agent);
  assert.equal(served.status, 200);
  const known = new Map(knownSecrets().map((s) => [s.value, s.kind]));
  assert.equal(known.get(served.body.SecretAccessKey!), 'credential');
  assert.equal(known.get(served.body.Token!), 'credential');
  assert.equal(known.get(agent.token), 'token');
  assert.equal(known.get(moto.adminCredentials.secretAccessKey), 'credential');
});

test('HTTP bodies: /metrics, /healthz, /v1/status, refused requests and the IMDS handshake carry no secret or token', async () => {
  const host = new URL(agent.discovery.url).host;
  const url = (p: string): string => `${p.startsWith('/latest/') ? agent.discovery.imdsEndpoint! : agent.discovery.url}${p}`;
  // Traffic first, so /metrics has counters for every route.
  await getCredentials(agent);
  await getCredentials(agent, 'wrong-token');
  const imdsToken = await rawRequest(url('/latest/api/token'), { method: 'PUT', headers: { host, 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
  assert.equal(imdsToken.status, 200);
  const bodies: Array<[string, Awaited<ReturnType<typeof rawRequest>>]> = [
    ['/metrics', await rawRequest(url('/metrics'), { headers: { host } })],
    ['/healthz', await rawRequest(url('/healthz'), { headers: { host } })],
    ['/v1/status', await rawRequest(url('/v1/status'), { headers: { host, authorization: agent.token } })],
    ['/v1/credentials, wrong token', await rawRequest(agent.discovery.credentialsUrl, { headers: { host, authorization: `${agent.token.slice(0, -1)}x` } })],
    ['/v1/credentials, foreign Host', await rawRequest(agent.discovery.credentialsUrl, { headers: { host: 'evil.example', authorization: agent.token } })],
    ['/v1/credentials, X-Forwarded-For', await rawRequest(agent.discovery.credentialsUrl, { headers: { host, authorization: agent.token, 'x-forwarded-for': '10.0.0.1' } })],
    ['unknown route', await rawRequest(url('/nope'), { headers: { host } })],
    ['IMDS role list', await rawRequest(url('/latest/meta-data/iam/security-credentials/'), { headers: { host, 'x-aws-ec2-metadata-token': imdsToken.body } })],
    ['IMDS credentials without a token', await rawRequest(url('/latest/meta-data/iam/security-credentials/x'), { headers: { host } })],
  ];
  assert.match(bodies[0]![1].body, /appstream_creds_http_requests_total/);
  assert.equal(bodies[2]![1].status, 200, 'status answered');
  for (const [label, response] of bodies) {
    await assertNoKnownSecrets(JSON.stringify(response.headers) + response.body, `${label} (HTTP ${response.status})`);
  }
});

test('doctor, status, wait --probe sts and credential-process at debug level against authenticated moto: no secret outside credential-process stdout', async () => {
  const env = toolEnv();
  const doctor = await runCli(['doctor', '--json'], { env });
  const findings = (JSON.parse(doctor.stdout) as { findings: Array<{ path: string; severity: string; message: string }> }).findings;
  assert.equal(findings.find((f) => f.path === 'sts')?.severity, 'info', doctor.stdout);
  for (const args of [['status'], ['status', '--json'], ['wait', '--timeout', '20s', '--probe', 'sts', '--json']]) {
    const run = await runCli(args, { env });
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
  }
  const printed = await runCli(['credential-process'], { env });
  assert.equal(printed.code, 0, printed.stderr);
  assert.ok(knownSecrets().some((s) => printed.stdout.includes(s.value)), 'credential-process printed a known secret: the scan allowed it only there');
});

test('the kit and the service command at debug level, with this sandbox’s secrets known', async () => {
  const env = toolEnv();
  const root = path.join(sandbox.dir, 'staged');
  // Staging (--root) needs the bundle where the prefix says; the file's content does not matter.
  await mkdir(path.join(root, 'opt', 'agent', 'dist'), { recursive: true });
  await writeFile(path.join(root, 'opt', 'agent', 'dist', 'appstream-creds.cjs'), '// bundle');
  const runs = [
    ['policy', 'machine-role-trust', '--source-account', '123456789012'],
    ['saml', 'relay-state', '--region', 'us-east-1', '--account', '123456789012', '--stack', 'Sales'],
    ['service', 'install', '--root', root, '--prefix', '/opt/agent', '--no-start'],
    ['service', 'status'],
    ['service', 'uninstall', '--root', root, '--prefix', '/opt/agent'],
  ];
  for (const args of runs) {
    const run = await runCli(args, { env });
    // The scan ran in runCli; each command must also have done its job where it can here.
    if (args[0] !== 'service' || args[1] !== 'status') assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
  }
});

test('serve --imds: the agent’s own debug log, read at stop, carries no secret or token', async () => {
  // stop() rejects when the helper's scan finds a secret in the agent's output.
  await agent.stop();
  assert.match(agent.agent.output(), /"level":20/, 'the agent logged at debug level');
});
