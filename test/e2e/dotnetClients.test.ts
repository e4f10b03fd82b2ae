/**
 * The AWS SDK for .NET for real (issue 22): test/dotnet/StsCaller, a plain SDK program with the
 * default credential chain, calls GetCallerIdentity on authenticated moto (a wrong secret or
 * session token would be refused) and must come out as the machine role through every path an
 * AppStream script uses: `exec`, the machine-wide variables `service install --set-machine-env`
 * writes, credential_process in a profile named on its command line (AWS Tools for PowerShell's
 * -ProfileName), and IMDSv2 emulation. AWSSDK.Core 4.x and the last 3.7 take the token file;
 * 3.7.202.18 (before 3.7.302) and Debian's AWS CLI v2 2.9 read only the inline token, which
 * `exec` and the login-shell script give them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ASSUMED_ROLE_PREFIX, type MotoServer } from '../helpers/moto.js';
import { startMotoAgent, stopMotoAgent } from '../helpers/motoAgent.js';
import { startSandboxAgent, type SandboxAgent } from '../helpers/daemon.js';
import { cliPath, runCli } from '../helpers/cli.js';
import { baseClientEnv, containerVars, runProgram } from '../helpers/clients.js';
import { collectSecrets, assertNoSecrets } from '../helpers/secrets.js';
import { SDKS, stsCaller, type SdkName, type StsCaller } from '../helpers/dotnet.js';

let moto: MotoServer;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;
const callers = new Map<SdkName, StsCaller | { skip: string }>();
let profileScript: string;
let clientConfig: string;
const PROFILE = 'appstream_machine_role';

/** Debian 12's `awscli` package: the AWS CLI v2 2.9.19, older than the token file (2.15.0). */
const DEBIAN_AWS = '/usr/bin/aws';
const debianAws = ((): { version: string } | { skip: string } => {
  const probe = spawnSync(DEBIAN_AWS, ['--version'], { encoding: 'utf8' });
  if (probe.error) return { skip: `${DEBIAN_AWS} is missing (Debian package awscli; .ci/run installs it)` };
  const version = /aws-cli\/(2\.\d+\.\d+)/.exec(probe.stdout + probe.stderr)?.[1];
  return version ? { version } : { skip: `${DEBIAN_AWS} is not the AWS CLI v2: ${probe.stdout.trim()}` };
})();

before(async () => {
  // The builds (cached per run) overlap with moto and the agent starting.
  const built = Promise.all((Object.keys(SDKS) as SdkName[]).map(async (sdk) => callers.set(sdk, await stsCaller(sdk))));
  ({ moto, sandbox, agent } = await startMotoAgent({ imds: true }));
  // The machine-wide variables exactly as the service installer stages them for this agent.
  const root = path.join(sandbox.dir, 'root');
  const port = new URL(agent.discovery.url).port;
  await mkdir(path.join(root, 'opt', 'aca', 'dist'), { recursive: true });
  await copyFile(cliPath, path.join(root, 'opt', 'aca', 'dist', 'appstream-creds.cjs'));
  const staged = await runCli(['--state-dir', agent.stateDir, 'service', 'install', '--root', root, '--prefix', '/opt/aca', '--port', port, '--set-machine-env', '--no-start'], { env: {} });
  assert.equal(staged.code, 0, staged.stderr);
  profileScript = path.join(root, 'etc', 'profile.d', 'appstream-creds.sh');
  // The seed's pattern: a profile a script names (-ProfileName appstream_machine_role).
  clientConfig = path.join(sandbox.dir, 'client-config');
  await writeFile(clientConfig, `[profile ${PROFILE}]\ncredential_process = ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} credential-process --state-dir ${JSON.stringify(agent.stateDir)}\n`);
  await built;
});

after(() => stopMotoAgent({ moto, sandbox, agent }));

interface Called {
  Arn: string;
  accessKeyId: string | null;
  provider: string | null;
  core: string;
}

/** As exec sets it: with a trailing slash, which the AWS CLI v2 2.9 needs (it appends `latest/api/token`). */
const imdsEndpoint = (): string => `${agent.discovery.imdsEndpoint!}/`;

/** Nothing but the path under test: no shared files, no IMDS unless asked. */
const isolated = (extra: Record<string, string | undefined> = {}): Record<string, string | undefined> => baseClientEnv(sandbox.dir, { AWS_EC2_METADATA_DISABLED: 'true', ...extra });

const dotnetArgs = (caller: StsCaller, extra: string[] = []): string[] => [caller.dll, '--endpoint', moto.url, ...extra];

