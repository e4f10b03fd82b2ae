import { stat } from 'node:fs/promises';
import { finding, type Finding } from '../findings.js';
import { discoveryPath, tokenPath, type AgentDiscovery } from '../agent/contract.js';
import { lookUpAgent } from '../agent/agentClient.js';
import { loopbackGet } from '../agent/loopbackGet.js';
import type { DoctorDeps } from './types.js';

const START_FIX = 'start it: `appstream-creds service start` (or `appstream-creds serve` in a terminal)';

/** The running agent (discovery file, endpoint answering with credentials) and its token file. */
export async function checkAgent(deps: DoctorDeps): Promise<Finding[]> {
  const { stateDir } = deps.settings;
  const findings: Finding[] = [];
  findings.push(...(await checkTokenFile(tokenPath(stateDir), deps)));
  if (!deps.expectAgent) return findings;
  // The same trusted lookup the clients use: doctor never sends the token to an address from a
  // file another account could have written.
  const found = deps.agentTrust ? await lookUpAgent(stateDir, deps.agentTrust, undefined, { strict: deps.settings.strictPermissions }) : { problem: 'untrusted' as const, detail: 'no ownership rule was given for agent.json' };
  if (!('agent' in found)) {
    if (found.problem === 'untrusted' || found.problem === 'bad-url') {
      findings.push(finding('error', 'agent-untrusted', 'agent', `${found.detail}; clients ignore it and never send it the token`, `remove ${discoveryPath(stateDir)} and make the state folder root's (or the agent's user's), writable by nobody else; then restart the agent`));
    } else if (found.problem === 'squatted') {
      findings.push(finding('error', 'port-held', 'agent', found.detail, "see the port finding: another process holds the agent's port"));
    } else if (found.problem === 'token-unreadable') {
      findings.push(finding('error', 'token-unreadable', 'agent', found.detail, `run as a member of the token's group${deps.settings.tokenGroup ? ` (${deps.settings.tokenGroup})` : ''}, or as the agent's user`));
    } else {
      findings.push(finding('error', 'agent-down', 'agent', found.detail, START_FIX));
    }
    return findings;
  }
  const { discovery, token } = found.agent;
  findings.push(...(await checkRoleTokenFiles(discovery, deps)));
  const answer = await loopbackGet(discovery.credentialsUrl, { authorization: token }, 3_000).catch((error: Error) => ({ status: 0, body: error.message }));
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

/**
 * Each named role's token file (agent.json roleTokenFiles). Its users read it through POSIX ACL
 * entries, which show as group bits (the mask) in the mode: 0600 for a role that names users
 * besides root means the agent could not set the ACL (no setfacl, a file system without ACLs),
 * so those users cannot use the role; world-readable is only right for a role open to `*`.
 */
async function checkRoleTokenFiles(discovery: AgentDiscovery, deps: DoctorDeps): Promise<Finding[]> {
  if (deps.platform === 'win32' || !discovery.roleTokenFiles) return [];
  const findings: Finding[] = [];
  for (const [name, file] of Object.entries(discovery.roleTokenFiles)) {
    const info = await stat(file).catch(() => undefined);
    if (!info) continue; // recreated within a second by the agent
    const users = deps.settings.roles.get(name)?.allowUsers ?? deps.settings.allowUsers;
    const mode = info.mode & 0o777;
    const octal = mode.toString(8).padStart(3, '0');
    if (users.includes('*')) continue;
    if (mode & 0o007) {
      findings.push(finding('error', 'role-token-world-readable', 'token-file', `${file} (role ${name}) is readable by every user (mode ${octal}), but the role's users are ${users.join(', ') || 'root and the agent only'}`, 'restart the agent: it writes the role token files afresh, readable by exactly the role\'s users'));
    } else if ((mode & 0o070) === 0 && users.some((user) => user !== 'root' && user !== '0')) {
      findings.push(
        finding('error', 'role-token-no-acl', 'token-file', `${file} (role ${name}) is readable by its owner only (mode ${octal}, no ACL entries): ${users.join(', ')} cannot use the role`, 'install the acl package (setfacl) and use a file system with POSIX ACLs for the state folder, then restart the agent; its log says why the ACL was not set'),
      );
    } else {
      findings.push(finding('info', 'ok', 'token-file', `${file} (role ${name}) mode ${octal}`, 'none needed'));
    }
  }
  return findings;
}
