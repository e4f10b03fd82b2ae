import { readFile, stat } from 'node:fs/promises';
import { finding, type Finding } from '../findings.js';
import { processAlive, readDiscovery } from '../agent/discovery.js';
import { discoveryPath, tokenPath } from '../agent/contract.js';
import { get } from '../agent/agentClient.js';
import type { DoctorDeps } from './types.js';

const START_FIX = 'start it: `appstream-creds service start` (or `appstream-creds serve` in a terminal)';

/** The running agent (discovery file, endpoint answering with credentials) and its token file. */
export async function checkAgent(deps: DoctorDeps): Promise<Finding[]> {
  const { stateDir } = deps.settings;
  const findings: Finding[] = [];
  findings.push(...(await checkTokenFile(tokenPath(stateDir), deps)));
  if (!deps.expectAgent) return findings;
  const discovery = await readDiscovery(stateDir);
  if (!discovery) {
    findings.push(finding('error', 'agent-down', 'agent', `no agent is running (no ${discoveryPath(stateDir)})`, START_FIX));
    return findings;
  }
  if (!processAlive(discovery.pid)) {
    findings.push(finding('error', 'agent-down', 'agent', `agent.json names pid ${discovery.pid}, which is not running (the agent stopped uncleanly)`, START_FIX));
    return findings;
  }
  const token = await readFile(discovery.tokenFile, 'utf8').then((t) => t.trim(), () => undefined);
  if (!token) {
    findings.push(finding('error', 'token-unreadable', 'agent', `cannot read the token file ${discovery.tokenFile}`, `run as a member of the token's group${deps.settings.tokenGroup ? ` (${deps.settings.tokenGroup})` : ''}, or as the agent's user`));
    return findings;
  }
  const answer = await get(discovery.credentialsUrl, { authorization: token }, 3_000).catch((error: Error) => ({ status: 0, body: error.message }));
  if (answer.status === 200) {
    findings.push(finding('info', 'ok', 'agent', `pid ${discovery.pid} serves credentials at ${discovery.credentialsUrl}`, 'none needed'));
  } else {
    // The 503 body is {code, message} with no secret; other failures are connection errors.
    const reason = answer.status === 0 ? `no answer (${answer.body})` : `HTTP ${answer.status}`;
    findings.push(finding('error', 'agent-unhealthy', 'agent', `pid ${discovery.pid} at ${discovery.credentialsUrl}: ${reason}`, 'see `appstream-creds status` and the agent log for the cause'));
  }
  return findings;
}

async function checkTokenFile(file: string, deps: DoctorDeps): Promise<Finding[]> {
  if (deps.platform === 'win32') return []; // ACLs are set by the installer; mode bits mean nothing there
  const info = await stat(file).catch(() => undefined);
  if (!info) return deps.expectAgent ? [finding('warning', 'no-token', 'token-file', `${file} does not exist`, START_FIX)] : [];
  const mode = info.mode & 0o777;
  const octal = mode.toString(8).padStart(3, '0');
  if (mode & 0o007) {
    return [finding('error', 'token-world-readable', 'token-file', `${file} is readable by every user (mode ${octal})`, `chmod 600 ${file} (or 640 with the token group), then restart the agent so it issues a new token`)];
  }
  if (mode & 0o070 && !deps.settings.tokenGroup) {
    return [finding('warning', 'token-group-readable', 'token-file', `${file} is group-readable (mode ${octal}) but no tokenGroup is configured`, `chmod 600 ${file}, or set tokenGroup to the group meant to read it`)];
  }
  return [finding('info', 'ok', 'token-file', `${file} mode ${octal}`, 'none needed')];
}
