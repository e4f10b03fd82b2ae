import { finding, type Finding } from '../findings.js';
import { checkAgent } from './checkAgent.js';
import { checkCredentials } from './checkCredentials.js';
import { checkNetwork } from './checkNetwork.js';
import { checkTrust } from './checkTrust.js';
import { checkInstance } from './checkInstance.js';
import { checkCallerLookup, checkImdsExposure, checkPort } from './checkPort.js';
import type { DoctorContext, DoctorDeps } from './types.js';

/** Runs every check in pipeline order; later checks use what earlier ones learned. */
export async function runDoctor(deps: DoctorDeps): Promise<Finding[]> {
  const context: DoctorContext = {};
  const credentials = await checkCredentials(deps, context);
  const findings = [...checkInstance(deps), ...credentials, ...(await checkTrust(deps)), ...(await checkNetwork(deps, context)), ...(await checkAgent(deps)), ...(await checkPort(deps)), ...(await checkCallerLookup(deps)), ...checkImdsExposure(deps)];
  if (deps.serviceStatus) {
    const status = await deps.serviceStatus().catch((error: Error) => ({ state: 'unknown' as const, detail: error.message }));
    // An agent that answers is what matters; how it was started (service, terminal) is detail.
    const agentServing = findings.some((f) => f.path === 'agent' && f.code === 'ok');
    if (status.state === 'running') findings.push(finding('info', 'ok', 'service', status.detail, 'none needed'));
    else if (status.state === 'stopped') findings.push(finding(deps.expectAgent && !agentServing ? 'error' : 'warning', 'service-stopped', 'service', status.detail, '`appstream-creds service start`; if it stops again, read the log under <state-dir>/logs'));
    else if (agentServing) findings.push(finding('info', 'service-' + status.state, 'service', `${status.detail} (the agent runs outside the service)`, 'none needed'));
    else if (status.state === 'not-installed') findings.push(finding('warning', 'service-not-installed', 'service', status.detail, 'install it: `appstream-creds service install` (as administrator/root)'));
    else findings.push(finding('warning', 'service-unknown', 'service', status.detail, 'check the service manager (systemctl status appstream-credential-agent / services.msc)'));
  }
  return findings;
}
