import { spawn } from 'node:child_process';
import path from 'node:path';
import { collect, describeLeak, findLeak, readLogFiles, registerFromEnv, runSources, watchWhileRunning, type Leak, type RunSources } from './leakScan.js';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
/** The built bundle: e2e tests exercise exactly what ships. `npm test` builds it first. */
export const cliPath = path.join(repoRoot, 'dist', 'appstream-creds.cjs');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Run under another launcher, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  prefix?: string[];
  /** Another copy of the CLI to run instead of dist/ (a copied or installed bundle). */
  script?: string;
  /**
   * The program prints the credentials it got on stdout on purpose (a client showing its keys);
   * they are still refused on stderr and in logs, and the agent token everywhere.
   */
  credentialsOnStdout?: boolean;
}

/** Commands whose stdout carries credentials by contract (the agent token never). */
export function cliPrintsCredentials(args: readonly string[]): boolean {
  const command = cliCommand(args);
  return command === 'credential-process' || command === 'env' || command === 'exec' || (command === 'simulate' && args.includes('--emit'));
}

const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--config', '--profile', '--state-dir', '--log-level']);

/** The command word of a CLI argv (after global options). */
export function cliCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i += 1;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Every process a test starts runs at debug level unless the test chose a level (variable or
 * --log-level), so the secret scan sees everything the product can log. The test itself is then
 * handed the output as the default level would show it (see defaultLevelView).
 */
export function withDebugLog(env: Record<string, string | undefined> = {}, cliArgs: readonly string[] = []): { env: Record<string, string | undefined>; forced: boolean } {
  if ('APPSTREAM_CREDS_LOG_LEVEL' in env || cliArgs.some((a) => a === '--log-level' || a.startsWith('--log-level='))) return { env, forced: false };
  return { env: { APPSTREAM_CREDS_LOG_LEVEL: 'debug', ...env }, forced: true };
}

/** A pino JSON line of ours, also when another program prefixes it (the AWS CLI quotes a credential_process's stderr). */
const PINO_LINE = /\{"level":(\d+),[^\n]*"name":"appstream-creds"[^\n]*\}(\n|$)/g;

/**
 * Output without the log lines the default level would not have printed: `serve` logs from info
 * (30) up, one-shot commands (and our CLI run inside other programs) log nothing by default.
 */
export function defaultLevelView(text: string, cliArgs: readonly string[]): string {
  if (!text.includes('"name":"appstream-creds"')) return text;
  const threshold = cliCommand(cliArgs) === 'serve' ? 30 : Infinity;
  return text.replace(PINO_LINE, (line: string, level: string) => (Number(level) >= threshold ? line : ''));
}

/** Runs the real CLI as a child process with a clean, explicit environment; scans it for secrets. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const prefix = options.prefix ?? [];
  const script = options.script ?? cliPath;
  const command = prefix.length > 0 ? prefix[0]! : process.execPath;
  const argv = prefix.length > 0 ? [...prefix.slice(1), process.execPath, script, ...args] : [script, ...args];
  return runScanned(command, argv, options, { cliArgs: args, credentialsOnStdout: options.credentialsOnStdout ?? cliPrintsCredentials(args) });
}

/** Runs any program with cleanEnv(env) and captures its output; a timeout kills it. Scanned too. */
export function runProgram(command: string, args: string[], options: Omit<CliOptions, 'prefix' | 'script'> = {}): Promise<CliRun> {
  return runScanned(command, args, options, { cliArgs: [], credentialsOnStdout: options.credentialsOnStdout ?? false });
}

interface ScanPlan {
  cliArgs: readonly string[];
  credentialsOnStdout: boolean;
}

function runScanned(command: string, args: string[], options: Omit<CliOptions, 'prefix' | 'script'>, plan: ScanPlan): Promise<CliRun> {
  const debug = withDebugLog(options.env, plan.cliArgs);
  const env = cleanEnv(debug.env);
  const view = (text: string): string => (debug.forced ? defaultLevelView(text, plan.cliArgs) : text);
  const cwd = options.cwd ?? repoRoot;
  const sources = runSources(plan.cliArgs, env, cwd);
  registerFromEnv(env);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stopWatching = watchWhileRunning(sources);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      void stopWatching().finally(() => reject(error));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const name = `${path.basename(command)} ${plan.cliArgs.length > 0 ? (cliCommand(plan.cliArgs) ?? '') : path.basename(args[0] ?? '')}`.trim();
      stopWatching()
        .then(() => scanOutput(name, { stdout, stderr }, sources, plan.credentialsOnStdout))
        .then((leak) => (leak ? reject(new Error(describeLeak(leak))) : resolve({ code, signal, stdout: view(stdout), stderr: view(stderr) })), reject);
    });
    // A child that exits without reading its input (or refuses it early) must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Scans what a finished process printed and the log files it may have written. */
export async function scanOutput(name: string, output: { stdout: string; stderr: string }, sources: RunSources, credentialsOnStdout: boolean): Promise<Leak | undefined> {
  await collect([sources]);
  const logs = await readLogFiles(sources.logDirs, sources.stateDirs);
  return (
    findLeak(output.stderr, `stderr of ${name}`) ??
    findLeak(output.stdout, `stdout of ${name}`, credentialsOnStdout) ??
    logs.map(([file, text]) => findLeak(text, `log file ${file} of ${name}`)).find(Boolean)
  );
}

/**
 * The parent's environment minus anything that could point a client at real AWS or at the
 * developer's own profiles; tests pass what they need explicitly.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (key.startsWith('AWS_') || key.startsWith('APPSTREAM_CREDS_')) continue;
    env[key] = value;
  }
  env.AWS_EC2_METADATA_DISABLED = 'true';
  // The agent's default (auto) would ask the real regional STS about each new set: tests that
  // verify point it at moto and set this themselves.
  env.APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS = 'false';
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
