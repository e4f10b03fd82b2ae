/**
 * Real clients through the agent's container endpoint: boto3, the AWS CLI and the SDK for
 * JavaScript v3, each with the token inline and in the token file; `exec` and
 * `credential-process` through the running agent. Credentials are minted by moto's real STS,
 * so get_caller_identity proves which assumed-role session signed each call.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ASSUMED_ROLE_PREFIX, type MotoServer } from '../helpers/moto.js';
import { startMotoAgent, stopMotoAgent } from '../helpers/motoAgent.js';
import { getCredentials, type SandboxAgent } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { collectSecrets, assertNoSecrets } from '../helpers/secrets.js';
import { awsCliIdentity, baseClientEnv, boto3Identity, containerVars, jsSdkIdentity, runProgram, type TokenMode } from '../helpers/clients.js';

let moto: MotoServer;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;

before(async () => {
  ({ moto, sandbox, agent } = await startMotoAgent());
});

after(() => stopMotoAgent({ moto, sandbox, agent }));

/** Container variables only: no profile, no IMDS, no static keys. */
const containerEnv = (mode: TokenMode): Record<string, string | undefined> =>
  baseClientEnv(sandbox.dir, { ...containerVars(agent, mode), AWS_EC2_METADATA_DISABLED: 'true' });

/** What the agent served around a client run, by key id (a rotation may land in between). */
async function servedKeyIds<T>(run: () => Promise<T>): Promise<{ result: T; keys: Set<string>; served: Map<string, Record<string, string>> }> {
  const beforeRun = await getCredentials(agent);
  const result = await run();
  const afterRun = await getCredentials(agent);
  assert.equal(beforeRun.status, 200);
  assert.equal(afterRun.status, 200);
  const served = new Map([beforeRun.body, afterRun.body].map((body) => [body.AccessKeyId!, body]));
  return { result, keys: new Set(served.keys()), served };
}

for (const mode of ['token', 'token-file'] as const) {
  test(`boto3 gets the assumed role through AWS_CONTAINER_CREDENTIALS_FULL_URI (${mode})`, async () => {
    const { result, keys } = await servedKeyIds(() => boto3Identity(moto.url, containerEnv(mode)));
    assert.ok(result.Arn.startsWith(ASSUMED_ROLE_PREFIX), result.Arn);
    assert.equal(result.method, 'container-role', 'boto3 must have used the container provider');
    assert.ok(keys.has(result.accessKeyId!), `boto3 used ${result.accessKeyId}, the agent served ${[...keys].join(', ')}`);
  });

  test(`the AWS CLI gets the assumed role through the container endpoint (${mode})`, async () => {
    const run = await awsCliIdentity(moto.url, containerEnv(mode));
    assert.equal(run.code, 0, run.stderr);
    const arn = (JSON.parse(run.stdout) as { Arn: string }).Arn;
    assert.ok(arn.startsWith(ASSUMED_ROLE_PREFIX), arn);
  });

  test(`the SDK for JavaScript v3 default chain gets the assumed role through the container endpoint (${mode})`, async () => {
    const { result, keys } = await servedKeyIds(() => jsSdkIdentity(moto.url, containerEnv(mode)));
    assert.ok(result.Arn.startsWith(ASSUMED_ROLE_PREFIX), result.Arn);
    assert.ok(keys.has(result.accessKeyId!), `the SDK used ${result.accessKeyId}, the agent served ${[...keys].join(', ')}`);
  });
}

test('the AWS CLI with AWS_ENDPOINT_URL_STS instead of --endpoint-url also resolves through the agent', async () => {
  const run = await runProgram('aws', ['sts', 'get-caller-identity', '--output', 'json'], { ...containerEnv('token-file'), AWS_ENDPOINT_URL_STS: moto.url });
  assert.equal(run.code, 0, run.stderr);
  assert.ok((JSON.parse(run.stdout) as { Arn: string }).Arn.startsWith(ASSUMED_ROLE_PREFIX));
});

