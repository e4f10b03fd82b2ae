/**
 * Real AWS clients (boto3, AWS CLI v1, SDK for JavaScript v3) pointed at the agent, plus a raw
 * HTTP request helper for the header-level checks fetch() cannot make (Host, X-Forwarded-For).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { runProgram as runAnyProgram, type CliRun } from './cli.js';

export type ProgramRun = CliRun;

/**
 * Runs a program from the repo root with cleanEnv(env): no AWS_* from the parent leaks in. Its
 * output is scanned for secrets; `credentialsOnStdout` when the program prints what it got.
 */
export const runProgram = (command: string, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000, credentialsOnStdout = false): Promise<ProgramRun> =>
  runAnyProgram(command, args, { env, timeoutMs, credentialsOnStdout });

/**
 * Variables every client run gets: the region (botocore 1.x reads only AWS_DEFAULT_REGION, the
 * JS SDK reads AWS_REGION), and shared files that do not exist, so the only credential source a
 * client can find is the one under test.
 */
export function baseClientEnv(sandboxDir: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_SHARED_CREDENTIALS_FILE: path.join(sandboxDir, 'no-such-client-credentials'),
    AWS_CONFIG_FILE: path.join(sandboxDir, 'no-such-client-config'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

export type TokenMode = 'token' | 'token-file';

/** The container-provider variables, with the token inline or in the agent's token file. */
export function containerVars(agent: { discovery: { credentialsUrl: string; tokenFile: string }; token: string }, mode: TokenMode): Record<string, string> {
  return {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.discovery.credentialsUrl,
    ...(mode === 'token' ? { AWS_CONTAINER_AUTHORIZATION_TOKEN: agent.token } : { AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: agent.discovery.tokenFile }),
  };
}

export interface Identity {
  Arn: string;
  /** Which provider the client used, as the client itself reports it. */
  method?: string;
  accessKeyId?: string;
}

const BOTO3_IDENTITY = `
import boto3, json, os
session = boto3.Session()
creds = session.get_credentials()
identity = session.client('sts', endpoint_url=os.environ['STS_URL']).get_caller_identity()
print(json.dumps({'Arn': identity['Arn'], 'method': creds.method, 'accessKeyId': creds.get_frozen_credentials().access_key}))
`;

/** boto3's default chain: get_caller_identity against STS_URL. */
export async function boto3Identity(stsUrl: string, env: Record<string, string | undefined>): Promise<Identity> {
  const run = await runProgram('python3', ['-c', BOTO3_IDENTITY], { ...env, STS_URL: stsUrl });
  assert.equal(run.code, 0, `boto3 get_caller_identity failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Identity;
}

/** `aws sts get-caller-identity` (AWS CLI v1), STS at stsUrl via --endpoint-url. */
export async function awsCliIdentity(stsUrl: string, env: Record<string, string | undefined>, argvPrefix: string[] = []): Promise<ProgramRun> {
  const [command, ...rest] = [...argvPrefix, 'aws'];
  return runProgram(command!, [...rest, 'sts', 'get-caller-identity', '--output', 'json', '--endpoint-url', stsUrl], env);
}

const JS_IDENTITY = `
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
const client = new STSClient({ region: 'us-east-1', endpoint: process.env.STS_URL });
const identity = await client.send(new GetCallerIdentityCommand({}));
const creds = await client.config.credentials();
console.log(JSON.stringify({ Arn: identity.Arn, accessKeyId: creds.accessKeyId }));
`;

/** The SDK for JavaScript v3 with its default provider chain (no credentials option). */
export async function jsSdkIdentity(stsUrl: string, env: Record<string, string | undefined>): Promise<Identity> {
  const run = await runProgram(process.execPath, ['--input-type=module', '-e', JS_IDENTITY], { ...env, STS_URL: stsUrl });
  assert.equal(run.code, 0, `SDK v3 get_caller_identity failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Identity;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP request with exactly the headers given (Host included), no pooling. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
