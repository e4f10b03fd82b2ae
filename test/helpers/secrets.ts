/**
 * Secrets a test has seen, and the check that none of them leaks into captured text (stderr,
 * logs, status output, error messages). Also the small amount of shared setup the e2e tests
 * need to drive real clients (AWS CLI v1, boto3) against a simulated sandbox.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliPath, runCli, runProgram, type CliRun } from './cli.js';
import { ROLE_ARN, stsCallerEnv } from './moto.js';
import { collect, describeLeak, findLeak, registerSecret } from './leakScan.js';

export interface Secret {
  /** Where the value came from, e.g. "SecretAccessKey (simulator/current.json)". */
  label: string;
  value: string;
}

/** A de-duplicated set of secret values, accumulated across generations. */
export class Secrets {
  private readonly byValue = new Map<string, string>();

  /** Values shorter than 8 characters are ignored: they would match by accident. */
  add(label: string, value: string | undefined | null): this {
    const v = value?.trim();
    if (v && v.length >= 8 && !this.byValue.has(v)) this.byValue.set(v, label);
    // Whatever a test collects, every later process scan checks too.
    registerSecret(label, v, label.startsWith('auth token') ? 'token' : 'credential');
    return this;
  }

  get size(): number {
    return this.byValue.size;
  }

  list(): Secret[] {
    return [...this.byValue].map(([value, label]) => ({ label, value }));
  }
}

export interface CollectOptions {
  into?: Secrets;
  /** The agent's state folder (default DIR/state); its token file is a secret too. */
  stateDir?: string;
}

const readText = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');

/**
 * Reads every secret a simulated sandbox holds right now: the current generation
 * (DIR/simulator/current.json), the static keys in DIR/.aws/credentials and the agent's
 * auth token (from the discovery file, or <state>/token). Call it again after each rotation
 * with the same `into` to keep older generations.
 */
export async function collectSecrets(dir: string, options: CollectOptions = {}): Promise<Secrets> {
  const secrets = options.into ?? new Secrets();
  const current = await readText(path.join(dir, 'simulator', 'current.json'));
  if (current.trim()) {
    const c = JSON.parse(current) as Record<string, unknown>;
    for (const key of ['SecretAccessKey', 'SessionToken']) {
      if (typeof c[key] === 'string') secrets.add(`${key} (simulator/current.json)`, c[key] as string);
    }
  }
  const credentials = await readText(path.join(dir, '.aws', 'credentials'));
  for (const match of credentials.matchAll(/^\s*(aws_secret_access_key|aws_session_token)\s*=\s*(\S+)\s*$/gm)) {
    secrets.add(`${match[1]} (.aws/credentials)`, match[2]);
  }
  const stateDir = options.stateDir ?? path.join(dir, 'state');
  const discovery = await readText(path.join(stateDir, 'agent.json'));
  const tokenFiles = [path.join(stateDir, 'token')];
  if (discovery.trim()) {
    const tokenFile = (JSON.parse(discovery) as { tokenFile?: unknown }).tokenFile;
    if (typeof tokenFile === 'string') tokenFiles.unshift(tokenFile);
  }
  for (const file of tokenFiles) secrets.add(`auth token (${path.basename(file)})`, await readText(file));
  return secrets;
}

/**
 * Keeps collecting while a simulator rotates, so secrets of generations that are gone from
 * the sandbox by the end of the test are still checked.
 */
export function watchSecrets(dir: string, intervalMs = 200, options: Omit<CollectOptions, 'into'> = {}): { secrets: Secrets; stop(): Promise<Secrets> } {
  const secrets = new Secrets();
  let pending: Promise<unknown> = collectSecrets(dir, { ...options, into: secrets }).catch(() => undefined);
  const timer = setInterval(() => {
    pending = pending.then(() => collectSecrets(dir, { ...options, into: secrets }).catch(() => undefined));
  }, intervalMs);
  return {
    secrets,
    stop: async () => {
      clearInterval(timer);
      await pending;
      await collectSecrets(dir, { ...options, into: secrets });
      return secrets;
    },
  };
}

/**
 * Fails if any secret (or a 16-character fragment of one, raw, URL-encoded or base64) appears in
 * `text`. The given secrets join every secret the scan already knows (leakScan.ts), so this is
 * at least as strict as the automatic scan. The failure names the secret by label and shows the
 * surrounding text with the secret masked, never the secret itself.
 */
