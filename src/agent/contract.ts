/**
 * The agent's public contract, named once: HTTP routes, state-dir file names, the discovery
 * file's shape and the defaults users rely on. Changing a value here is a breaking change for
 * every script and installed service (see docs/contract.md).
 */
import path from 'node:path';

/** The profile AppStream writes; WorkSpaces Pools writes WORKSPACES_PROFILE with the same wording. */
export const DEFAULT_PROFILE = 'appstream_machine_role';
export const WORKSPACES_PROFILE = 'workspaces_machine_role';

/** The daemon binds this address only. */
export const LOOPBACK_ADDRESS = '127.0.0.1';
/**
 * The default port, by platform. Linux: 920, below 1024 so only root or a process granted
 * CAP_NET_BIND_SERVICE can listen there (the service unit grants it to a non-root agent user):
 * while the agent is down (upgrade, crash, restart) no other local user can take the port and
 * receive the token from SDKs that only know AWS_CONTAINER_CREDENTIALS_FULL_URI. 920 is
 * unassigned by IANA (the 914-952 block) and in no common service's use; it keeps the old
 * 9920's digits. Windows has no privileged ports: 9920 there, with the client-side listener
 * check. `--port` / `port` still take any port (0 = ephemeral).
 */
export const LINUX_DEFAULT_PORT = 920;
export const WINDOWS_DEFAULT_PORT = 9920;
export const defaultPort = (platform: NodeJS.Platform): number => (platform === 'win32' ? WINDOWS_DEFAULT_PORT : LINUX_DEFAULT_PORT);
/**
 * IMDS emulation listens on a port of its own (setting `imdsPort`), so unauthenticated IMDS
 * callers and token holders never share an accept queue: a flood of connections to IMDS fills
 * only IMDS's queue (issue 19). Unset, it is the next port: 921 on Linux (privileged like 920,
 * also in IANA's unassigned 914-952 block, in no common service's use), 9921 on Windows; with
 * `port` 0 it is ephemeral too. Undefined when there is no next port (65535): set it then.
 */
export const defaultImdsPort = (port: number): number | undefined => (port === 0 ? 0 : port < 65535 ? port + 1 : undefined);

export const ROUTES = {
  credentials: '/v1/credentials',
  status: '/v1/status',
  health: '/healthz',
  metrics: '/metrics',
  /** A named role's credentials (setting `roles`), container-provider JSON like `credentials`. */
  roleCredentials: '/v1/roles/:name/credentials',
  /** Every IMDS path starts here. */
  imdsRoot: '/latest/',
  imdsToken: '/latest/api/token',
  /** Followed by the role name; without it the answer lists the role. */
  imdsCredentials: '/latest/meta-data/iam/security-credentials/',
} as const;

/** Files in the state dir. */
export const STATE_FILES = {
  discovery: 'agent.json',
  token: 'token',
  lock: 'agent.lock',
  /** Windows: `stop` asks the agent to shut down by writing this (src/agent/stopRequest.ts). */
  stopRequest: 'stop-request',
} as const;

/** `<state-dir>/agent.json`, written atomically by `serve` once it listens. */
export interface AgentDiscovery {
  pid: number;
  url: string;
  credentialsUrl: string;
  tokenFile: string;
  imdsEndpoint: string | null;
  startedAt: string;
  /**
   * Each named role's own token file (setting `roles`), readable by exactly that role's users:
   * the role's route takes only its own token. Absent when no roles are configured (and from
   * agents older than this field).
   */
  roleTokenFiles?: Record<string, string>;
}

export const agentUrl = (port: number): string => `http://${LOOPBACK_ADDRESS}:${port}`;
export const credentialsUrl = (baseUrl: string): string => `${baseUrl}${ROUTES.credentials}`;
/** The container endpoint of a named role. */
export const roleCredentialsUrl = (baseUrl: string, role: string): string => `${baseUrl}${ROUTES.roleCredentials.replace(':name', encodeURIComponent(role))}`;
export const statusUrl = (baseUrl: string): string => `${baseUrl}${ROUTES.status}`;

/** Paths in a state dir; pathModule lets the service installer build Windows paths on Linux. */
export const discoveryPath = (stateDir: string, pathModule: path.PlatformPath = path): string => pathModule.join(stateDir, STATE_FILES.discovery);
export const tokenPath = (stateDir: string, pathModule: path.PlatformPath = path): string => pathModule.join(stateDir, STATE_FILES.token);
/** `<state-dir>/role-<name>.token`: role names are a file-safe charset (config/roleSettings.ts). */
export const roleTokenPath = (stateDir: string, role: string, pathModule: path.PlatformPath = path): string => pathModule.join(stateDir, `role-${role}.token`);
export const lockPath = (stateDir: string, pathModule: path.PlatformPath = path): string => pathModule.join(stateDir, STATE_FILES.lock);
export const stopRequestPath = (stateDir: string, pathModule: path.PlatformPath = path): string => pathModule.join(stateDir, STATE_FILES.stopRequest);
