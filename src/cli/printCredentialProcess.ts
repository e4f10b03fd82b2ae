import type { Settings } from '../config/settingsSchema.js';
import { ExitCode } from '../errors.js';
import type { CommandDeps } from './commandDeps.js';
import { currentCredentials } from '../client/currentCredentials.js';
import { processJson } from '../client/credentialVars.js';
import { commandLogger, commandSourceFor, agentFileTrust } from './commandSetup.js';

/** The credential-process command's work, shared by commander's route and the fast path. */
export async function printCredentialProcess(settings: Settings, deps: CommandDeps, role?: string): Promise<number> {
  const source = commandSourceFor(settings, deps, role);
  const logger = await commandLogger(settings, 'warn');
  const { credentials } = await currentCredentials(settings, { source: source.resolve, logger, agentTrust: agentFileTrust(settings, deps), role });
  deps.ctx.io.stdout(processJson(credentials));
  return ExitCode.ok;
}
