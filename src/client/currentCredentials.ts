import { AgentError, ExitCode } from '../errors.js';
import type { Settings } from '../config/settingsSchema.js';
import type { Generation, AgentState } from '../tracker/types.js';
import { classifyReading } from '../tracker/classifyReading.js';
import { maskKeyId, type CredentialSource } from '../credentials.js';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log/createLogger.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { fetchFromAgent, findRunningAgent, type RunningAgent } from '../agent/agentClient.js';

export interface CurrentCredentialsDeps {
  /** Read when no agent answers. */
  source: CredentialSource;
  logger?: Logger | undefined;
  clock?: Clock;
  /** The ownership rule agent.json and the token file must pass before the agent is asked. */
  agentTrust: CheckTrust;
}

/** 'agent' when the running agent answered, 'direct' when the source was read here. */
export type CurrentCredentials =
  | { mode: 'agent'; credentials: Generation['credentials']; agent: RunningAgent }
  | { mode: 'direct'; credentials: Generation['credentials']; state: AgentState };

/**
 * The one "ask the agent, else read the profile" rule of credential-process, env and exec:
 * prefer the running agent (it tracks refreshes); fall back to reading the source once.
 */
export async function currentCredentials(settings: Settings, deps: CurrentCredentialsDeps): Promise<CurrentCredentials> {
  const clock = deps.clock ?? systemClock;
  const agent = await findRunningAgent(settings.stateDir, deps.agentTrust);
  const fromAgent = agent ? await fetchFromAgent(agent) : undefined;
  if (agent && fromAgent && fromAgent.credentials.expiration.getTime() > clock.now()) {
    return { mode: 'agent', credentials: fromAgent.credentials, agent };
  }
  deps.logger?.debug({ agent: Boolean(agent) }, 'reading the profile directly');
  const direct = await readCurrentCredentials(settings, deps);
  return { mode: 'direct', credentials: direct.generation.credentials, state: direct.state };
}

/**
 * Direct mode: read the source now, judge the reading once, and hand out the generation only
 * if it has not expired.
 */
async function readCurrentCredentials(settings: Settings, deps: CurrentCredentialsDeps): Promise<{ generation: Generation; state: AgentState }> {
  const clock = deps.clock ?? systemClock;
  const reading = classifyReading({ sourced: await deps.source() }, { clock, timings: settings, logger: deps.logger });
  const generation = reading.observed;
  if (!reading.current) {
    throw new AgentError(
      `credentials for profile ${settings.profile} (key ${maskKeyId(generation.credentials.accessKeyId)}) expired at ${new Date(generation.expiresAt).toISOString()}` +
        (generation.expirySource === 'estimated' ? ` (estimated: file written + validity ${settings.validity / 1000}s)` : ''),
      { exitCode: ExitCode.credentialsUnavailable, code: 'expired' },
    );
  }
  return { generation: reading.current, state: reading.state };
}
