import type { Settings } from '../config/settingsSchema.js';
import type { CredentialSource } from '../credentials.js';
import { ExitCode, isAgentError } from '../errors.js';
import type { Clock } from '../clock.js';
import { describeTracker, type InstanceReport, type StatusReport } from '../tracker/describeTracker.js';
import { classifyReading, type Reading } from '../tracker/classifyReading.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { agentUnusable, lookUpAgent } from '../agent/agentClient.js';
import { loopbackGet } from '../agent/loopbackGet.js';
import { statusUrl } from '../agent/contract.js';

/**
 * The `status` report: the running agent's GET /v1/status when it answers, else one direct
 * reading of the source judged the same way. `usable` is whether credentials can be served.
 */
export async function currentStatus(settings: Settings, deps: { source: CredentialSource; clock: Clock; agentTrust: CheckTrust; instance?: InstanceReport }): Promise<{ status: StatusReport; usable: boolean }> {
  const { status, usable } = await agentOrDirectStatus(settings, deps);
  return { status: deps.instance ? { ...status, instance: deps.instance } : status, usable };
}

/** The running agent's own report (GET /v1/status), or why an agent that is there gave none. */
export async function agentStatus(stateDir: string, trust: CheckTrust, strict = true): Promise<{ status: StatusReport } | { problem?: string }> {
  const found = await lookUpAgent(stateDir, trust, undefined, { strict });
  if (agentUnusable(found)) return { problem: `${found.detail}${found.fix ? ` (fix: ${found.fix})` : ''}` };
  if (!('agent' in found)) return {};
  const { discovery, token } = found.agent;
  const answer = await loopbackGet(statusUrl(discovery.url), { authorization: token }, 3_000).catch((error: NodeJS.ErrnoException) => error);
  if (answer instanceof Error) return { problem: `the agent (pid ${discovery.pid}) at ${discovery.url} did not answer (${answer.code ?? answer.message})` };
  if (answer.status !== 200) return { problem: `the agent (pid ${discovery.pid}) at ${discovery.url} answered HTTP ${answer.status} to ${statusUrl(discovery.url)}` };
  try {
    return { status: JSON.parse(answer.body) as StatusReport };
  } catch {
    return { problem: `the agent (pid ${discovery.pid}) sent a status this tool cannot read` };
  }
}

async function agentOrDirectStatus(settings: Settings, deps: { source: CredentialSource; clock: Clock; agentTrust: CheckTrust }): Promise<{ status: StatusReport; usable: boolean }> {
  const fromAgent = await agentStatus(settings.stateDir, deps.agentTrust, settings.strictPermissions);
  if ('status' in fromAgent) return { status: fromAgent.status, usable: Boolean(fromAgent.status.current) };
  let reading: Reading;
  try {
    reading = { sourced: await deps.source() };
  } catch (error) {
    if (!isAgentError(error) || error.exitCode === ExitCode.usage) throw error;
    reading = { failure: { code: error.code, message: error.message } };
  }
  const classified = classifyReading(reading, { clock: deps.clock, timings: settings });
  const status = describeTracker(classified.view, deps.clock.now(), { profile: settings.profile, mode: 'direct' });
  return { status: fromAgent.problem ? { ...status, agentProblem: fromAgent.problem } : status, usable: Boolean(classified.current) };
}
