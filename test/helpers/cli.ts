import { spawn } from 'node:child_process';
import path from 'node:path';

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
}

/** Runs the real CLI as a child process with a clean, explicit environment. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const prefix = options.prefix ?? [];
  const command = prefix.length > 0 ? prefix[0]! : process.execPath;
  const argv = prefix.length > 0 ? [...prefix.slice(1), process.execPath, cliPath, ...args] : [cliPath, ...args];
  return runProgram(command, argv, options);
}

/** Runs any program with cleanEnv(env) and captures its output; a timeout kills it. */
export function runProgram(command: string, args: string[], options: Omit<CliOptions, 'prefix'> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? repoRoot, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A child that exits without reading its input (or refuses it early) must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
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
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