export function assertNoSecrets(text: string, secrets: Secrets | readonly Secret[], label: string): void {
  const list = secrets instanceof Secrets ? secrets.list() : secrets;
  assert.ok(list.length > 0, `assertNoSecrets(${label}): no secrets collected, so the check would prove nothing`);
  for (const secret of list) {
    registerSecret(secret.label, secret.value);
    // Values too short for fragment matching are still refused whole.
    if (secret.value.length < 16 && text.includes(secret.value)) assert.fail(`${label}: contains the value of ${secret.label}`);
  }
  const leak = findLeak(text, label);
  if (leak) assert.fail(describeLeak(leak));
}

/** Fails if `text` (an HTTP body, a file) holds any secret the scan knows, after re-reading its sources. */
export async function assertNoKnownSecrets(text: string, label: string): Promise<void> {
  await collect();
  const leak = findLeak(text, label);
  if (leak) assert.fail(describeLeak(leak));
}

// ---------------------------------------------------------------------------------------
// Real clients against a simulated sandbox (shared by the e2e tests).

export type Captured = CliRun;

/** Runs any program with an explicit environment (cleanEnv + extra) and captures its output. */
export const capture = (command: string, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<Captured> =>
  runProgram(command, args, { env, timeoutMs });

const quote = (value: string): string => `"${value}"`;

/**
 * Simulates one generation of the machine-role profile in `dir`, minted by AssumeRole at
 * moto, in the given form. Validity is long enough that no test races the expiry.
 */
export async function simulateOnce(dir: string, form: 'static' | 'process', stsUrl: string, extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Promise<CliRun> {
  const run = await runCli(
    ['simulate', '--dir', dir, '--form', form, '--rotations', '1', '--validity', '30m', '--sts-endpoint', stsUrl, '--role-arn', ROLE_ARN, ...extraArgs],
    { env: { ...stsCallerEnv(stsUrl), ...extraEnv } },
  );
  assert.equal(run.code, 0, `simulate failed: ${run.stderr}`);
  return run;
}

/**
 * Writes DIR/client-config with `[profile via-agent]` whose credential_process runs
 * `appstream-creds credential-process`. Our tool gets the sandbox's own files through `env`
 * on the command line, so the client's AWS_CONFIG_FILE (this file) never reaches it.
 */
export async function writeClientConfig(dir: string, toolEnv: Record<string, string> = {}): Promise<string> {
  const file = path.join(dir, 'client-config');
  const vars = {
    AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
    APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state'),
    ...toolEnv,
  };
  const assignments = Object.entries(vars).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
  await writeFile(
    file,
    `[profile via-agent]\ncredential_process = env ${assignments} ${quote(process.execPath)} ${quote(cliPath)} credential-process\nregion = us-east-1\n`,
  );
  return file;
}

/** Environment for a client that uses the via-agent profile and moto as STS. */
export function clientEnv(dir: string, stsUrl: string): Record<string, string> {
  return {
    AWS_CONFIG_FILE: path.join(dir, 'client-config'),
    // The client must not find credentials anywhere but the credential_process.
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-such-client-credentials'),
    AWS_PROFILE: 'via-agent',
    AWS_ENDPOINT_URL_STS: stsUrl,
  };
}

/** `aws sts get-caller-identity` (AWS CLI v1); returns the Arn or fails with the CLI's output. */
export async function awsCallerArn(env: Record<string, string>, argv: string[] = ['aws']): Promise<string> {
  const [command, ...prefix] = argv;
  const run = await capture(command!, [...prefix, 'sts', 'get-caller-identity', '--output', 'json'], env);
  assert.equal(run.code, 0, `aws sts get-caller-identity failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { Arn: string }).Arn;
}

const BOTO3 = `
import boto3, json
session = boto3.Session(profile_name='via-agent')
print(json.dumps(session.client('sts').get_caller_identity()))
`;

/** boto3's get_caller_identity through the via-agent profile; returns the Arn. */
export async function boto3CallerArn(env: Record<string, string>): Promise<string> {
  const run = await capture('python3', ['-c', BOTO3], env);
  assert.equal(run.code, 0, `boto3 get_caller_identity failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { Arn: string }).Arn;
}
