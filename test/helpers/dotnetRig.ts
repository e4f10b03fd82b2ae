/**
 * What the .NET client tests share (test/e2e/dotnetClients*.test.ts): moto, an agent with IMDS,
 * the machine-wide variables staged by the real `service install --set-machine-env`, a client
 * config whose `appstream_machine_role` profile runs `credential-process`, and StsCaller built
 * for the SDK versions a file needs. One rig per test file (each file is its own process).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ASSUMED_ROLE_PREFIX, type MotoServer } from './moto.js';
import { startMotoAgent, stopMotoAgent } from './motoAgent.js';
import type { SandboxAgent } from './daemon.js';
import { cliPath, runCli } from './cli.js';
import { baseClientEnv, runProgram } from './clients.js';
import { SDKS, stsCaller, type SdkName, type StsCaller } from './dotnet.js';

export const PROFILE = 'appstream_machine_role';

export interface DotnetRig {
  moto: MotoServer;
  sandbox: { dir: string; cleanup: () => Promise<void> };
  /** Replaced when a test restarts the agent. */
  agent: SandboxAgent;
  callers: Map<SdkName, StsCaller | { skip: string }>;
  /** `<root>/etc/profile.d/appstream-creds.sh` as `service install --set-machine-env` staged it. */
  profileScript: string;
  /** AWS_CONFIG_FILE with the `appstream_machine_role` profile (credential_process). */
  clientConfig: string;
}

export const rig = {} as DotnetRig;

export async function setUpDotnetRig(sdks: SdkName[]): Promise<void> {
  rig.callers = new Map();
  // The builds (cached per run) overlap with moto and the agent starting.
  const built = Promise.all(sdks.map(async (sdk) => rig.callers.set(sdk, await stsCaller(sdk))));
  Object.assign(rig, await startMotoAgent({ imds: true }));
  const root = path.join(rig.sandbox.dir, 'root');
  await mkdir(path.join(root, 'opt', 'aca', 'dist'), { recursive: true });
  await copyFile(cliPath, path.join(root, 'opt', 'aca', 'dist', 'appstream-creds.cjs'));
  const port = new URL(rig.agent.discovery.url).port;
  const staged = await runCli(['--state-dir', rig.agent.stateDir, 'service', 'install', '--root', root, '--prefix', '/opt/aca', '--port', port, '--set-machine-env', '--no-start'], { env: {} });
  assert.equal(staged.code, 0, staged.stderr);
  rig.profileScript = path.join(root, 'etc', 'profile.d', 'appstream-creds.sh');
  // The seed's pattern: a profile a script names (-ProfileName appstream_machine_role).
  rig.clientConfig = path.join(rig.sandbox.dir, 'client-config');
  await writeFile(rig.clientConfig, `[profile ${PROFILE}]\ncredential_process = ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} credential-process --state-dir ${JSON.stringify(rig.agent.stateDir)}\n`);
  await built;
}

export const tearDownDotnetRig = (): Promise<void> => stopMotoAgent(rig);

/** The built caller for a version, or undefined after skipping the test with the reason. */
export function callerOrSkip(sdk: SdkName, t: { skip(reason: string): void }): StsCaller | undefined {
  const caller = rig.callers.get(sdk)!;
  if ('skip' in caller) t.skip(caller.skip);
  return 'skip' in caller ? undefined : caller;
}

export interface Called {
  Arn: string;
  accessKeyId: string | null;
  provider: string | null;
  core: string;
}

/** As exec sets it: with a trailing slash, which the AWS CLI v2 2.9 needs (it appends `latest/api/token`). */
export const imdsEndpoint = (): string => `${rig.agent.discovery.imdsEndpoint!}/`;

/** Nothing but the path under test: no shared files, no IMDS unless asked. */
export const isolated = (extra: Record<string, string | undefined> = {}): Record<string, string | undefined> => baseClientEnv(rig.sandbox.dir, { AWS_EC2_METADATA_DISABLED: 'true', ...extra });

export const dotnetArgs = (caller: StsCaller, extra: string[] = []): string[] => [caller.dll, '--endpoint', rig.moto.url, ...extra];

export function parse(run: { code: number | null; stdout: string; stderr: string }, what: string): Called {
  assert.equal(run.code, 0, `${what} failed (${run.code}): ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Called;
}

/** Runs a command after the login-shell script (`. /etc/profile.d/appstream-creds.sh`). */
export const inLoginShell = (argv: string[], env: Record<string, string | undefined>) => runProgram('sh', ['-c', '. "$0"; exec "$@"', rig.profileScript, ...argv], env);

export function assertMachineRole(called: Called, sdk: SdkName): void {
  assert.ok(called.Arn.startsWith(ASSUMED_ROLE_PREFIX), called.Arn);
  assert.equal(called.core, SDKS[sdk].core.split('.').slice(0, 4).join('.').replace(/^(\d+\.\d+\.\d+)$/, '$1.0'), `ran AWSSDK.Core ${called.core}`);
}

/** Debian 12's `awscli` package: the AWS CLI v2 2.9.19, older than the token file (2.15.0). */
export const DEBIAN_AWS = '/usr/bin/aws';
export const debianAws = ((): { version: string } | { skip: string } => {
  const probe = spawnSync(DEBIAN_AWS, ['--version'], { encoding: 'utf8' });
  if (probe.error) return { skip: `${DEBIAN_AWS} is missing (Debian package awscli; .ci/run installs it)` };
  const version = /aws-cli\/(2\.\d+\.\d+)/.exec(probe.stdout + probe.stderr)?.[1];
  return version ? { version } : { skip: `${DEBIAN_AWS} is not the AWS CLI v2: ${probe.stdout.trim()}` };
})();

/** `aws sts get-caller-identity` of Debian's AWS CLI v2 against moto: [command, ...args]. */
export const awsV2 = (): [string, ...string[]] => [DEBIAN_AWS, 'sts', 'get-caller-identity', '--output', 'json', '--endpoint-url', rig.moto.url];

export function arnOf(run: { code: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(run.code, 0, `${what} failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { Arn: string }).Arn;
}