test('negative controls: a wrong token, or no container variables at all, leave every client without credentials', async () => {
  const wrong = baseClientEnv(sandbox.dir, {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.discovery.credentialsUrl,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: 'f'.repeat(64),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const cli = await awsCliIdentity(moto.url, wrong);
  assert.notEqual(cli.code, 0, `the CLI succeeded with a wrong token: ${cli.stdout}`);
  const js = await runProgram(process.execPath, ['--input-type=module', '-e', "import { fromHttp } from '@aws-sdk/credential-providers'; await fromHttp({ maxRetries: 0 })();"], wrong);
  assert.notEqual(js.code, 0, 'the SDK accepted a wrong token');
  const none = await awsCliIdentity(moto.url, baseClientEnv(sandbox.dir, { AWS_EC2_METADATA_DISABLED: 'true' }));
  assert.notEqual(none.code, 0, 'the CLI found credentials without any source: the environment is not isolated');
  assert.match(none.stderr, /Unable to locate credentials/);
});

test('appstream-creds exec gives the child the endpoint variables (agent mode) and aws sts get-caller-identity works', async () => {
  // No profile variables: the exec'd child can only get credentials from the agent.
  const env = baseClientEnv(sandbox.dir, { AWS_ENDPOINT_URL_STS: moto.url });
  const run = await runCli(['exec', '--state-dir', agent.stateDir, '--', 'aws', 'sts', 'get-caller-identity', '--output', 'json'], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.ok((JSON.parse(run.stdout) as { Arn: string }).Arn.startsWith(ASSUMED_ROLE_PREFIX), run.stdout);

  const printEnv = "const e = process.env; console.log(JSON.stringify({ uri: e.AWS_CONTAINER_CREDENTIALS_FULL_URI, file: e.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, inline: e.AWS_CONTAINER_AUTHORIZATION_TOKEN === undefined ? null : e.AWS_CONTAINER_AUTHORIZATION_TOKEN === require('fs').readFileSync(e.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8'), key: e.AWS_ACCESS_KEY_ID ?? null, secret: e.AWS_SECRET_ACCESS_KEY ?? null }))";
  // The inline token (for clients older than the token file) is compared, never printed.
  const seen = await runCli(['exec', '--state-dir', agent.stateDir, '--', process.execPath, '-e', printEnv], { env });
  assert.equal(seen.code, 0, seen.stderr);
  assert.deepEqual(JSON.parse(seen.stdout), { uri: agent.discovery.credentialsUrl, file: agent.discovery.tokenFile, inline: true, key: null, secret: null });
});

test('credential-process --state-dir answers from the running agent (Version 1 JSON of a generation the agent served)', async () => {
  // The profile files are not reachable here, so only the agent can have answered.
  const env = baseClientEnv(sandbox.dir);
  const { result: run, keys, served } = await servedKeyIds(() => runCli(['credential-process', '--state-dir', agent.stateDir], { env }));
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.equal(out.Version, 1);
  // Whichever generation it printed (a rotation may land during the run), it printed that one whole.
  const same = served.get(out.AccessKeyId as string);
  assert.ok(same, `credential-process printed ${String(out.AccessKeyId)}, the agent served ${[...keys].join(', ')}`);
  assert.equal(out.SecretAccessKey, same.SecretAccessKey, 'secret of the same generation');
  assert.equal(out.SessionToken, same.Token, 'session token of the same generation');
  assert.equal(out.Expiration, same.Expiration, 'Expiration of the same generation');
  assert.ok(Date.parse(out.Expiration as string) > Date.now());

  // Without an agent in that state dir the same command has nothing to read: exit 5, no JSON.
  const empty = await runCli(['credential-process', '--state-dir', path.join(sandbox.dir, 'no-agent-here')], { env });
  assert.equal(empty.code, 5, `${empty.stdout}${empty.stderr}`);
  assert.equal(empty.stdout, '');
});

test('the agent logged no secret while serving all of the above', async () => {
  const secrets = await collectSecrets(sandbox.dir, { stateDir: agent.stateDir });
  const served = await getCredentials(agent);
  secrets.add('served SecretAccessKey', served.body.SecretAccessKey).add('served Token', served.body.Token);
  assertNoSecrets(agent.agent.output(), secrets, 'agent log');
});
