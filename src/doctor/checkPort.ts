import { readFile } from 'node:fs/promises';
import { finding, type Finding } from '../findings.js';
import { processAlive, readDiscovery } from '../agent/discovery.js';
import { discoveryOwner, hostOf, portOf } from '../agent/listenerOwner.js';
import { LOOPBACK_ADDRESS, type AgentDiscovery } from '../agent/contract.js';
import { listenerOwners, type ReadText } from '../network/procNetTcp.js';
import { describeUid } from '../localAccounts.js';
import { describeRoute, SOCK_DIAG_ROUTE } from '../network/linuxPeerLookup.js';
import type { DoctorDeps } from './types.js';

const readLatin1: ReadText = (file) => readFile(file, 'latin1');

/**
 * Port squatting: a process that is not the agent holding the agent's port receives the token
 * from every client that trusts the fixed port (SDKs given AWS_CONTAINER_CREDENTIALS_FULL_URI).
 * Linux reads the listener's owner from /proc/net/tcp; Windows cannot without native code.
 */
export async function checkPort(deps: DoctorDeps): Promise<Finding[]> {
  const discovery = await readDiscovery(deps.settings.stateDir);
  const alive = discovery !== undefined && processAlive(discovery.pid);
  const port = alive ? portOf(discovery.url) : deps.settings.port;
  // IMDS's own port: a squatter there hands IMDS callers credentials of its choosing.
  const imdsPort = alive ? (discovery.imdsEndpoint ? portOf(discovery.imdsEndpoint) : undefined) : deps.settings.imds ? deps.settings.imdsPort : undefined;
  const findings: Finding[] = [];
  for (const [which, number] of [['port', port], ['IMDS port', imdsPort]] as const) {
    if (!number) continue;
    if (deps.platform !== 'linux') {
      findings.push(finding('info', 'port-owner-unknown', 'port', `the owner of ${which} ${number} cannot be read on ${deps.platform} (no native code)`, 'none possible here; the service restarts the agent 1 s after a failure, which keeps the window for a squatter short'));
      continue;
    }
    findings.push(...(await checkOnePort(deps, which, number, alive ? discovery : undefined)));
  }
  return findings;
}

async function checkOnePort(deps: DoctorDeps, which: 'port' | 'IMDS port', port: number, running: AgentDiscovery | undefined): Promise<Finding[]> {
  const read = deps.readProc ?? readLatin1;
  // Only listeners that receive connections to the agent's address (its own, or a wildcard).
  const owners = await listenerOwners(read, port, running ? hostOf(running.url) : LOOPBACK_ADDRESS);
  if (owners.length === 0) return [];
  const agentUid = running ? await discoveryOwner(deps.settings.stateDir) : undefined;
  const allowed = new Set([0, ...(agentUid === undefined ? [] : [agentUid])]);
  const strangers = owners.filter((uid) => !allowed.has(uid));
  const who = (await Promise.all(strangers.map((uid) => describeUid(read, uid)))).join(', ');
  const fix = `find it with \`ss -ltnp 'sport = :${port}'\`, stop it, then restart the agent (\`appstream-creds service start\`)`;
  const harm = which === 'port' ? 'clients that use the fixed port would send it the token' : 'IMDS callers would take credentials from it';
  if (strangers.length > 0) {
    return [finding('error', 'port-held', 'port', `${which} ${port} is held by ${who}, ${running ? `not by the agent (pid ${running.pid})` : 'while no agent runs'}: ${harm}`, fix)];
  }
  if (!running) return [finding('warning', 'port-held', 'port', `${which} ${port} is held by root while no agent runs: the agent cannot start on it`, fix)];
  return [finding('info', 'ok', 'port', `${which} ${port} is held by the agent's user`, 'none needed')];
}

/** Which calling-user lookup the agent can use here (README "Security model"). */
export async function checkCallerLookup(deps: DoctorDeps): Promise<Finding[]> {
  if (!deps.callerLookup) return [];
  const route = await deps.callerLookup();
  if (route.route === SOCK_DIAG_ROUTE) return [finding('info', 'ok', 'callers', `caller lookup: ${describeRoute(route)}`, 'none needed')];
  return [
    finding(
      'warning',
      'caller-lookup-fallback',
      'callers',
      `caller lookup: ${describeRoute(route)}; a user who fills the socket table (TIME_WAIT needs no open file) slows every new connection's check`,
      'allow netlink sock_diag to the agent (seccomp/container policy, the inet_diag and tcp_diag kernel modules) and keep the koffi module beside the agent (dist/native)',
    ),
  ];
}

/** What `--imds` exposes, and to whom. */
export function checkImdsExposure(deps: DoctorDeps): Finding[] {
  const { imds, allowUsers } = deps.settings;
  if (!imds) return [];
  if (allowUsers.includes('*')) {
    return [finding('warning', 'imds-open', 'imds', 'IMDS emulation is on and allowUsers is *: every local user, the streaming user included, can get the machine role through it', 'list only the users that need it in allowUsers, or turn imds off and use the container endpoint with the token')];
  }
  // Windows reads the caller through the same native module as the ownership rule (trustRoute).
  const callerReadable = deps.platform === 'linux' || (deps.platform === 'win32' && deps.trustRoute?.route === 'native');
  if (!callerReadable) {
    return [finding('warning', 'imds-refuses-all', 'imds', `IMDS emulation is on, but the calling user cannot be read on ${deps.platform}: it refuses every caller`, 'use the container endpoint (`appstream-creds exec`, or AWS_CONTAINER_CREDENTIALS_FULL_URI with the token file), or set allowUsers to * to open IMDS to every local user')];
  }
  if (allowUsers.length === 0) {
    return [finding('warning', 'imds-no-allow-users', 'imds', `IMDS emulation is on and allowUsers is empty: only root, the agent's user${deps.settings.tokenGroup ? ` and members of ${deps.settings.tokenGroup}` : ''} get credentials through it; other users' tools get 403`, 'add the users whose tools need IMDS to allowUsers (e.g. "allowUsers": ["as2-streaming-user"]), or point those tools at the container endpoint')];
  }
  return [finding('info', 'ok', 'imds', `IMDS emulation answers root, the agent's user${deps.settings.tokenGroup ? `, members of ${deps.settings.tokenGroup}` : ''} and ${allowUsers.join(', ')}`, 'none needed')];
}
