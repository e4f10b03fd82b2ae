import { AgentError, ExitCode, isAgentError } from '../errors.js';
import type { Settings } from '../config/settingsSchema.js';
import type { Generation, AgentState } from '../tracker/types.js';
import { classifyReading } from '../tracker/classifyReading.js';
import { maskKeyId, type CredentialSource } from '../credentials.js';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log/createLogger.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { agentUnusable, askAgent, lookUpAgent, type RunningAgent } from '../agent/agentClient.js';
import { roleCredentialsUrl } from '../agent/contract.js';

export interface CurrentCredentialsDeps {
  /** Read when no agent answers. */
  source: CredentialSource;
  logger?: Logger | undefined;
  clock?: Clock;
  /** The ownership rule agent.json and the token file must pass before the agent is asked. */
  agentTrust: CheckTrust;
  /** A named role (setting `roles`): the agent's role route, else `source` assumes it here. */
  role?: string | undefined;
}

/** 'agent' when the running agent answered, 'direct' when the source was read here. */
export type CurrentCredentials =
  | { mode: 'agent'; credentials: Generation['credentials']; agent: RunningAgent; /** The route they came from (exec points children at it). */ credentialsUrl: string }
  | { mode: 'direct'; credentials: Generation['credentials']; state: AgentState };

/**
 * The one "ask the agent, else read the profile" rule of credential-process, env and exec:
 * prefer the running agent (it tracks refreshes); fall back to reading the source once.
 */
export async function currentCredentials(settings: Settings, deps: CurrentCredentialsDeps): Promise<CurrentCredentials> {
  const clock = deps.clock ?? systemClock;
  const found = await lookUpAgent(settings.stateDir, deps.agentTrust, deps.role, { strict: settings.strictPermissions });
  // Why an agent that is there could not be used: said when reading directly fails too.
  let agentProblem: { problem: string; fix?: string | undefined; code: string } | undefined;
  if (agentUnusable(found)) {
    agentProblem = { problem: found.detail, fix: found.fix, code: found.problem === 'untrusted' ? 'agent-untrusted' : 'agent-token-unreadable' };
  } else if ('agent' in found) {
    const url = deps.role === undefined ? found.agent.discovery.credentialsUrl : roleCredentialsUrl(found.agent.discovery.url, deps.role);
    const answer = await askAgent(found.agent, 3_000, url);
    if ('credentials' in answer) {
      if (answer.credentials.expiration.getTime() > clock.now()) return { mode: 'agent', credentials: answer.credentials, agent: found.agent, credentialsUrl: url };
      agentProblem = { problem: `the agent (pid ${found.agent.discovery.pid}) sent credentials that expired at ${answer.credentials.expiration.toISOString()}`, code: 'credentials-expired' };
    } else {
      agentProblem = answer;
    }
  }
  // Reading the profile here can still help: this user may see a profile the agent does not.
  deps.logger?.debug({ agent: 'agent' in found, problem: agentProblem?.problem }, 'reading the profile directly');
  try {
    const direct = await readCurrentCredentials(settings, deps);
    if (agentProblem) deps.logger?.warn({ problem: agentProblem.problem }, 'the agent could not be used; read the profile directly');
    return { mode: 'direct', credentials: direct.generation.credentials, state: direct.state };
  } catch (error) {
    if (!agentProblem || !isAgentError(error) || error.exitCode === ExitCode.usage) throw error;
    // Both ways failed: the agent's reason comes first, since a running agent is what was meant.
    throw new AgentError(`${agentProblem.problem}${agentProblem.fix ? ` (fix: ${agentProblem.fix})` : ''}; reading the profile directly failed too: ${error.message}`, {
      exitCode: ExitCode.credentialsUnavailable,
      code: agentProblem.code,
    });
  }
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
      `credentials ${deps.role === undefined ? `for profile ${settings.profile}` : `of role ${deps.role}`} (key ${maskKeyId(generation.credentials.accessKeyId)}) expired at ${new Date(generation.expiresAt).toISOString()}` +
        (generation.expirySource === 'estimated' ? ` (estimated: file written + validity ${settings.validity / 1000}s)` : ''),
      { exitCode: ExitCode.credentialsUnavailable, code: 'expired' },
    );
  }
  return { generation: reading.current, state: reading.state };
}
