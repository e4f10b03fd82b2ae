import type { AgentDiscovery } from './contract.js';

/**
 * What `stop` writes to <state-dir>/stop-request on Windows, where it has no signal to send (a
 * detached agent has no console for Ctrl+C, and process.kill is TerminateProcess, a hard kill).
 * It names the agent by pid and start time from agent.json, so a request left behind never
 * stops a later agent that happens to get the same pid.
 */
export type StopRequest = Pick<AgentDiscovery, 'pid' | 'startedAt'>;

export const encodeStopRequest = (request: StopRequest): string => `${JSON.stringify({ pid: request.pid, startedAt: request.startedAt })}\n`;

/** The request, or undefined for anything else (the agent then ignores the file). */
export function parseStopRequest(text: string): StopRequest | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<StopRequest>;
    if (typeof parsed.pid !== 'number' || typeof parsed.startedAt !== 'string') return undefined;
    return { pid: parsed.pid, startedAt: parsed.startedAt };
  } catch {
    return undefined;
  }
}

/** Whether a request names this very agent run. */
export const namesAgent = (request: StopRequest, agent: StopRequest): boolean => request.pid === agent.pid && request.startedAt === agent.startedAt;
