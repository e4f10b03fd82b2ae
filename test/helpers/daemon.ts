import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'node:test';
import { cleanEnv, cliCommand, cliPath, cliPrintsCredentials, defaultLevelView, repoRoot, scanOutput, withDebugLog } from './cli.js';
import { collect, describeLeak, findLeak, registerFromEnv, reportLeak, runSources, takePendingLeaks, watchWhileRunning } from './leakScan.js';
import { ROLE_ARN, stsCallerEnv } from './moto.js';
import type { AgentDiscovery } from '../../src/agent/contract.js';

export type Discovery = AgentDiscovery;

export interface RunningProcess {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout + stderr), for log scans. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or 128+signal) once the process has exited. */
  exited: Promise<number>;
  /** Stops it and resolves with the exit code; rejects when its output or logs leaked a secret. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Runs the CLI under another program (faketime, sh -c 'ulimit …; exec "$@"'). */
export type Launcher = (argv: string[]) => { command: string; args: string[] };

export interface StartOptions {
  cwd?: string;
  /** Another copy of the CLI (a copied or installed bundle) instead of dist/. */
  script?: string;
  launcher?: Launcher;
}

interface Live {
  name: string;
  stdout(): string;
  stderr(): string;
  credentialsOnStdout: boolean;
  /** How far the per-test check has scanned (the final scan at exit reads everything). */
  scanned: { stdout: number; stderr: number };
  reported: boolean;
}
const live = new Set<Live>();

/**
 * After every test: secrets that background processes leaked, whether they exited (and nobody
 * called stop()) or still run (what they printed since the last check).
 */
