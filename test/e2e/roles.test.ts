/**
 * Issue 12 through the built CLI and daemon against moto's STS (signatures checked): named roles
 * assumed from the machine role, with the streaming user's name as the session name, through
 * every path (role route with boto3 and the JS SDK v3 via `exec --role`, `credential-process
 * --role` from an AWS CLI profile, `env --role`, direct mode without the agent); a machine-role
 * rotation re-assumes; STS down keeps the last good, reported once; unknown role exits 2; a user
 * outside a role's allowUsers gets 403.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { startMoto, stsCallerEnv, type MotoServer } from '../helpers/moto.js';
import { startSandboxAgent, waitFor, type SandboxAgent } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { cliPath, runCli, runProgram } from '../helpers/cli.js';
import { baseClientEnv, boto3Identity } from '../helpers/clients.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';

const ROLE = 'ReportingRole';
const UPLOAD = 'UploadRole';
let moto: MotoServer;
let proxy: StsProxy;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;
let roles: string;
const skipUser = notRootReason();
let accounts: LocalUsers | undefined;
let stranger: { name: string; uid: number } | undefined;

/** A TCP relay to moto that the test can take down and bring back: "STS unreachable" for the agent only. */
interface StsProxy {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function stsProxy(target: number): Promise<StsProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const up = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const down = (): Promise<void> =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await up();
  return { url: `http://127.0.0.1:${port}`, up, down, close: down };
}

const identityEnv = { AppStream_UserName: 'alice', AppStream_Resource_Name: 'fleet-a' };
const cliEnv = (extra: Record<string, string> = {}): Record<string, string | undefined> =>
  baseClientEnv(sandbox.dir, { APPSTREAM_CREDS_ROLES: roles, APPSTREAM_CREDS_STATE_DIR: agent.stateDir, APPSTREAM_CREDS_STS_ENDPOINT: moto.url, ...identityEnv, ...extra });
const expectedArn = (role = ROLE): string => `arn:aws:sts::123456789012:assumed-role/${role}/alice`;

before(async () => {
  moto = await startMoto({ roles: [ROLE, UPLOAD] });
  proxy = await stsProxy(Number(new URL(moto.url).port));
  sandbox = await makeSandbox();
  if (!skipUser) {
    accounts = localUsers('roles');
    stranger = accounts.user('s');
  }
  roles = JSON.stringify({
    reporting: { roleArn: moto.roleArns[ROLE], sessionName: '{user}', duration: '1h' },
    // Only root and the agent's user (plus tokenGroup) may use this one.
    upload: { roleArn: moto.roleArns[UPLOAD], sessionName: '{user}', allowUsers: ['root'] },
  });
  try {
    agent = await startSandboxAgent({
      dir: sandbox.dir,
      stsEndpoint: moto.url,
      refreshInterval: '3s',
      validity: '30s',
      agentEnv: {
        APPSTREAM_CREDS_ROLES: roles,
        APPSTREAM_CREDS_STS_ENDPOINT: proxy.url,
        APPSTREAM_CREDS_REGION: 'us-east-1',
        ...(stranger ? { APPSTREAM_CREDS_ALLOW_USERS: stranger.name } : {}),
        ...identityEnv,
      },
    });
    await waitFor(async () => (await roleFetch('reporting')).status === 200, 30_000, () => `the role route never answered 200: ${agent.agent.output()}`);
  } catch (error) {
    accounts?.remove();
    throw error;
  }
});

after(async () => {
  await agent?.stop();
  await proxy?.close();
  await moto?.stop();
  await sandbox?.cleanup();
  accounts?.remove();
});

/** A role's own token (issue 19: its route takes no other). */
const roleToken = async (name: string): Promise<string> => {
  const discovery = JSON.parse(await readFile(path.join(agent.stateDir, 'agent.json'), 'utf8')) as { roleTokenFiles: Record<string, string> };
  return (await readFile(discovery.roleTokenFiles[name]!, 'utf8')).trim();
};

