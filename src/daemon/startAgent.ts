import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import { AgentError, ExitCode } from '../errors.js';
import { lookUpAgent, type RunningAgent } from '../agent/agentClient.js';
import { loopbackGet } from '../agent/loopbackGet.js';
import { processAlive, readDiscovery } from '../agent/discovery.js';
import { ROUTES, type AgentDiscovery } from '../agent/contract.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { refusalMessage } from '../trust/checkPathTrust.js';
import { prepareOwnFolder, type OwnFolderRule } from './ownFolder.js';

/** The file the detached agent's stdout/stderr go to, beside agent.json. */
export const START_LOG = 'start.log';

export interface StartAgentInput {
  stateDir: string;
  /** `node` and the CLI script, to run `serve` with. */
  execPath: string;
  selfScript: string;
  /** Arguments for `serve` (global options first). */
  serveArgs: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** How long to wait for the agent to be ready (credentials servable). */
  timeoutMs: number;
  clock: Clock;
  trust: CheckTrust;
  /** The state folder's ownership rule, as serve applies it (checked before start.log is created). */
  folderRule: OwnFolderRule;
  onProgress?: (message: string) => void;
}

export type StartResult =
  | { outcome: 'already-running'; discovery: AgentDiscovery }
  | { outcome: 'started'; discovery: AgentDiscovery }
  /** Listening, but still waiting for the network or the credentials when time ran out. */
  | { outcome: 'not-ready'; discovery: AgentDiscovery; state: string };

const healthState = async (discovery: AgentDiscovery): Promise<{ status: number; state: string } | undefined> => {
  const answer = await loopbackGet(`${discovery.url}${ROUTES.health}`, {}, 2_000).catch(() => undefined);
  if (!answer) return undefined;
  try {
    return { status: answer.status, state: String((JSON.parse(answer.body) as { state?: unknown }).state ?? 'unknown') };
  } catch {
    return { status: answer.status, state: 'unknown' };
  }
};

/**
 * `start`: the agent as a background process of its own, for Elastic fleets where nothing can
 * be installed into an image. A running agent (trusted agent.json, live pid, answering) is left
 * alone. Otherwise `serve` is launched detached (its own session/process group, stdio to
 * <state-dir>/start.log), so it outlives the session script that started it, and this waits
 * until it serves credentials, exits, or the time is up.
 */
export async function startAgent(input: StartAgentInput): Promise<StartResult> {
  const existing = await runningAgent(input.stateDir, input.trust);
  if (existing) return { outcome: 'already-running', discovery: existing.discovery };

  // The folder first, as serve judges it: a folder another account could write (or prepared
  // before root took it over) may hold a planted start.log symlink to a root-only file.
  const loose = await prepareOwnFolder('state folder', input.stateDir, 0o755, input.folderRule);
  if (loose) input.onProgress?.(`warning: state folder ${refusalMessage(loose)}; used anyway because strictPermissions is false (fix: ${loose.fix})`);
  const logFile = path.join(input.stateDir, START_LOG);
  const log = await createLogFile(logFile);
  let exited: number | null | undefined;
  const child = spawn(input.execPath, [input.selfScript, ...input.serveArgs], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
    env: input.env as NodeJS.ProcessEnv,
    windowsHide: true,
  });
  child.on('exit', (code, signal) => (exited = code ?? (signal ? 128 : 1)));
  child.on('error', () => (exited = 127));
  child.unref();
  await log.close();

  const deadline = input.clock.now() + input.timeoutMs;
  let lastState = 'starting';
  for (;;) {
    if (exited !== undefined) {
      const output = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new AgentError(`the agent exited with code ${exited} before it was ready${output ? `:\n${output}` : ''}\n(its output is in ${logFile})`, { exitCode: ExitCode.runtime, code: 'start-failed' });
    }
    const discovery = await readDiscovery(input.stateDir);
    if (discovery && discovery.pid === child.pid) {
      const health = await healthState(discovery);
      if (health?.status === 200) return { outcome: 'started', discovery };
      if (health && health.state !== lastState) {
        lastState = health.state;
        input.onProgress?.(`agent pid ${discovery.pid} at ${discovery.url}: ${health.state}`);
      }
      if (input.clock.now() >= deadline) return { outcome: 'not-ready', discovery, state: lastState };
    } else if (input.clock.now() >= deadline) {
      throw new AgentError(`the agent (pid ${child.pid}) did not publish ${path.join(input.stateDir, 'agent.json')} within ${Math.round(input.timeoutMs / 1000)} s; see ${logFile}`, { exitCode: ExitCode.runtime, code: 'start-timeout' });
    }
    await input.clock.sleep(100);
  }
}

// Whatever is at the name (a planted symlink, a hard link, a FIFO) is removed, never opened:
// the file is created afresh, exclusively, and a symlink in its place fails the open.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

async function createLogFile(file: string): Promise<FileHandle> {
  try {
    await rm(file, { force: true });
    return await open(file, CREATE_FLAGS, 0o600);
  } catch (error) {
    throw new AgentError(`cannot create ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): remove what is there`, { exitCode: ExitCode.usage, code: 'start-log' });
  }
}

/** A trusted, live agent that answers its health route. */
async function runningAgent(stateDir: string, trust: CheckTrust): Promise<RunningAgent | { discovery: AgentDiscovery } | undefined> {
  const found = await lookUpAgent(stateDir, trust);
  const discovery = 'agent' in found ? found.agent.discovery : found.problem === 'token-unreadable' ? await readDiscovery(stateDir) : undefined;
  if (!discovery) return undefined;
  return (await healthState(discovery)) ? { discovery } : undefined;
}

export type StopResult = { outcome: 'not-running' } | { outcome: 'stopped'; pid: number };

/**
 * `stop`: ends the agent named by a trusted agent.json (SIGTERM: it removes agent.json and
 * finishes in-flight requests), waiting for it to exit.
 */
export async function stopAgent(input: { stateDir: string; trust: CheckTrust; clock: Clock; timeoutMs: number }): Promise<StopResult> {
  const found = await lookUpAgent(input.stateDir, input.trust);
  if ('problem' in found && found.problem === 'untrusted') {
    throw new AgentError(`${found.detail}; not stopping the pid it names`, { exitCode: ExitCode.runtime, code: 'agent-untrusted' });
  }
  const discovery = 'agent' in found ? found.agent.discovery : found.problem === 'token-unreadable' || found.problem === 'squatted' ? await readDiscovery(input.stateDir) : undefined;
  if (!discovery || !processAlive(discovery.pid)) return { outcome: 'not-running' };
  try {
    process.kill(discovery.pid, 'SIGTERM');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return { outcome: 'not-running' };
    throw new AgentError(`cannot stop the agent (pid ${discovery.pid}): ${code === 'EPERM' ? 'it runs as another user; run stop as that user or root' : code}`, { exitCode: ExitCode.runtime, code: 'stop-failed' });
  }
  const deadline = input.clock.now() + input.timeoutMs;
  while (processAlive(discovery.pid)) {
    if (input.clock.now() >= deadline) throw new AgentError(`the agent (pid ${discovery.pid}) did not exit within ${Math.round(input.timeoutMs / 1000)} s of SIGTERM`, { exitCode: ExitCode.runtime, code: 'stop-timeout' });
    await input.clock.sleep(100);
  }
  return { outcome: 'stopped', pid: discovery.pid };
}