afterEach(async () => {
  const problems = takePendingLeaks();
  if (live.size > 0) await collect();
  for (const p of live) {
    if (p.reported) continue;
    const overlap = 15;
    const out = p.stdout().slice(Math.max(0, p.scanned.stdout - overlap));
    const err = p.stderr().slice(Math.max(0, p.scanned.stderr - overlap));
    p.scanned = { stdout: p.stdout().length, stderr: p.stderr().length };
    const leak = findLeak(err, `stderr of ${p.name} (still running)`) ?? findLeak(out, `stdout of ${p.name} (still running)`, p.credentialsOnStdout);
    if (leak) {
      p.reported = true;
      problems.push(describeLeak(leak));
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
});

/** Starts a CLI command (simulate, serve, exec…) in the background, scanned for secrets like runCli. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}, optionsOrLauncher: StartOptions | Launcher = {}): RunningProcess {
  const options: StartOptions = typeof optionsOrLauncher === 'function' ? { launcher: optionsOrLauncher } : optionsOrLauncher;
  const debug = withDebugLog(env, args);
  const fullEnv = cleanEnv(debug.env);
  const view = (text: string): string => (debug.forced ? defaultLevelView(text, args) : text);
  const cwd = options.cwd ?? repoRoot;
  const sources = runSources(args, fullEnv, cwd);
  registerFromEnv(fullEnv);
  const argv = [process.execPath, options.script ?? cliPath, ...args];
  const { command, args: launchArgs } = options.launcher ? options.launcher(argv) : { command: argv[0]!, args: argv.slice(1) };
  const child = spawn(command, launchArgs, { cwd, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const stopWatching = watchWhileRunning(sources);
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((output += d), (stdout += d)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => ((output += d), (stderr += d)));
  const me: Live = { name: `appstream-creds ${cliCommand(args) ?? ''}`.trim(), stdout: () => stdout, stderr: () => stderr, credentialsOnStdout: cliPrintsCredentials(args), scanned: { stdout: 0, stderr: 0 }, reported: false };
  live.add(me);
  let stopping = false;
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  // The full scan once it has exited (and its pipes are drained).
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const finalLeak = closed.then(async () => {
    live.delete(me);
    await stopWatching();
    const leak = me.reported ? undefined : await scanOutput(me.name, { stdout, stderr }, sources, me.credentialsOnStdout);
    if (leak && !stopping) reportLeak(describeLeak(leak));
    return leak;
  });
  return {
    child,
    output: () => view(output),
    stdout: () => view(stdout),
    stderr: () => view(stderr),
    exited,
    stop: async (signal = 'SIGTERM') => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      const leak = await finalLeak;
      if (leak) throw new Error(describeLeak(leak));
      return code;
    },
  };
}

/** A started agent and the files it was pointed at (what every agent rig hands its tests). */
export interface AgentRig {
  agent: RunningProcess;
  discovery: Discovery;
  token: string;
  stateDir: string;
  credentialsFile: string;
  configFile: string;
}

export interface SandboxAgent extends AgentRig {
  simulator: RunningProcess;
  stop(): Promise<void>;
}

export interface SandboxAgentOptions {
  dir: string;
  form?: 'static' | 'process';
  refreshInterval?: string;
  validity?: string;
  rotations?: number;
  inPlace?: boolean;
  stsEndpoint?: string;
  roleArn?: string;
  imds?: boolean;
  /** Extra env for the agent (e.g. APPSTREAM_CREDS_LOG_LEVEL=debug). */
  agentEnv?: Record<string, string>;
  /** The agent's refreshInterval when it must differ from the simulator's (the agent's minimum is 1s). */
  agentRefreshInterval?: string;
  /** Start the simulator? (false: the test writes the profile itself). */
  simulate?: boolean;
  /** More simulate flags (e.g. --user alice --resource-name fleet-a: DIR/appstream_system_vars.sh). */
  simulateArgs?: string[];
}

/**
 * A simulated AppStream instance plus the agent serving it, both real processes. The agent
 * uses an ephemeral port and the sandbox's own state dir; its timings match the simulator's.
 */
export async function startSandboxAgent(options: SandboxAgentOptions): Promise<SandboxAgent> {
  const { dir } = options;
  const refresh = options.refreshInterval ?? '2s';
  const validity = options.validity ?? '12s';
  const credentialsFile = path.join(dir, '.aws', 'credentials');
  const configFile = path.join(dir, '.aws', 'config');
  const stateDir = path.join(dir, 'state');
  const simArgs = ['simulate', '--dir', dir, '--form', options.form ?? 'static', '--refresh-interval', refresh, '--validity', validity, '--rotations', String(options.rotations ?? 0)];
  if (options.inPlace) simArgs.push('--in-place');
  if (options.simulateArgs) simArgs.push(...options.simulateArgs);
  if (options.stsEndpoint) simArgs.push('--sts-endpoint', options.stsEndpoint, '--role-arn', options.roleArn ?? ROLE_ARN);
  // Against a moto this process started, the simulator signs AssumeRole with its admin key.
  const simulator = options.simulate === false ? undefined : startCli(simArgs, stsCallerEnv(options.stsEndpoint));
  if (simulator) await waitFor(async () => (await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8').catch(() => '')).length > 0, 15_000, () => `simulator did not write a generation: ${simulator.output()}`);

  const agentArgs = ['serve', '--state-dir', stateDir, '--port', '0', '--refresh-interval', options.agentRefreshInterval ?? refresh, '--validity', validity, '--expiry-warning', '1s', '--refresh-grace', '1s'];
  if (options.imds) agentArgs.push('--imds');
  const agent = startCli(agentArgs, { AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: configFile, ...options.agentEnv });
  const discoveryFile = path.join(stateDir, 'agent.json');
  let discovery: Discovery | undefined;
  let token: string;
  try {
    await waitFor(
      async () => {
        discovery = JSON.parse(await readFile(discoveryFile, 'utf8').catch(() => 'null')) as Discovery | undefined;
        return Boolean(discovery && discovery.pid === agent.child.pid);
      },
      15_000,
      () => `agent did not publish ${discoveryFile}: ${agent.output()}`,
    );
    token = (await readFile(discovery!.tokenFile, 'utf8')).trim();
    // Ready = the agent serves credentials.
    await waitFor(async () => (await fetch(`${discovery!.url}/healthz`).catch(() => undefined))?.status === 200, 15_000, () => `agent never became healthy: ${agent.output()}`);
  } catch (error) {
    // Leave no process behind when the setup itself fails.
    await Promise.all([agent.stop('SIGKILL'), simulator?.stop('SIGKILL')]);
    throw error;
  }
  return {
    simulator: simulator ?? startCli(['--help']),
    agent,
    discovery: discovery!,
    token,
    stateDir,
    credentialsFile,
    configFile,
    stop: async () => {
      await Promise.all([agent.stop(), simulator?.stop()]);
    },
  };
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - started > timeoutMs) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET the credentials the way the container provider does. */
export async function getCredentials(agent: SandboxAgent, token = agent.token): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(agent.discovery.credentialsUrl, { headers: { authorization: token } });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}
