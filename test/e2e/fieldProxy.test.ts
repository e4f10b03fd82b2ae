/**
 * Behind an HTTP proxy, through the built CLI: the agent's own STS calls go through a real
 * forward proxy started here on loopback (its log shows each request), NO_PROXY exempts hosts,
 * and `exec` children pointed at the agent get NO_PROXY/no_proxy extended with 127.0.0.1 and
 * localhost, so boto3 with a dead HTTP_PROXY still gets credentials from the agent's IMDSv2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startSandboxAgent, waitFor, type SandboxAgent } from '../helpers/daemon.js';
import { mkdir, readFile } from 'node:fs/promises';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { runProgram } from '../helpers/clients.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { simulateOnce } from '../helpers/secrets.js';

/**
 * A small forward proxy: absolute-URI requests are relayed, CONNECT is tunnelled; each is logged.
 * `hosts` are names only the proxy resolves (as a corporate proxy resolves names the instance's
 * DNS does not): a client that skips the proxy cannot reach them at all.
 */
async function startForwardProxy(hosts: Record<string, string> = {}): Promise<{ url: string; log: string[]; close: () => Promise<void> }> {
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    const target = new URL(req.url!);
    const options = { host: hosts[target.hostname] ?? target.hostname, port: target.port || 80, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers };
    const upstream = request(options, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    log.push(`CONNECT ${req.url}`);
    const [host, port] = req.url!.split(':');
    const upstream = net.connect(Number(port), hosts[host!] ?? host!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A port with nothing listening: a proxy that is down. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the agent behind a proxy', () => {
  let moto: MotoServer;
  let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
  let dir: string;
  let cleanup: () => Promise<void>;
  let profileEnv: Record<string, string>;
  before(async () => {
    moto = await startMoto();
    proxy = await startForwardProxy();
    ({ dir, cleanup } = await makeSandbox());
    await simulateOnce(dir, 'static', moto.url);
    profileEnv = {
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
      AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
      AWS_ENDPOINT_URL_STS: moto.url,
      AWS_REGION: 'us-east-1',
      APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
    };
  });
  after(async () => {
    await proxy?.close();
    await moto?.stop();
    await cleanup?.();
  });

  const stsRequests = () => proxy.log.filter((line) => line.startsWith(`POST ${moto.url}`));

  for (const [label, vars] of [
    ['HTTPS_PROXY/HTTP_PROXY', (url: string) => ({ HTTP_PROXY: url, HTTPS_PROXY: url })],
    ['lower-case http_proxy', (url: string) => ({ http_proxy: url })],
  ] as const) {
    test(`wait --probe sts goes through the proxy (${label}); the proxy's log shows the request`, async () => {
      const before = stsRequests().length;
      const run = await runCli(['wait', '--probe', 'sts', '--timeout', '30s'], { env: { ...profileEnv, ...vars(proxy.url) } });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(stsRequests().length > before, `the proxy saw no STS request: ${proxy.log.join(' | ')}`);
    });
  }

  test('NO_PROXY exempts the STS host: nothing goes through the proxy', async () => {
    const before = proxy.log.length;
    const run = await runCli(['wait', '--probe', 'sts', '--timeout', '30s'], { env: { ...profileEnv, HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(proxy.log.length, before);
  });

  test('a dead proxy makes the STS probe fail and the message names the proxy (so the proxy really is used)', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const run = await runCli(['wait', '--probe', 'sts', '--timeout', '3s'], { env: { ...profileEnv, HTTP_PROXY: dead } });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, new RegExp(`through the proxy ${dead.replace(/\./g, '\\.')}`));
  });

  test('doctor: GetCallerIdentity through the proxy', async () => {
    const before = stsRequests().length;
    const run = await runCli(['doctor', '--json', '--no-agent'], { env: { ...profileEnv, HTTP_PROXY: proxy.url }, timeoutMs: 60_000 });
    const findings = (JSON.parse(run.stdout) as { findings: Array<{ path: string; code: string }> }).findings;
    if (!findings.some((f) => f.path === 'sts')) return; // no ENI here: doctor skips STS
    assert.equal(findings.find((f) => f.path === 'sts')?.code, 'ok', run.stdout);
    assert.ok(stsRequests().length > before, 'the proxy saw the GetCallerIdentity call');
  });
});

describe('exec children pointed at the agent, behind a proxy', () => {
  let moto: MotoServer;
  let agent: SandboxAgent;
  let cleanup: () => Promise<void>;
  let dir: string;
  before(async () => {
    moto = await startMoto();
    ({ dir, cleanup } = await makeSandbox());
    agent = await startSandboxAgent({ dir, refreshInterval: '1h', validity: '2h', rotations: 1, stsEndpoint: moto.url, imds: true });
  });
  after(async () => {
    await agent?.stop();
    await moto?.stop();
    await cleanup?.();
  });
  const toolEnv = () => ({ AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile, APPSTREAM_CREDS_STATE_DIR: agent.stateDir });

  test('NO_PROXY and no_proxy are extended, never replaced, with 127.0.0.1 and localhost', async () => {
    const print = ['exec', '--', process.execPath, '-e', 'console.log(JSON.stringify([process.env.NO_PROXY, process.env.no_proxy, process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT]))'];
    const run = await runCli(print, { env: { ...toolEnv(), NO_PROXY: 'corp.example,.internal' } });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), ['corp.example,.internal,127.0.0.1,localhost', 'corp.example,.internal,127.0.0.1,localhost', `${agent.discovery.imdsEndpoint}/`]);
    const none = await runCli(print, { env: toolEnv() });
    assert.deepEqual((JSON.parse(none.stdout) as string[]).slice(0, 2), ['127.0.0.1,localhost', '127.0.0.1,localhost']);
    const already = await runCli(print, { env: { ...toolEnv(), no_proxy: 'localhost,127.0.0.1' } });
    assert.deepEqual((JSON.parse(already.stdout) as string[]).slice(0, 2), ['localhost,127.0.0.1', 'localhost,127.0.0.1']);
  });

  test('boto3 with a dead HTTP_PROXY gets credentials from the agent in --imds mode through exec', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    // botocore's IMDS provider, which (unlike the container provider) honours the proxy variables.
    const script = [
      'import json, botocore.session',
      's = botocore.session.get_session()',
      "p = s.get_component('credential_provider').get_provider('iam-role')",
      'c = p.load()',
      "print(json.dumps({'key': c.access_key if c else None}))",
    ].join('\n');
    // IMDS on (the test helpers turn it off by default), proxy dead, no profile files.
    const clientEnv = { AWS_EC2_METADATA_DISABLED: undefined, HTTP_PROXY: dead, http_proxy: dead, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), AWS_CONFIG_FILE: path.join(dir, 'none') };
    const served = (await (await fetch(agent.discovery.credentialsUrl, { headers: { authorization: agent.token } })).json()) as { AccessKeyId: string };
    // Control, without exec: pointed at the agent's IMDS by hand, botocore sends the request to
    // the dead proxy and fails (the field report's ProxyConnectionError).
    const direct = await runProgram('python3', ['-c', script], { ...clientEnv, AWS_EC2_METADATA_SERVICE_ENDPOINT: agent.discovery.imdsEndpoint! });
    assert.notEqual(direct.code, 0, 'without NO_PROXY the dead proxy is in the way');
    assert.match(direct.stderr, /ProxyConnectionError|Connection refused/);
    // The same child through exec: NO_PROXY names loopback, so the agent answers.
    const run = await runCli(['exec', '--', 'python3', '-c', script], { env: { ...toolEnv(), ...clientEnv } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { key: string }).key, served.AccessKeyId);
  });
});

