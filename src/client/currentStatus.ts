import type { Settings } from '../config/settingsSchema.js';
import type { CredentialSource } from '../credentials.js';
import { ExitCode, isAgentError } from '../errors.js';
import type { Clock } from '../clock.js';
import { describeTracker, type InstanceReport, type StatusReport } from '../tracker/describeTracker.js';
import { classifyReading, type Reading } from '../tracker/classifyReading.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { findRunningAgent, get } from '../agent/agentClient.js';
import { statusUrl } from '../agent/contract.js';

/**
 * The `status` report: the running agent's GET /v1/status when it answers, else one direct
 * reading of the source judged the same way. `usable` is whether credentials can be served.
 */
export async function currentStatus(settings: Settings, deps: { source: CredentialSource; clock: Clock; agentTrust: CheckTrust; instance?: InstanceReport }): Promise<{ status: StatusReport; usable: boolean }> {
  const { status, usable } = await agentOrDirectStatus(settings, deps);
  return { status: deps.instance ? { ...status, instance: deps.instance } : status, usable };
}

async function agentOrDirectStatus(settings: Settings, deps: { source: CredentialSource; clock: Clock; agentTrust: CheckTrust }): Promise<{ status: StatusReport; usable: boolean }> {
  const agent = await findRunningAgent(settings.stateDir, deps.agentTrust);
  const fromAgent = agent ? await get(statusUrl(agent.discovery.url), { authorization: agent.token }, 3_000).catch(() => undefined) : undefined;
  if (fromAgent?.status === 200) {
    const status = JSON.parse(fromAgent.body) as StatusReport;
    return { status, usable: Boolean(status.current) };
  }
  let reading: Reading;
  try {
    reading = { sourced: await deps.source() };
  } catch (error) {
    if (!isAgentError(error) || error.exitCode === ExitCode.usage) throw error;
    reading = { failure: { code: error.code, message: error.message } };
  }
  const classified = classifyReading(reading, { clock: deps.clock, timings: settings });
  const status = describeTracker(classified.view, deps.clock.now(), { profile: settings.profile, mode: 'direct' });
  return { status, usable: Boolean(classified.current) };
}
