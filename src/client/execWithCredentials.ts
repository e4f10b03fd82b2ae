import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Settings } from '../config/settingsSchema.js';
import { AgentError, ShellExitCode, usageError } from '../errors.js';
import { credentialVars } from './credentialVars.js';
import type { CurrentCredentials } from './currentCredentials.js';

const STATIC_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION'];
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Variables that would make the child's SDK pick another source before ours. */
const CONFLICTING = ['AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'AWS_WEB_IDENTITY_TOKEN_FILE'];

export interface ExecInput {
  argv: readonly string[];
  settings: Settings;
  /** The caller's environment, copied for the child. */
  env: Readonly<Record<string, string | undefined>>;
  current: CurrentCredentials;
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
}

/**
 * The child's environment: endpoint variables when the agent answered, so a long-running
 * child's SDK asks the agent on each refresh and follows the hourly rotation; otherwise
 * static AWS_* variables, valid until AWS_CREDENTIAL_EXPIRATION.
 */
export function childEnvironment(input: Pick<ExecInput, 'settings' | 'env' | 'current'>): Record<string, string | undefined> {
  const { settings, current } = input;
  const env: Record<string, string | undefined> = { ...input.env };
  for (const name of CONFLICTING) delete env[name];
  if (current.mode === 'agent') {
    for (const name of STATIC_VARS) delete env[name];
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI = current.credentialsUrl;
    // The token of the route the child is pointed at: a named role's own, or the machine role's.
    env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = current.agent.tokenFile;
    // Clients older than the token file (AWS CLI v2 < 2.15.0, AWSSDK.Core < 3.7.302, Java v2 <
    // 2.21.30…) read only the token itself. The child runs as this user, who just read the file;
    // the value is the file's, which the agent keeps across restarts on Linux (keptToken).
    env.AWS_CONTAINER_AUTHORIZATION_TOKEN = current.agent.token;
    // Tools that only know IMDS reach the agent's emulation through this (never 169.254.169.254).
    // With a trailing slash: the AWS CLI v2 before 2.1x appends `latest/api/token` to it as is.
    if (current.agent.discovery.imdsEndpoint) env.AWS_EC2_METADATA_SERVICE_ENDPOINT = current.agent.discovery.imdsEndpoint.replace(/\/?$/, '/');
    Object.assign(env, loopbackBypassesProxy(env));
  } else {
    Object.assign(env, credentialVars(current.credentials));
  }
  return withRegion(env, settings.region);
}

/**
 * NO_PROXY and no_proxy extended (never replaced) with 127.0.0.1 and localhost, so an SDK behind
 * an HTTP proxy fetches credentials from the agent directly: botocore's IMDS fetcher, for one,
 * sends even loopback requests to HTTP_PROXY otherwise.
 */
export function loopbackBypassesProxy(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const extend = (value: string | undefined): string => {
    const entries = (value ?? '').split(',').map((e) => e.trim()).filter(Boolean);
    for (const needed of ['127.0.0.1', 'localhost']) if (!entries.includes(needed)) entries.push(needed);
    return entries.join(',');
  };
  // Both spellings, each keeping what it had: tools differ in which one they read.
  return { NO_PROXY: extend(env.NO_PROXY ?? env.no_proxy), no_proxy: extend(env.no_proxy ?? env.NO_PROXY) };
}

/**
 * Both region variables, since botocore and the AWS CLI v1 read only AWS_DEFAULT_REGION and
 * the other SDKs AWS_REGION: a region the child already has is kept (and copied to the other
 * name); otherwise the known one (settings, else AppStream_Image_Arn) is set.
 */
function withRegion(env: Record<string, string | undefined>, region: string | undefined): Record<string, string | undefined> {
  const own = env.AWS_REGION || env.AWS_DEFAULT_REGION || region;
  if (own) {
    env.AWS_REGION ||= own;
    env.AWS_DEFAULT_REGION ||= own;
  }
  return env;
}

/** Runs the command with credentials; resolves with its exit code (128 + signal when killed). */
export function execWithCredentials(input: ExecInput): Promise<number> {
  const [file, ...args] = input.argv;
  if (!file) throw usageError('exec: give a command after --, e.g. appstream-creds exec -- aws s3 ls');
  const env = childEnvironment(input);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env: env as NodeJS.ProcessEnv });
    const unsubscribe = FORWARDED.map((signal) => input.onSignal(signal, () => child.kill(signal)));
    child.on('error', (error: NodeJS.ErrnoException) => {
      unsubscribe.forEach((off) => off());
      const notFound = error.code === 'ENOENT';
      const reason = notFound ? 'command not found' : error.code === 'EACCES' ? 'permission denied (not executable?)' : (error.code ?? error.message);
      reject(
        new AgentError(`exec: ${notFound ? `${reason}: ${file}` : `cannot run ${file}: ${reason}`}`, {
          exitCode: notFound ? ShellExitCode.notFound : ShellExitCode.cannotRun,
          code: 'exec-failed',
        }),
      );
    });
    child.on('exit', (code, signal) => {
      unsubscribe.forEach((off) => off());
      // Shell convention: 128 + signal number when the child died of a signal.
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
}