async function roleFetch(name: string, token?: string): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${agent.discovery.url}/v1/roles/${name}/credentials`, { headers: { authorization: token ?? (name === 'nope' ? agent.token : await roleToken(name)) } });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

const BOTO3 = `
import boto3, json, os
session = boto3.Session()
creds = session.get_credentials()
identity = session.client('sts', endpoint_url=os.environ['STS_URL']).get_caller_identity()
print(json.dumps({'Arn': identity['Arn'], 'method': creds.method, 'uri': os.environ.get('AWS_CONTAINER_CREDENTIALS_FULL_URI')}))
`;
const JS = `
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
const client = new STSClient({ region: 'us-east-1', endpoint: process.env.STS_URL });
const identity = await client.send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify({ Arn: identity.Arn, uri: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI }));
`;

test('the role route serves the role assumed as the streaming user: boto3 and the JS SDK v3 under exec --role', async () => {
  const boto = await runCli(['exec', '--role', 'reporting', '--', 'python3', '-c', BOTO3], { env: cliEnv({ STS_URL: moto.url }) });
  assert.equal(boto.code, 0, boto.stderr);
  const b = JSON.parse(boto.stdout) as { Arn: string; method: string; uri: string };
  assert.equal(b.Arn, expectedArn());
  assert.equal(b.method, 'container-role', 'boto3 used the container provider');
  assert.equal(b.uri, `${agent.discovery.url}/v1/roles/reporting/credentials`);
  const js = await runCli(['exec', '--role', 'reporting', '--', process.execPath, '--input-type=module', '-e', JS], { env: cliEnv({ STS_URL: moto.url }) });
  assert.equal(js.code, 0, js.stderr);
  assert.equal((JSON.parse(js.stdout) as { Arn: string }).Arn, expectedArn());
});

test('credential-process --role from an AWS CLI profile, and env --role', async () => {
  const config = path.join(sandbox.dir, 'client-config');
  await writeFile(config, `[profile reporting]\ncredential_process = ${process.execPath} ${cliPath} credential-process --role reporting\n`);
  const cli = await runProgram('aws', ['sts', 'get-caller-identity', '--output', 'json', '--endpoint-url', moto.url, '--profile', 'reporting'], { env: cliEnv({ AWS_CONFIG_FILE: config }) });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal((JSON.parse(cli.stdout) as { Arn: string }).Arn, expectedArn());

  const env = await runCli(['env', '--role', 'reporting', '--format', 'dotenv'], { env: cliEnv() });
  assert.equal(env.code, 0, env.stderr);
  const vars = Object.fromEntries(env.stdout.trim().split('\n').map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1).replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1')];
  }));
  const identity = await boto3Identity(moto.url, baseClientEnv(sandbox.dir, vars));
  assert.equal(identity.Arn, expectedArn());
});

test('without the agent, --role assumes the role directly from the machine-role profile', async () => {
  const direct = await runCli(['credential-process', '--role', 'reporting'], {
    env: cliEnv({ APPSTREAM_CREDS_STATE_DIR: path.join(sandbox.dir, 'no-agent-here'), AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile, AppStream_UserName: 'bob' }),
  });
  assert.equal(direct.code, 0, direct.stderr);
  const json = JSON.parse(direct.stdout) as Record<string, string>;
  const identity = await boto3Identity(moto.url, baseClientEnv(sandbox.dir, { AWS_ACCESS_KEY_ID: json.AccessKeyId!, AWS_SECRET_ACCESS_KEY: json.SecretAccessKey!, AWS_SESSION_TOKEN: json.SessionToken! }));
  assert.equal(identity.Arn, 'arn:aws:sts::123456789012:assumed-role/ReportingRole/bob');
});

test('simulate --user plays a streaming session: its AppStream_* file names the user in the role session', async () => {
  const dir = path.join(sandbox.dir, 'sim-user');
  const sim = await runCli(['simulate', '--dir', dir, '--rotations', '1', '--sts-endpoint', moto.url, '--role-arn', moto.roleArn, '--user', 'carol', '--validity', '15m'], { env: stsCallerEnv(moto.url) });
  assert.equal(sim.code, 0, sim.stderr);
  const envFile = await readFile(path.join(dir, 'env.sh'), 'utf8');
  const varsFile = path.join(dir, 'appstream_system_vars.sh');
  assert.ok(envFile.includes(`export APPSTREAM_CREDS_SYSTEM_VARS_FILE='${varsFile}'`), envFile);
  assert.match(await readFile(varsFile, 'utf8'), /^export AppStream_UserName="carol"$/m);
  // No AppStream_UserName in the environment: the simulated session's file supplies it.
  const run = await runCli(['credential-process', '--role', 'reporting'], {
    env: baseClientEnv(sandbox.dir, {
      APPSTREAM_CREDS_ROLES: roles,
      APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'no-agent'),
      APPSTREAM_CREDS_STS_ENDPOINT: moto.url,
      APPSTREAM_CREDS_SYSTEM_VARS_FILE: varsFile,
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
      AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
    }),
  });
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as Record<string, string>;
  const identity = await boto3Identity(moto.url, baseClientEnv(sandbox.dir, { AWS_ACCESS_KEY_ID: json.AccessKeyId!, AWS_SECRET_ACCESS_KEY: json.SecretAccessKey!, AWS_SESSION_TOKEN: json.SessionToken! }));
  assert.equal(identity.Arn, 'arn:aws:sts::123456789012:assumed-role/ReportingRole/carol');
});

test('an unknown role exits 2 on every command; the route answers 404', async () => {
  for (const args of [['credential-process', '--role', 'nope'], ['env', '--role', 'nope'], ['exec', '--role', 'nope', '--', 'true']]) {
    const run = await runCli(args, { env: cliEnv() });
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /unknown role "nope"; configured roles: reporting, upload/);
  }
  assert.equal((await roleFetch('nope')).status, 404);
  const noToken = await fetch(`${agent.discovery.url}/v1/roles/reporting/credentials`);
  assert.equal(noToken.status, 401);
  assert.equal((await roleFetch('reporting', agent.token)).status, 401, "the machine role's token does not open a role's route");
  assert.equal((await roleFetch('upload', await roleToken('reporting'))).status, 401, "nor does another role's token");
  assert.equal((await roleFetch('nope', 'x'.repeat(64))).status, 401, 'no probing for role names without a token of this agent');
});

test('a bad roles setting exits 2 naming the role and the field', async () => {
  const cases: Array<[object, RegExp]> = [
    [{ r: { roleArn: 'arn:aws:iam::1:role/x' } }, /role r: roleArn: a role ARN/],
    [{ r: { roleArn: moto.roleArns[ROLE], duration: '2h' } }, /role r: duration: 900 to 3600 seconds/],
    [{ r: { roleArn: moto.roleArns[ROLE], sessionName: '{nobody}' } }, /role r: sessionName: unknown placeholder \{nobody\}/],
    [{ r: { roleArn: moto.roleArns[ROLE], sessionName: 'x' } }, /role r: sessionName is "x" after templating; it must be 2 to 64 characters/],
  ];
  for (const [value, pattern] of cases) {
    const run = await runCli(['credential-process', '--role', 'r'], { env: cliEnv({ APPSTREAM_CREDS_ROLES: JSON.stringify(value) }) });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, pattern);
  }
});

test('role names . .. __proto__ constructor are refused (exit 2): `--role ..` never reaches the machine role\'s route', async () => {
  // With a role named "..", the role URL /v1/roles/../credentials would resolve to /v1/credentials.
  for (const name of ['..', '.', '__proto__', 'constructor']) {
    const text = `{${JSON.stringify(name)}: {"roleArn": ${JSON.stringify(moto.roleArns[ROLE])}}, "reporting": {"roleArn": ${JSON.stringify(moto.roleArns[ROLE])}}}`;
    const run = await runCli(['credential-process', '--role', name], { env: cliEnv({ APPSTREAM_CREDS_ROLES: text }) });
    assert.equal(run.code, 2, `${name}: ${run.stderr}`);
    assert.match(run.stderr, /a role name is 1 to 64 letters, digits and _ \. -, starting with a letter or digit/, name);
    assert.equal(run.stdout, '', `${name}: no credentials printed`);
  }
  // The configured roles are fine; asking for ".." by name is refused the same way.
  const asked = await runCli(['credential-process', '--role', '..'], { env: cliEnv() });
  assert.equal(asked.code, 2, asked.stderr);
  assert.match(asked.stderr, /--role "\.\.": a role name is/);
});

test('status and /metrics report each role without secrets', async () => {
  const status = (await (await fetch(`${agent.discovery.url}/v1/status`, { headers: { authorization: agent.token } })).json()) as { roles: Record<string, { state: string; expiresAt: string; lastError: unknown; roleArn: string }> };
  assert.equal(status.roles.reporting!.state, 'ready');
  assert.equal(status.roles.reporting!.roleArn, moto.roleArns[ROLE]);
  assert.ok(Date.parse(status.roles.reporting!.expiresAt) > Date.now());
  const creds = (await roleFetch('reporting')).body;
  const text = JSON.stringify(status);
  assert.ok(!text.includes(creds.SecretAccessKey!) && !text.includes(creds.Token!), 'no secret in status');
  const cliStatus = await runCli(['status', '--json'], { env: cliEnv() });
  assert.equal((JSON.parse(cliStatus.stdout) as { roles: Record<string, { state: string }> }).roles.reporting!.state, 'ready');
  const cliText = await runCli(['status'], { env: cliEnv() });
  assert.match(cliText.stdout, /^role reporting: ready, expires \S+ \(in \d+[hms]/m);
  assert.match(cliText.stdout, /^role upload: +ready/m);
  const metrics = await (await fetch(`${agent.discovery.url}/metrics`)).text();
  assert.match(metrics, /appstream_creds_role_state\{role="reporting",state="ready"\} 1/);
  assert.match(metrics, /appstream_creds_role_seconds_to_expiry\{role="reporting"\} \d+/);
});

test('a machine-role rotation leads to a freshly assumed session', async () => {
  const machineKey = async (): Promise<string> => ((await (await fetch(agent.discovery.credentialsUrl, { headers: { authorization: agent.token } })).json()) as { AccessKeyId: string }).AccessKeyId;
  const before = (await roleFetch('reporting')).body.AccessKeyId;
  const machineBefore = await machineKey();
  await waitFor(async () => (await machineKey()) !== machineBefore, 30_000, () => 'the machine role never rotated');
  // The role lasts 1 h (half life 30 min): a new session within seconds is the rotation's doing.
  await waitFor(async () => (await roleFetch('reporting')).body.AccessKeyId !== before, 15_000, () => `the role was not re-assumed after the machine rotation: ${agent.agent.output().slice(-2000)}`);
  const identity = await boto3Identity(moto.url, baseClientEnv(sandbox.dir, await processVars()));
  assert.equal(identity.Arn, expectedArn());
});

async function processVars(): Promise<Record<string, string>> {
  const body = (await roleFetch('reporting')).body;
  return { AWS_ACCESS_KEY_ID: body.AccessKeyId!, AWS_SECRET_ACCESS_KEY: body.SecretAccessKey!, AWS_SESSION_TOKEN: body.Token! };
}

test('a user outside the role\'s allowUsers gets 403 (allowed on the machine role and another role)', { skip: skipUser }, async () => {
  const CLIENT = `
