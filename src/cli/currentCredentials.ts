import { AgentError, ExitCode } from '../errors.js';
import type { Settings } from '../config/settingsSchema.js';
import type { Generation, AgentState } from '../tracker/types.js';
import { maskKeyId } from '../credentials.js';
import type { CommandDeps } from './commandDeps.js';
import { directSource, trackerFor } from './setup.js';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log/createLogger.js';
import { fetchFromAgent, findRunningAgent } from './agentClient.js';

export interface CurrentCredentials {
  credentials: Generation['credentials'];
  /** 'agent' when the running agent answered, 'direct' when the profile was read here. */
  mode: 'agent' | 'direct';
  state?: AgentState;
}

/** Prefer the running agent (it tracks refreshes); fall back to reading the profile. */
export async function currentCredentials(settings: Settings, deps: CommandDeps, logger: Logger | undefined): Promise<CurrentCredentials> {
  const agent = await findRunningAgent(settings.stateDir);
  const fromAgent = agent ? await fetchFromAgent(agent) : undefined;
  if (fromAgent && fromAgent.credentials.expiration.getTime() > Date.now()) {
    return { credentials: fromAgent.credentials, mode: 'agent' };
  }
  logger?.debug({ agent: Boolean(agent) }, 'reading the profile directly');
  const direct = await readCurrentCredentials(settings, deps, logger);
  return { credentials: direct.generation.credentials, mode: 'direct', state: direct.state };
}

/**
 * Direct mode: read the profile now, track it once, and hand out the generation only if it
 * has not expired.
 */
export async function readCurrentCredentials(
  settings: Settings,
  deps: CommandDeps,
  logger: Logger | undefined,
  clock: Clock = systemClock,
): Promise<{ generation: Generation; state: AgentState }> {
  const tracker = trackerFor(settings, clock, logger, true);
  const generation = tracker.observe(await directSource(settings, deps, clock)());
  const current = tracker.current();
  if (!current) {
    throw new AgentError(
      `credentials for profile ${settings.profile} (key ${maskKeyId(generation.credentials.accessKeyId)}) expired at ${new Date(generation.expiresAt).toISOString()}` +
        (generation.expirySource === 'estimated' ? ` (estimated: file written + validity ${settings.validity / 1000}s)` : ''),
      { exitCode: ExitCode.credentialsUnavailable, code: 'expired' },
    );
  }
  return { generation: current, state: tracker.state() };
}
