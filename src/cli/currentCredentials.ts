import { AgentError, ExitCode } from '../errors.js';
import type { Settings } from '../config/settingsSchema.js';
import type { Generation, AgentState } from '../tracker/types.js';
import { maskKeyId } from '../credentials.js';
import type { CommandDeps } from './commandDeps.js';
import { directSource, trackerFor } from './setup.js';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log/createLogger.js';

export interface CurrentCredentials {
  generation: Generation;
  state: AgentState;
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
): Promise<CurrentCredentials> {
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