// Only a refusal's body is printed: a 200 carries credentials.
const get = (p) => fetch(process.env.BASE + p, { headers: { authorization: JSON.parse(process.env.TOKENS)[p] } }).then(async (r) => ({ status: r.status, body: r.status === 200 ? '' : await r.text() }));
(async () => process.stdout.write(JSON.stringify({ machine: await get('/v1/credentials'), reporting: await get('/v1/roles/reporting/credentials'), upload: await get('/v1/roles/upload/credentials') })))();
`;
  const run = await runProgram('runuser', ['-u', stranger!.name, '--', process.execPath, '-e', CLIENT], {
    // Each route with its own token: what is checked here is the calling user.
    env: { BASE: agent.discovery.url, TOKENS: JSON.stringify({ '/v1/credentials': agent.token, '/v1/roles/reporting/credentials': await roleToken('reporting'), '/v1/roles/upload/credentials': await roleToken('upload') }) },
    cwd: '/',
  });
  assert.equal(run.code, 0, run.stderr);
  const seen = JSON.parse(run.stdout) as Record<string, { status: number; body: string }>;
  assert.equal(seen.machine!.status, 200, 'global allowUsers lets the user get the machine role');
  assert.equal(seen.reporting!.status, 200, 'a role without its own allowUsers follows the global rule');
  assert.equal(seen.upload!.status, 403, "outside the upload role's allowUsers");
  assert.deepEqual(Object.keys(JSON.parse(seen.upload!.body) as object).sort(), ['code', 'message']);
  const root = await roleFetch('upload');
  assert.equal(root.status, 200, 'root is allowed on the upload role');
});

test('STS unreachable keeps the last good role credentials, reported once; it recovers when STS is back', async () => {
  const good = (await roleFetch('reporting')).body;
  await proxy.down();
  const machineKey = async (): Promise<string> => ((await (await fetch(agent.discovery.credentialsUrl, { headers: { authorization: agent.token } })).json()) as { AccessKeyId: string }).AccessKeyId;
  // Two machine rotations while STS is down: each tries (and fails) to re-assume.
  for (let i = 0; i < 2; i += 1) {
    const machine = await machineKey();
    await waitFor(async () => (await machineKey()) !== machine, 30_000, () => 'the machine role never rotated');
  }
  await waitFor(
    async () => ((await (await fetch(`${agent.discovery.url}/v1/status`, { headers: { authorization: agent.token } })).json()) as { roles: { reporting: { lastError: { code: string } | null } } }).roles.reporting.lastError?.code === 'sts-unreachable',
    30_000,
    () => `no sts-unreachable failure recorded: ${agent.agent.output().slice(-2000)}`,
  );
  const kept = await roleFetch('reporting');
  assert.equal(kept.status, 200);
  assert.equal(kept.body.AccessKeyId, good.AccessKeyId, 'the last good session is still served');
  const reported = agent.agent.output().split('\n').filter((line) => line.includes('role reporting: STS is unreachable'));
  assert.equal(reported.length, 1, `reported once per role, however many rotations: ${reported.join('\n')}`);
  assert.match(reported[0]!, /keeping the last good credentials/);
  await proxy.up();
  await waitFor(async () => (await roleFetch('reporting')).body.AccessKeyId !== good.AccessKeyId, 30_000, () => 'the role did not recover after STS came back');
  assert.ok(!agent.agent.output().includes(good.SecretAccessKey!), 'no secret in the log');
});