/**
 * Issue 20 point 4: every STS caller (simulate, the wait probe, doctor, named roles direct and in
 * the daemon) goes through the one STS client, so all of them honour the proxy. STS sits under
 * a host name only the proxy resolves: a call that skips the proxy fails with ENOTFOUND.
 */
describe('every STS caller behind a proxy, STS under a name only the proxy resolves', () => {
  const ROLE = 'ReportingRole';
  const HOST = 'sts.proxy-only.invalid';
  let moto: MotoServer;
  let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
  let sts: string;
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  let roles: string;
  before(async () => {
    moto = await startMoto({ roles: [ROLE] });
    proxy = await startForwardProxy({ [HOST]: '127.0.0.1' });
    sts = `http://${HOST}:${new URL(moto.url).port}`;
    ({ dir, cleanup } = await makeSandbox());
    roles = JSON.stringify({ reporting: { roleArn: moto.roleArns[ROLE], sessionName: 'alice', duration: '1h' } });
    env = {
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
      AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
      AWS_ENDPOINT_URL_STS: sts,
      AWS_REGION: 'us-east-1',
      APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
      APPSTREAM_CREDS_ROLES: roles,
      HTTP_PROXY: proxy.url,
      HTTPS_PROXY: proxy.url,
    };
  });
  after(async () => {
    await proxy?.close();
    await moto?.stop();
    await cleanup?.();
  });
  const through = () => proxy.log.filter((line) => line.startsWith(`POST ${sts}`)).length;

  test('simulate mints the machine role through the proxy', async () => {
    const before = through();
    const run = await runCli(['simulate', '--dir', dir, '--form', 'static', '--rotations', '1', '--validity', '30m', '--sts-endpoint', sts, '--role-arn', moto.roleArn], { env: { ...moto.callerEnv, HTTP_PROXY: proxy.url } });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(through() > before, `the proxy saw no AssumeRole: ${proxy.log.join(' | ')}`);
  });

  test('wait --probe sts: GetCallerIdentity through the proxy', async () => {
    const before = through();
    const run = await runCli(['wait', '--probe', 'sts', '--timeout', '30s'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(through() > before);
  });

  test('doctor: GetCallerIdentity and the clock check through the proxy', async () => {
    const run = await runCli(['doctor', '--json', '--no-agent'], { env, timeoutMs: 60_000 });
    const findings = (JSON.parse(run.stdout) as { findings: Array<{ path: string; code: string }> }).findings;
    if (!findings.some((f) => f.path === 'sts')) return; // no ENI here: doctor skips STS
    assert.equal(findings.find((f) => f.path === 'sts')?.code, 'ok', run.stdout);
    assert.equal(findings.find((f) => f.path === 'clock')?.code, 'ok', run.stdout);
  });

  test('a named role without the agent (credential-process --role): AssumeRole through the proxy', async () => {
    const before = through();
    const run = await runCli(['credential-process', '--role', 'reporting'], { env: { ...env, APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'no-agent') } });
    assert.equal(run.code, 0, run.stderr);
    assert.match((JSON.parse(run.stdout) as { AccessKeyId: string }).AccessKeyId, /^ASIA/);
    assert.ok(through() > before, 'the proxy saw no AssumeRole');
  });

  test('the daemon: a named role (AssumeRole) and verifyNewCredentials (GetCallerIdentity per new set) both through the proxy', async () => {
    await mkdir(path.join(dir, 'daemon'));
    const agent = await startSandboxAgent({
      dir: path.join(dir, 'daemon'),
      stsEndpoint: moto.url,
      refreshInterval: '1h',
      validity: '30m',
      agentEnv: { APPSTREAM_CREDS_ROLES: roles, APPSTREAM_CREDS_STS_ENDPOINT: sts, APPSTREAM_CREDS_REGION: 'us-east-1', HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'true' },
    });
    try {
      // The machine role's set was verified before it was served: only the proxy reaches STS here.
      const status = (await (await fetch(`${agent.discovery.url}/v1/status`, { headers: { authorization: agent.token } })).json()) as { current: { verification?: string; verificationDetail?: string } | null };
      assert.equal(status.current?.verification, 'verified', JSON.stringify(status.current));
      const discovery = JSON.parse(await readFile(path.join(agent.stateDir, 'agent.json'), 'utf8')) as { roleTokenFiles: Record<string, string> };
      const token = (await readFile(discovery.roleTokenFiles.reporting!, 'utf8')).trim();
      let last = { status: 0, body: '' };
      await waitFor(
        async () => {
          const response = await fetch(`${agent.discovery.url}/v1/roles/reporting/credentials`, { headers: { authorization: token } });
          last = { status: response.status, body: await response.text() };
          return last.status === 200;
        },
        20_000,
        () => `the role route never answered 200 (last ${last.status} ${last.body}): ${agent.agent.output()}`,
      );
      assert.match((JSON.parse(last.body) as { AccessKeyId: string }).AccessKeyId, /^ASIA/);
    } finally {
      await agent.stop();
    }
  });
});