function parse(run: { code: number | null; stdout: string; stderr: string }, what: string): Called {
  assert.equal(run.code, 0, `${what} failed (${run.code}): ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Called;
}

/** Runs a command after the login-shell script (`. /etc/profile.d/appstream-creds.sh`). */
const inLoginShell = (argv: string[], env: Record<string, string | undefined>) => runProgram('sh', ['-c', '. "$0"; exec "$@"', profileScript, ...argv], env);

function assertMachineRole(called: Called, sdk: SdkName): void {
  assert.ok(called.Arn.startsWith(ASSUMED_ROLE_PREFIX), called.Arn);
  assert.equal(called.core, SDKS[sdk].core.split('.').slice(0, 4).join('.').replace(/^(\d+\.\d+\.\d+)$/, '$1.0'), `ran AWSSDK.Core ${called.core}`);
}

for (const sdk of ['v4', 'v37'] as const) {
  const version = SDKS[sdk].core;
  const ready = (t: { skip(reason: string): void }): StsCaller | undefined => {
    const caller = callers.get(sdk)!;
    if ('skip' in caller) t.skip(caller.skip);
    return 'skip' in caller ? undefined : caller;
  };

  test(`AWSSDK.Core ${version}: exec gives the default chain the container endpoint`, async (t) => {
    const caller = ready(t);
    if (!caller) return;
    const run = await runCli(['exec', '--state-dir', agent.stateDir, '--', 'dotnet', ...dotnetArgs(caller)], { env: isolated() });
    const called = parse(run, 'exec -- dotnet StsCaller');
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /ECS|Container/i, `provider ${called.provider}`);
  });

  test(`AWSSDK.Core ${version}: the machine-wide variables (token file only, and as the login shell sets them)`, async (t) => {
    const caller = ready(t);
    if (!caller) return;
    // What environment.d and the Windows machine environment carry: the URL and the token file.
    const fileOnly = parse(await runProgram('dotnet', dotnetArgs(caller), isolated(containerVars(agent, 'token-file'))), 'StsCaller with the token file');
    assertMachineRole(fileOnly, sdk);
    assert.match(fileOnly.provider ?? '', /ECS|Container/i);
    const login = parse(await inLoginShell(['dotnet', ...dotnetArgs(caller)], isolated()), 'StsCaller in a login shell');
    assertMachineRole(login, sdk);
  });

  test(`AWSSDK.Core ${version}: credential_process in the profile named on the command line`, async (t) => {
    const caller = ready(t);
    if (!caller) return;
    const run = await runProgram('dotnet', dotnetArgs(caller, ['--profile', PROFILE]), isolated({ AWS_CONFIG_FILE: clientConfig }));
    const called = parse(run, 'StsCaller --profile');
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /Process/i, `provider ${called.provider}`);
    // A profile that is not there throws rather than falling through to another source.
    const missing = await runProgram('dotnet', dotnetArgs(caller, ['--profile', 'no_such_profile']), isolated({ AWS_CONFIG_FILE: clientConfig }));
    assert.equal(missing.code, 3, missing.stderr);
  });

  test(`AWSSDK.Core ${version}: IMDSv2 emulation through AWS_EC2_METADATA_SERVICE_ENDPOINT`, async (t) => {
    const caller = ready(t);
    if (!caller) return;
    const run = await runProgram('dotnet', dotnetArgs(caller), isolated({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint() }));
    const called = parse(run, 'StsCaller via IMDS');
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /InstanceProfile/i, `provider ${called.provider}`);
  });
}

test(`AWSSDK.Core ${SDKS.v37old.core} (before the token file): refused with the file alone, the machine role through exec and the login shell`, async (t) => {
  const caller = callers.get('v37old')!;
  if ('skip' in caller) return t.skip(caller.skip);
  const fileOnly = await runProgram('dotnet', dotnetArgs(caller), isolated(containerVars(agent, 'token-file')));
  assert.notEqual(fileOnly.code, 0, `3.7.202 is not expected to read the token file: ${fileOnly.stdout}`);
  const viaExec = parse(await runCli(['exec', '--state-dir', agent.stateDir, '--', 'dotnet', ...dotnetArgs(caller)], { env: isolated() }), 'exec -- StsCaller 3.7.202');
  assertMachineRole(viaExec, 'v37old');
  const login = parse(await inLoginShell(['dotnet', ...dotnetArgs(caller)], isolated()), 'StsCaller 3.7.202 in a login shell');
  assertMachineRole(login, 'v37old');
  // credential_process predates both: it works on the old SDK as it is.
  assertMachineRole(parse(await runProgram('dotnet', dotnetArgs(caller, ['--profile', PROFILE]), isolated({ AWS_CONFIG_FILE: clientConfig })), 'StsCaller 3.7.202 --profile'), 'v37old');
});

const awsV2 = (argv: string[]): string[] => [...argv, DEBIAN_AWS, 'sts', 'get-caller-identity', '--output', 'json', '--endpoint-url', moto.url];
const arnOf = (run: { code: number | null; stdout: string; stderr: string }, what: string): string => {
  assert.equal(run.code, 0, `${what} failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { Arn: string }).Arn;
};

