import { rm } from 'node:fs/promises';
import type { Logger } from '../log/createLogger.js';
import { stopRequestPath } from '../agent/contract.js';
import { namesAgent, parseStopRequest, type StopRequest } from '../agent/stopRequest.js';
import { readRegularFile } from '../readRegularFile.js';
import { refusalMessage } from '../trust/checkPathTrust.js';
import type { OwnFolderRule } from './ownFolder.js';

export interface StopRequestWatch {
  /** Resolves with 'stop-request' once a request this agent may act on has been seen. */
  requested: Promise<string>;
  /** Ends the polling (shutdown, whatever its reason). */
  close(): void;
}

export interface WatchStopRequestInit {
  stateDir: string;
  /** This agent run as agent.json names it: only a request for this pid and start counts. */
  agent: StopRequest;
  /** serve's rule for the state folder: the request and every folder above it must pass it. */
  rule: Pick<OwnFolderRule, 'check' | 'strict'>;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** How often the folder is looked at (default 250 ms: one open of a missing name). */
  intervalMs?: number;
}

const POLL_MS = 250;
/** A request is a line of JSON; anything bigger is not one. */
const MAX_REQUEST_BYTES = 4096;

/**
 * Windows' clean stop: the agent looks for <state-dir>/stop-request and, when it names this run
 * and passes the ownership rule, shuts down as on SIGTERM. Only SYSTEM, Administrators and the
 * agent's account can create files in its state folder (its protected DACL, judged at start);
 * the request is judged again before acting, by the same rule (owner, DACL, every folder
 * above), so a folder opened up later, or a file planted by another account, stops nothing.
 * Whatever is found is removed: acted on, stale (another run) or refused (logged once).
 */
export function watchStopRequest(init: WatchStopRequestInit): StopRequestWatch {
  const file = stopRequestPath(init.stateDir);
  let resolve: (reason: string) => void = () => {};
  const requested = new Promise<string>((r) => (resolve = r));
  let busy = false;
  let done = false;
  let lastRefusal = '';

  const remove = (): Promise<void> => rm(file, { force: true }).catch(() => undefined);
  const refuse = async (why: string): Promise<void> => {
    if (why !== lastRefusal) init.logger.warn({ file }, `ignored a stop request: ${why}`);
    lastRefusal = why;
    await remove();
  };

  const look = async (): Promise<void> => {
    let text: string;
    try {
      text = (await readRegularFile(file, MAX_REQUEST_BYTES)).toString('utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      return refuse(`${file} cannot be read as a request (${(error as Error).message})`);
    }
    const request = parseStopRequest(text);
    if (!request) return refuse(`${file} is not a request (a line of JSON with pid and startedAt)`);
    if (!namesAgent(request, init.agent)) {
      init.logger.info({ file, pid: request.pid }, 'removed a stop request left for another agent run');
      return remove();
    }
    const refusal = await init.rule.check(file);
    if (refusal && init.rule.strict) return refuse(`${refusalMessage(refusal)} (only SYSTEM, Administrators and the agent's account may stop it)`);
    if (refusal) init.logger.warn({ file }, `stop request ${refusalMessage(refusal)}; acted on anyway because strictPermissions is false`);
    await remove();
    done = true;
    clearInterval(timer);
    resolve('stop-request');
  };

  const timer = setInterval(() => {
    if (busy || done) return;
    busy = true;
    look()
      .catch((error: Error) => init.logger.warn({ file, err: { message: error.message } }, 'could not look for a stop request'))
      .finally(() => (busy = false));
  }, init.intervalMs ?? POLL_MS);
  return {
    requested,
    close: () => {
      done = true;
      clearInterval(timer);
    },
  };
}
