import { readRegularFileSync } from '../readRegularFile.js';
import type { Credentials } from '../credentials.js';
import { MAX_AGENT_FILE_BYTES, processAlive, readDiscovery } from './discovery.js';
import { discoveryPath, type AgentDiscovery } from './contract.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { refusalMessage } from '../trust/checkPathTrust.js';
import { discoveryOwner, verifyAgentListener, type ListenerDeps } from './listenerOwner.js';
import { windowsApi } from '../native/win32/windowsSecurity.js';
import { parseSecurityDescriptor } from '../native/win32/securityDescriptor.js';
import { printableField } from '../terminalText.js';
import { loopbackGet } from './loopbackGet.js';

export interface AgentCredentials {
  credentials: Credentials & { expiration: Date };
  discovery: AgentDiscovery;
}

export interface RunningAgent {
  discovery: AgentDiscovery;
  token: string;
  /** The file the token came from: the machine role's, or a named role's own. */
  tokenFile: string;
}

/**
 * A literal loopback address: 127.0.0.0/8 or [::1], plain http, no user info. Not "localhost":
 * a name resolves through files and services another account may influence.
 */
export function isLoopbackUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || url.username || url.password) return false;
  return url.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
}

/** The token file's content; an error when it cannot be read (sync: a 64-byte file, read by every client start). */
function readToken(file: string): string | NodeJS.ErrnoException {
  try {
    return readRegularFileSync(file, MAX_AGENT_FILE_BYTES).toString('utf8').trim();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

export interface LookUpOptions {
  /** strictPermissions: false sends the token to a listener whose owner cannot be found (default true). */
  strict?: boolean;
}

/** Windows with the native route: the TCP table and process users, and agent.json's owner SID. */
function windowsListenerDeps(discoveryFile: string): ListenerDeps['windows'] {
  if (process.platform !== 'win32') return undefined;
  const load = windowsApi();
  if (!load.ok) return undefined;
  let agentOwner: string | undefined;
  try {
    agentOwner = parseSecurityDescriptor(load.api.readSecurity(discoveryFile)).owner;
  } catch {
    agentOwner = undefined; // then only SYSTEM passes as the listener
  }
  return { api: load.api, agentOwner };
}

/** Why agent.json was not used, for doctor; clients just fall back to the profile. */
export type AgentLookup = { agent: RunningAgent } | { problem: 'missing' | 'untrusted' | 'dead' | 'bad-url' | 'token-unreadable' | 'squatted'; detail: string; fix?: string };

/**
 * The agent described by <state-dir>/agent.json, if it can be trusted and is alive. agent.json
 * and the token file must pass the ownership rule (owned by root or the agent's account and
 * writable by nobody else, nor any folder above them): another account could otherwise point
 * clients, and the token they send, at its own listener. Every URL in it must be a literal
 * loopback address. The token is read only after all of that holds.
 */
export async function lookUpAgent(stateDir: string, trust: CheckTrust, role?: string, options: LookUpOptions = {}): Promise<AgentLookup> {
  const file = discoveryPath(stateDir);
  const refusal = await trust(file);
  if (refusal) return { problem: 'untrusted', detail: refusalMessage(refusal) };
  const discovery = await readDiscovery(stateDir);
  if (!discovery) return { problem: 'missing', detail: `no agent is running (no usable ${file})` };
  const urls = [discovery.url, discovery.credentialsUrl, ...(discovery.imdsEndpoint === null || discovery.imdsEndpoint === undefined ? [] : [discovery.imdsEndpoint])];
  if (!urls.every(isLoopbackUrl)) return { problem: 'bad-url', detail: `${file} names an address that is not a literal loopback address; it is ignored` };
  if (!processAlive(discovery.pid)) return { problem: 'dead', detail: `agent.json names pid ${discovery.pid}, which is not running (the agent stopped uncleanly)` };
  // A named role has its own token file (an agent older than roleTokenFiles took the machine token).
  const tokenFile = role === undefined || !discovery.roleTokenFiles ? discovery.tokenFile : Object.hasOwn(discovery.roleTokenFiles, role) ? discovery.roleTokenFiles[role] : undefined;
  if (typeof tokenFile !== 'string') return { problem: 'missing', detail: `the agent (pid ${discovery.pid}) serves no role named ${role}` };
  const tokenRefusal = await trust(tokenFile);
  if (tokenRefusal) return { problem: 'untrusted', detail: refusalMessage(tokenRefusal) };
  const token = readToken(tokenFile);
  if (token instanceof Error || !token) {
    const why = token instanceof Error ? (token.code === 'EACCES' || token.code === 'EPERM' ? 'is not readable by this user' : `cannot be read (${token.code === 'file-refused' ? token.message : (token.code ?? token.message)})`) : 'is empty';
    const fix = !token
      ? 'restart the agent so it writes a new token'
      : role !== undefined && tokenFile !== discovery.tokenFile
        ? `only the role's users may read it: an administrator adds this user to allowUsers of role ${role} (setting roles) and restarts the agent`
        : "run as root, the agent's user or a member of the token's group (the tokenGroup setting of the agent); for a named role use --role, which reads that role's own token";
    return {
      problem: 'token-unreadable',
      detail: `the agent (pid ${discovery.pid}) is running, but ${role !== undefined && tokenFile !== discovery.tokenFile ? `the token file of role ${role}` : 'its token file'} ${tokenFile} ${why}`,
      fix,
    };
  }
  // Port squatting: the token goes only to a listener held by root or agent.json's owner (a live
  // pid is not enough: after an unclean stop the pid may have been reused by anyone).
  // IMDS's own port gets the same check: a squatter there would hand IMDS callers (exec's
  // AWS_EC2_METADATA_SERVICE_ENDPOINT) credentials of its choosing.
  const owner = await discoveryOwner(stateDir);
  const windows = windowsListenerDeps(file);
  for (const url of discovery.imdsEndpoint ? [discovery.credentialsUrl, discovery.imdsEndpoint] : [discovery.credentialsUrl]) {
    const listener = await verifyAgentListener(url, owner, { platform: process.platform, windows });
    if (listener.ok === false) return { problem: 'squatted', detail: `${listener.reason}; the token was not sent` };
    // Windows: a listener whose owner cannot be found may be a squatter; strictPermissions=false
    // (rigs that cannot report owners: Wine) sends the token anyway.
    if (listener.ok === 'unknown' && listener.checked && options.strict !== false) return { problem: 'squatted', detail: `${listener.reason}; the token was not sent (strictPermissions=false sends it anyway)` };
  }
  return { agent: { discovery, token, tokenFile } };
}

/**
 * Problems that mean an agent is there but this caller cannot use it; the others (missing,
 * dead, bad-url) mean there is no agent at all.
 */
export const agentUnusable = (found: AgentLookup): found is Extract<AgentLookup, { problem: string }> & { problem: 'untrusted' | 'token-unreadable' } =>
  'problem' in found && (found.problem === 'token-unreadable' || found.problem === 'untrusted');

/** The agent's answer: credentials, or what it said instead (its 503 {code, message}, or no answer). */
export type AgentAnswer = { credentials: AgentCredentials['credentials'] } | { problem: string; code: string };

export async function askAgent(agent: RunningAgent, timeoutMs = 3_000, url = agent.discovery.credentialsUrl): Promise<AgentAnswer> {
  const who = `the agent (pid ${agent.discovery.pid}) at ${agent.discovery.url}`;
  const response = await loopbackGet(url, { authorization: agent.token }, timeoutMs).catch((error: NodeJS.ErrnoException) => error);
  if (response instanceof Error) return { problem: `${who} did not answer (${response.code ?? response.message})`, code: 'agent-no-answer' };
  if (response.status === 200) {
    const parsed = parseCredentials(response.body);
    return parsed ? { credentials: parsed } : { problem: `${who} sent credentials this tool cannot read`, code: 'agent-bad-answer' };
  }
  let said: { code?: unknown; message?: unknown } = {};
  try {
    said = JSON.parse(response.body) as typeof said;
  } catch {
    // not JSON: the status alone is reported
  }
  const message = typeof said.message === 'string' ? printableField(said.message).slice(0, 300) : `HTTP ${response.status}`;
  const code = typeof said.code === 'string' && /^[a-z-]{1,40}$/.test(said.code) ? said.code : `http-${response.status}`;
  return { problem: `${who} says: ${message}`, code };
}

/** The running agent, or undefined ("no agent": callers read the profile directly). */
export async function findRunningAgent(stateDir: string, trust: CheckTrust): Promise<RunningAgent | undefined> {
  const found = await lookUpAgent(stateDir, trust);
  return 'agent' in found ? found.agent : undefined;
}

/** Asks the running agent for credentials (the machine role's, or `url`'s); undefined when it has none or does not answer. */
export async function fetchFromAgent(agent: RunningAgent, timeoutMs = 3_000, url = agent.discovery.credentialsUrl): Promise<AgentCredentials | undefined> {
  const response = await loopbackGet(url, { authorization: agent.token }, timeoutMs).catch(() => undefined);
  if (!response || response.status !== 200) return undefined;
  const credentials = parseCredentials(response.body);
  return credentials ? { discovery: agent.discovery, credentials } : undefined;
}

function parseCredentials(text: string): AgentCredentials['credentials'] | undefined {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const { AccessKeyId, SecretAccessKey, Token, Expiration, AccountId, RoleArn } = body;
    if (typeof AccessKeyId !== 'string' || typeof SecretAccessKey !== 'string' || typeof Expiration !== 'string') return undefined;
    return {
        accessKeyId: AccessKeyId,
        secretAccessKey: SecretAccessKey,
        ...(typeof Token === 'string' && Token ? { sessionToken: Token } : {}),
        expiration: new Date(Expiration),
        ...(typeof AccountId === 'string' ? { accountId: AccountId } : {}),
        ...(typeof RoleArn === 'string' ? { roleArn: RoleArn } : {}),
    };
  } catch {
    return undefined;
  }
}