test("Debian's AWS CLI v2 (older than the token file): refused with the file alone, the machine role through exec and the login shell", async (t) => {
  if ('skip' in debianAws) return t.skip(debianAws.skip);
  assert.ok(debianAws.version.localeCompare('2.15.0', undefined, { numeric: true }) < 0, `expected a v2 before 2.15.0, found ${debianAws.version}`);
  const [command, ...args] = awsV2([]);
  const fileOnly = await runProgram(command!, args, isolated(containerVars(agent, 'token-file')));
  assert.notEqual(fileOnly.code, 0, `AWS CLI ${debianAws.version} is not expected to read the token file`);
  assert.ok(arnOf(await runCli(['exec', '--state-dir', agent.stateDir, '--', ...awsV2([])], { env: isolated() }), 'exec -- aws v2').startsWith(ASSUMED_ROLE_PREFIX));
  const [sh, ...shArgs] = awsV2([]);
  assert.ok(arnOf(await inLoginShell([sh!, ...shArgs], isolated()), 'aws v2 in a login shell').startsWith(ASSUMED_ROLE_PREFIX));
  // Its credential_process and IMDSv2 paths need nothing new.
  assert.ok(arnOf(await runProgram(command!, [...args, '--profile', PROFILE], isolated({ AWS_CONFIG_FILE: clientConfig })), 'aws v2 --profile').startsWith(ASSUMED_ROLE_PREFIX));
  assert.ok(arnOf(await runProgram(command!, args, isolated({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint() })), 'aws v2 via IMDS').startsWith(ASSUMED_ROLE_PREFIX));
});

test('env --format bash, sourced by sh: every SDK version and the AWS CLI v2 get the machine role from the static variables', async () => {
  const printed = await runCli(['env', '--format', 'bash', '--state-dir', agent.stateDir], { env: isolated() });
  assert.equal(printed.code, 0, printed.stderr);
  const vars = path.join(sandbox.dir, 'env.sh');
  await writeFile(vars, printed.stdout, { mode: 0o600 });
  const sourced = (argv: string[]) => runProgram('sh', ['-c', '. "$0"; exec "$@"', vars, ...argv], isolated());
  for (const sdk of Object.keys(SDKS) as SdkName[]) {
    const caller = callers.get(sdk)!;
    if ('skip' in caller) continue;
    const called = parse(await sourced(['dotnet', ...dotnetArgs(caller)]), `StsCaller ${sdk} after env`);
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /Environment/i, `provider ${called.provider}`);
  }
  if (!('skip' in debianAws)) assert.ok(arnOf(await sourced(awsV2([])), 'aws v2 after env').startsWith(ASSUMED_ROLE_PREFIX));
});

test('the login-shell script gives the inline token only to a user who can read the token file', async () => {
  const token = await readFile(agent.discovery.tokenFile, 'utf8');
  const probe = 'printf "%s" "${AWS_CONTAINER_AUTHORIZATION_TOKEN-unset}" | sha256sum';
  const readable = await runProgram('sh', ['-c', `. "$0"; ${probe}`, profileScript], {});
  const { createHash } = await import('node:crypto');
  assert.equal(readable.stdout.split(' ')[0], createHash('sha256').update(token).digest('hex'), 'a reader of the file gets the same token inline');
  const unreadable = await runProgram('sh', ['-c', `sed "s#${agent.discovery.tokenFile}#${agent.discovery.tokenFile}.absent#g" "$0" > "$0.absent.sh"; . "$0.absent.sh"; printf "%s" "\${AWS_CONTAINER_AUTHORIZATION_TOKEN-unset}"`, profileScript], {});
  assert.equal(unreadable.stdout, 'unset');
});

test('the token outlives an agent restart (Linux): a token taken inline before it still opens the new agent', async (t) => {
  const before = await readFile(agent.discovery.tokenFile, 'utf8');
  const old = agent;
  await old.agent.stop();
  // The simulator keeps writing the profile; a new agent serves the same state folder.
  const again = await startSandboxAgent({ dir: sandbox.dir, simulate: false, refreshInterval: '5s', validity: '2m', imds: true });
  agent = { ...again, simulator: old.simulator, stop: async () => Promise.all([again.stop(), old.simulator.stop()]).then(() => undefined) };
  assert.notEqual(again.agent.child.pid, old.agent.child.pid);
  assert.equal(await readFile(again.discovery.tokenFile, 'utf8'), before, 'the token file holds the same token');
  assert.match(again.agent.output(), /"tokenKept":true/);
  // An old client holding the pre-restart token inline (as an exec child or login shell would).
  const inline = isolated({ AWS_CONTAINER_CREDENTIALS_FULL_URI: again.discovery.credentialsUrl, AWS_CONTAINER_AUTHORIZATION_TOKEN: before });
  if ('skip' in debianAws) t.diagnostic(debianAws.skip);
  else {
    const [command, ...args] = awsV2([]);
    assert.ok(arnOf(await runProgram(command!, args, inline), 'aws v2 with the pre-restart token').startsWith(ASSUMED_ROLE_PREFIX));
  }
  const caller = callers.get('v37old')!;
  if ('skip' in caller) t.diagnostic(caller.skip);
  else assertMachineRole(parse(await runProgram('dotnet', dotnetArgs(caller), inline), 'StsCaller 3.7.202 with the pre-restart token'), 'v37old');
});

test('the agent logged no secret while serving all of the above', async () => {
  const secrets = await collectSecrets(sandbox.dir, { stateDir: agent.stateDir });
  assertNoSecrets(agent.agent.output(), secrets, 'agent log');
});
