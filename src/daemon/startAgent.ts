import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import { AgentError, ExitCode } from '../errors.js';
import { lookUpAgent, type RunningAgent } from '../agent/agentClient.js';
import { loopbackGet } from '../agent/loopbackGet.js';
import { processAlive, readDiscovery, removeDiscovery } from '../agent/discovery.js';
import { ROUTES, stopRequestPath, type AgentDiscovery } from '../agent/contract.js';
import { encodeStopRequest } from '../agent/stopRequest.js';
import { writeFileAtomic } from '../writeFileAtomic.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { refusalMessage } from '../trust/checkPathTrust.js';
import { prepareOwnFolder, type OwnFolderRule } from './ownFolder.js';

/** The file the detached agent's stdout/stderr go to, beside agent.json. */
export const START_LOG = 'start.log';

export interface StartAgentInput {
  stateDir: string;
  /** `node` and the CLI script, to run `serve` with; the executable alone for appstream-creds.exe (no script). */
  execPath: string;
  selfScript: string | undefined;
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
  const child = spawn(input.execPath, [...(input.selfScript ? [input.selfScript] : []), ...input.serveArgs], {
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

export type StopResult =
  | { outcome: 'not-running' }
  | { outcome: 'stopped'; pid: number }
  /** Windows: the agent did not exit in time after the request and was ended with TerminateProcess. */
  | { outcome: 'killed'; pid: number; waitedMs: number };

export interface StopAgentInput {
  stateDir: string;
  trust: CheckTrust;
  clock: Clock;
  timeoutMs: number;
  /**
   * Windows: ask through <state-dir>/stop-request (process.kill is TerminateProcess there, a hard
   * kill that leaves agent.json behind); `protect` gives the request its DACL before content.
   * Absent: SIGTERM (Linux, macOS).
   */
  request?: { protect?: ((temp: string) => Promise<void>) | undefined } | undefined;
  onProgress?: (message: string) => void;
  /** process.kill and the liveness probe, injected for tests. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  alive?: (pid: number) => boolean;
}

/**
 * `stop`: ends the agent named by a trusted agent.json, waiting for it to exit. Linux: SIGTERM
 * (it removes agent.json and finishes in-flight requests). Windows: a stop request the agent
 * acts on the same way; only if it has not exited when the time is up is it ended hard.
 */
export async function stopAgent(input: StopAgentInput): Promise<StopResult> {
  const alive = input.alive ?? processAlive;
  const kill = input.kill ?? ((pid: number, signal: NodeJS.Signals) => void process.kill(pid, signal));
  const found = await lookUpAgent(input.stateDir, input.trust);
  if ('problem' in found && found.problem === 'untrusted') {
    throw new AgentError(`${found.detail}; not stopping the pid it names`, { exitCode: ExitCode.runtime, code: 'agent-untrusted' });
  }
  const discovery = 'agent' in found ? found.agent.discovery : found.problem === 'token-unreadable' || found.problem === 'squatted' ? await readDiscovery(input.stateDir) : undefined;
  if (!discovery || !alive(discovery.pid)) return { outcome: 'not-running' };
  if (input.request) return requestStop(input, discovery, { alive, kill });
  try {
    kill(discovery.pid, 'SIGTERM');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return { outcome: 'not-running' };
    throw new AgentError(`cannot stop the agent (pid ${discovery.pid}): ${code === 'EPERM' ? 'it runs as another user; run stop as that user or root' : code}`, { exitCode: ExitCode.runtime, code: 'stop-failed' });
  }
  if (!(await exitBy(discovery.pid, input.clock.now() + input.timeoutMs, input, alive, 'finish its requests and exit'))) {
    throw new AgentError(`the agent (pid ${discovery.pid}) did not exit within ${Math.round(input.timeoutMs / 1000)} s of SIGTERM`, { exitCode: ExitCode.runtime, code: 'stop-timeout' });
  }
  return { outcome: 'stopped', pid: discovery.pid };
}

/** From the signal or request on, a word after this long, then every PROGRESS_EVERY_MS. */
const PROGRESS_AFTER_MS = 2_000;
const PROGRESS_EVERY_MS = 5_000;
/** After TerminateProcess: how long the process may take to be gone. */
const KILL_WAIT_MS = 5_000;

/** Waits for the pid to exit until `until`, saying so on a long wait; true once it is gone. */
async function exitBy(pid: number, until: number, input: Pick<StopAgentInput, 'clock' | 'onProgress'>, alive: (pid: number) => boolean, what: string): Promise<boolean> {
  const started = input.clock.now();
  let nextWord = started + PROGRESS_AFTER_MS;
  while (alive(pid)) {
    const now = input.clock.now();
    if (now >= until) return false;
    if (now >= nextWord) {
      input.onProgress?.(`waiting for the agent (pid ${pid}) to ${what} (${Math.round((now - started) / 1000)} s of at most ${Math.round((until - started) / 1000)} s)`);
      nextWord = now + PROGRESS_EVERY_MS;
    }
    await input.clock.sleep(100);
  }
  return true;
}

/**
 * Windows: writes the request into the state folder, which only SYSTEM, Administrators and the
 * agent's account may write: a refused write means this account may not stop the agent (and no
 * hard kill is tried). The agent removes agent.json and its lock as on SIGTERM; if it is still
 * there at the timeout, it is ended with TerminateProcess and its agent.json removed here.
 */
async function requestStop(input: StopAgentInput, discovery: AgentDiscovery, os: { alive: (pid: number) => boolean; kill: (pid: number, signal: NodeJS.Signals) => void }): Promise<StopResult> {
  const { pid } = discovery;
  const file = stopRequestPath(input.stateDir);
  try {
    await writeFileAtomic(file, encodeStopRequest(discovery), 0o600, input.request?.protect ? { protect: input.request.protect } : {});
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const denied = code === 'EPERM' || code === 'EACCES';
    throw new AgentError(
      denied
        ? `cannot stop the agent (pid ${pid}): this account may not write to ${input.stateDir} (${code}); only SYSTEM, an elevated administrator or the agent's own account may stop it`
        : `cannot write the stop request ${file} (${code})`,
      { exitCode: ExitCode.runtime, code: denied ? 'stop-denied' : 'stop-failed' },
    );
  }
  const started = input.clock.now();
  if (await exitBy(pid, started + input.timeoutMs, input, os.alive, 'finish its requests and exit')) return { outcome: 'stopped', pid };
  await rm(file, { force: true }).catch(() => undefined);
  try {
    os.kill(pid, 'SIGTERM');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH') throw new AgentError(`the agent (pid ${pid}) did not exit within ${Math.round(input.timeoutMs / 1000)} s of the stop request, and cannot be ended (${code})`, { exitCode: ExitCode.runtime, code: 'stop-timeout' });
  }
  if (!(await exitBy(pid, input.clock.now() + KILL_WAIT_MS, input, os.alive, 'end'))) {
    throw new AgentError(`the agent (pid ${pid}) did not exit within ${Math.round(input.timeoutMs / 1000)} s of the stop request, nor after TerminateProcess`, { exitCode: ExitCode.runtime, code: 'stop-timeout' });
  }
  // Ended hard, it could not remove its own agent.json; a newer agent's file is left alone.
  await removeDiscovery(input.stateDir, pid).catch(() => undefined);
  return { outcome: 'killed', pid, waitedMs: input.clock.now() - started };
}
