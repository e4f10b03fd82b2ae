import { z } from 'zod';
import { AgentError, ExitCode } from '../errors.js';
import type { Credentials } from '../credentials.js';

export interface RunProcessOptions {
  command: string;
  /** Names the file and profile in messages: "/home/x/.aws/config [profile y]". */
  where: string;
  timeoutMs: number;
  env: Readonly<Record<string, string | undefined>>;
  /** Secrets the caller knows (the last credentials served); masked, even in fragments, if stderr echoes them. */
  knownSecrets?: readonly string[];
}

const MAX_OUTPUT = 1024 * 1024;
/** After the process exits, how long its already-written output may take to arrive. */
const EXIT_DRAIN_MS = 200;

const processOutput = z.object({
  Version: z.literal(1),
  AccessKeyId: z.string().min(16),
  SecretAccessKey: z.string().min(1),
  SessionToken: z.string().min(1).optional(),
  Expiration: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time').optional(),
  AccountId: z.string().optional(),
});

const fail = (message: string, code: string): AgentError =>
  new AgentError(message, { exitCode: ExitCode.credentialsUnavailable, code });

/**
 * Runs a credential_process command the way the AWS SDKs do (through the shell, JSON on
 * stdout, Version 1) but with what they lack: a timeout that kills the whole process tree,
 * bounded output, and messages that never contain the output itself.
 */
export async function runCredentialProcess(options: RunProcessOptions): Promise<Credentials> {
  const { command, where, timeoutMs } = options;
  // Loaded on demand: static-keys profiles never start a process.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      shell: true,
      env: options.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group on POSIX so a timeout kills the shell and everything it started.
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    let stdoutSize = 0;
    let stderrTail = '';
    let settled = false;
    let exitTimer: NodeJS.Timeout | undefined;
    const prefix = `${where}: credential_process`;
    const killTree = (): void => {
      try {
        if (process.platform === 'win32') spawn('taskkill', ['/pid', String(child.pid), '/T', '/F'], { windowsHide: true });
        else if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    /**
     * Settles once. The pipes are abandoned rather than awaited: a grandchild that left the
     * process group (setsid) can hold them open forever, and must not keep this process alive.
     */
    const finish = (outcome: () => Credentials): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(exitTimer);
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      try {
        resolve(outcome());
      } catch (error) {
        reject(error);
      }
    };
    const judge = (code: number | null, signal: NodeJS.Signals | null): Credentials => {
      if (stdoutSize > MAX_OUTPUT) throw fail(`${prefix} printed more than ${MAX_OUTPUT} bytes`, 'process-output');
      if (code === 2 && stderrTail.includes('(recursion refused)')) {
        throw fail(`${prefix} leads back to appstream-creds credential-process on the same profile (recursion refused)`, 'recursion');
      }
      if (code !== 0) {
        const hint = maskedLastLine(stderrTail, [...(options.knownSecrets ?? []), ...secretsIn(options.env), ...secretsIn(Buffer.concat(stdout).toString('utf8'))]);
        throw fail(`${prefix} failed (${signal ? `signal ${signal}` : `exit ${code}`})${hint ? `: ${hint}` : ''}`, 'process-failed');
      }
      return parseProcessOutput(Buffer.concat(stdout).toString('utf8'), prefix);
    };
    const timer = setTimeout(() => {
      killTree();
      finish(() => {
        throw fail(`${prefix} did not finish within ${timeoutMs} ms and was killed (its output pipe is abandoned)`, 'process-timeout');
      });
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutSize += chunk.length;
      if (stdoutSize > MAX_OUTPUT) killTree();
      else stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-2048);
    });
    child.on('error', (error) =>
      finish(() => {
        throw fail(`${prefix} could not start (${error.message})`, 'process-failed');
      }),
    );
    // Normally 'close' (pipes drained) follows 'exit' at once. When something the process started
    // keeps stdout open, the process's exit plus a complete JSON document is the result: what it
    // printed before exiting is read shortly after the exit, and the pipe is left behind.
    child.on('exit', (code, signal) => {
      exitTimer = setTimeout(() => finish(() => judge(code, signal)), EXIT_DRAIN_MS);
    });
    child.on('close', (code, signal) => finish(() => judge(code, signal)));
  });
}

export function parseProcessOutput(text: string, prefix: string): Credentials {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw fail(`${prefix} printed invalid JSON`, 'process-output');
  }
  const result = processOutput.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw fail(`${prefix} printed unusable credentials (${issue.path.join('.') || 'output'}: ${issue.message})`, 'process-output');
  }
  const data = result.data;
  return {
    accessKeyId: data.AccessKeyId,
    secretAccessKey: data.SecretAccessKey,
    ...(data.SessionToken ? { sessionToken: data.SessionToken } : {}),
    ...(data.Expiration ? { expiration: new Date(data.Expiration) } : {}),
    ...(data.AccountId ? { accountId: data.AccountId } : {}),
  };
}

const BASE64_RUN = /[A-Za-z0-9/+=]+/g;
/** Shorter pieces of a secret are too common to mask without masking ordinary words. */
const MIN_FRAGMENT = 6;

/**
 * The last stderr line helps diagnose; nothing else from stderr is relayed. Masked in it: every
 * run of 16+ base64 characters (an unknown key), and every run that is a piece of a known
 * secret, so a secret split by punctuation does not leak as fragments. Control characters are
 * dropped, so a hostile line cannot drive the terminal.
 */
export function maskedLastLine(text: string, knownSecrets: readonly string[]): string {
  const secrets = knownSecrets.filter((s) => s.length >= MIN_FRAGMENT);
  const line = (text.trim().split(/\r?\n/).pop() ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  return line
    .replace(BASE64_RUN, (run) => (run.length >= 16 || (run.length >= MIN_FRAGMENT && secrets.some((s) => s.includes(run))) ? '[masked]' : run))
    .slice(0, 200);
}

/** Secret-looking values a failed process may echo: ours from its environment, or its own partial output. */
function secretsIn(source: string | Readonly<Record<string, string | undefined>>): string[] {
  if (typeof source !== 'string') {
    return ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN'].map((name) => source[name] ?? '').filter(Boolean);
  }
  const found: string[] = [];
  for (const match of source.matchAll(/"(?:SecretAccessKey|SessionToken|AccessKeyId)"\s*:\s*"([^"]*)/g)) found.push(match[1]!);
  return found;
}
