import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../clock.js';
import type { Settings } from '../config/settingsSchema.js';
import type { WatchedSource } from '../credentials.js';
import { AgentError, ExitCode } from '../errors.js';
import type { Logger } from '../log/createLogger.js';
import { eniCriteria } from '../network/evaluateEni.js';
import type { EniVerdict, ReadNetwork } from '../network/types.js';
import { waitForNetwork } from '../network/waitForNetwork.js';
import { createAgentServer, type RouteCallers } from '../http/createAgentServer.js';
import type { PeerUser } from '../http/peerUser.js';
import type { WindowsCallerSids } from '../http/callerGuard.js';
import { readFile } from 'node:fs/promises';
import { listenerOwners } from '../network/procNetTcp.js';
import { describeUid } from '../localAccounts.js';
import { capConnections, MAX_CONNECTIONS } from '../http/capConnections.js';
import { Tracker } from '../tracker/Tracker.js';
import { CredentialRefresher } from './CredentialRefresher.js';
import { groupId } from './groupId.js';
import { prepareOwnFolder, type OwnFolderRule } from './ownFolder.js';
import { refusalMessage } from '../trust/checkPathTrust.js';
import { acquireStateLock, removeDiscovery, writeDiscovery, writeTokenFile } from '../agent/discovery.js';
import { agentUrl, credentialsUrl, LOOPBACK_ADDRESS, tokenPath, type AgentDiscovery } from '../agent/contract.js';
import { stat } from 'node:fs/promises';
import { roleRoutes } from '../http/roleRoutes.js';
import type { TemplateValues } from '../identity/templateIdentity.js';
import { RoleRefreshers } from './roleRefreshers.js';
import { createRoleTokens } from './roleTokens.js';
import { RequestCounters } from '../http/requestCounters.js';
import type { TrackerView } from '../tracker/types.js';
import type { SendMetrics } from '../fleetMetrics/MetricsPublisher.js';
import { fleetPublisher } from './fleetPublisher.js';
import { keptToken } from './keptToken.js';
import type { VerifyCredentials } from '../aws/fromStsVerification.js';
import { verifiedSource } from './verifiedSource.js';

export interface DaemonDeps {
  settings: Settings;
  clock: Clock;
  logger: Logger;
  /** Any source: read on start, on a change of what it watches, on schedule and ahead of expiry. */
  source: WatchedSource;
  readNetwork: ReadNetwork;
  /** Resolves when the daemon should stop (SIGINT/SIGTERM in production). */
  stopSignal: Promise<string>;
  /** Resolves on a second stop request: drop connections instead of waiting for them. */
  forceStop?: Promise<unknown>;
  /** Who holds the client end of a connection (Linux: /proc/net/tcp; Windows: cannot tell). */
  peerUser: PeerUser;
  /** The same for IMDS, an instance of its own (no queue shared with token holders); default peerUser. */
  imdsPeerUser?: PeerUser;
  /** Which caller lookup is in use, for status ("netlink sock_diag", or the fallback and why). */
  callerLookup?: string;
  /** The agent's own uid (undefined on Windows): allowed like root. */
  agentUid: number | undefined;
  /** Windows: the allow rule's SIDs (the agent's account, tokenGroup, name lookup), native route only. */
  windowsCallers?: WindowsCallerSids | undefined;
  /** The ownership rule for the state folder (root or the agent's user, writable by nobody else). */
  folderRule: OwnFolderRule;
  /** Called once the server listens and agent.json is written (tests, service readiness). */
  onReady?: (discovery: AgentDiscovery) => void;
  /** How long a graceful stop waits for open requests before dropping them (default 4 s). */
  shutdownGraceMs?: number;
  /** The identity named roles' templates are filled from, read on each assumption (default: none known). */
  identity?: () => TemplateValues;
  /** Fleet metrics (setting metricsNamespace): where the values go, and their dimensions. */
  /** The agent's environment: HTTPS_PROXY / HTTP_PROXY / NO_PROXY for its STS calls. */
  env?: Readonly<Record<string, string | undefined>>;
  metrics?: { send: (served: TrackerView) => SendMetrics; dimensions: () => Record<string, string> };
  /**
   * Checks a new set with STS before it is served (setting verifyNewCredentials; serve builds it
   * with fromStsVerification). Absent: nothing is verified.
   */
  verifyCredentials?: VerifyCredentials;
}

const SHUTDOWN_GRACE_MS = 4_000;
const TOKEN_CHECK_MS = 500;

/** Recreates a deleted token file; says what happened ('recreated', a failure, or nothing). */
async function keepTokenFile(file: string, write: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await stat(file);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  try {
    await write();
    return 'recreated';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

/**
 * The agent: listen, publish discovery, wait for the ENI, keep the credentials current, and
 * shut down cleanly. The HTTP server answers from the start (503 until credentials exist) so
 * clients and health checks get an honest state during the network wait.
 */
export async function runDaemon(deps: DaemonDeps): Promise<number> {
  const { settings, clock, logger } = deps;
  // The lock comes first, so a refused second agent says one line and touches nothing.
  const loose = await prepareOwnFolder('state folder', settings.stateDir, 0o755, deps.folderRule);
  if (loose) logger.warn(`state folder ${refusalMessage(loose)}; used anyway because strictPermissions is false (fix: ${loose.fix})`);
  const lock = await acquireStateLock(settings.stateDir, undefined, deps.folderRule.acl);
  if ('ownerPid' in lock) {
    throw new AgentError(`another agent (pid ${lock.ownerPid}) is serving from ${settings.stateDir}; stop it or use another --state-dir`, {
      exitCode: ExitCode.runtime,
      code: 'already-running',
    });
  }
  const tracker = new Tracker({ clock, logger, timings: settings, conflictSettleMs: settings.settleTime });
  let network: EniVerdict = { ready: false, reason: 'not checked yet' };
  // Linux keeps the token across restarts (see keptToken): exec children and login shells may hold it.
  const { token, kept: tokenKept } = await keptToken(tokenPath(settings.stateDir), deps.agentUid === undefined ? false : { agentUid: deps.agentUid });
  let tokenGid: number | undefined;
  try {
    tokenGid = settings.tokenGroup && process.platform !== 'win32' ? await groupId(settings.tokenGroup) : undefined;
  } catch (error) {
    await lock.release();
    throw error;
  }
  const roles = new RoleRefreshers({ roles: settings.roles, settings, machine: tracker, identity: deps.identity ?? (() => ({})), clock, logger, env: deps.env ?? {} });
  const roleTokens = await createRoleTokens(settings.roles, {
    stateDir: settings.stateDir,
    platform: process.platform,
    agentUid: deps.agentUid,
    global: { allowUsers: settings.allowUsers, tokenGid },
    readText: (file) => readFile(file, 'utf8'),
    logger,
    acl: deps.folderRule.acl,
  });
  // Between source and tracker: a new set is served only once STS accepted it (or could not judge it).
  const verification =
    deps.verifyCredentials
      ? verifiedSource({ source: deps.source.resolve, verify: deps.verifyCredentials, setting: settings.verifyNewCredentials, clock, logger })
      : undefined;
  const counters = new RequestCounters();
  const publisher = settings.metricsNamespace && deps.metrics ? fleetPublisher({ settings, namespace: settings.metricsNamespace, tracker, roles: roles.entries, counters, clock, logger, ...deps.metrics }) : undefined;
  const servedRoles = new Map(
    [...roles.entries].map(([name, entry]) => {
      const { token: roleToken, access } = roleTokens.get(name)!;
      return [name, { tracker: entry.tracker, token: roleToken, allowUsers: access.allowUsers, tokenGid: access.tokenGid, ownRule: entry.role.allowUsers !== undefined }];
    }),
  );
  const servers = createAgentServer({
    tracker,
    roles: roles.entries,
    counters,
    ...(roles.entries.size > 0 ? { routes: (callers: RouteCallers) => roleRoutes({ roles: servedRoles, machineToken: token }, callers) } : {}),
    token,
    clock,
    logger,
    imds: settings.imds,
    profile: settings.profile,
    roleName: () => tracker.current()?.credentials.roleArn?.split('/').pop() ?? settings.profile,
    statusExtras: () => ({
      network: { ready: network.ready, reason: network.reason, eni: network.eni ?? null },
      ...(roles.entries.size > 0 ? { roles: roles.report(clock.now()) } : {}),
      ...(deps.callerLookup ? { callerLookup: deps.callerLookup } : {}),
      ...(publisher ? { metrics: publisher.report() } : {}),
      ...(verification ? { verification: verification.report() } : {}),
    }),
    callers: {
      peerUser: deps.peerUser,
      ...(deps.imdsPeerUser ? { imdsPeerUser: deps.imdsPeerUser } : {}),
      rule: { agentUid: deps.agentUid, allowUsers: settings.allowUsers, tokenGid, windows: deps.windowsCallers },
      onRefused: (peer) =>
        logger.warn(
          { peer: peer.kind === 'user' ? { uid: peer.uid, name: peer.name ?? null } : peer.kind === 'account' ? { sid: peer.sid } : { reason: peer.reason } },
          'refused a caller that is not an allowed user (once per user)',
        ),
    },
  });

  // Each listener has its own cap: IMDS's idle sockets never push out a token holder's.
  const listening = [servers.agent, ...(servers.imds ? [servers.imds] : [])];
  for (const server of listening) capConnections(server, MAX_CONNECTIONS);

  let port: number;
  let imdsPort: number | undefined;
  try {
    port = await listen(servers.agent, settings.port, 'port');
    if (servers.imds) imdsPort = await listen(servers.imds, settings.imdsPort, 'imdsPort');
  } catch (error) {
    for (const server of listening) server.close();
    await lock.release();
    throw await namePortHolder(error);
  }
  const url = agentUrl(port);
  try {
    for (const role of roleTokens.values()) await role.write();
  } catch (error) {
    for (const server of listening) server.close();
    await lock.release();
    throw error;
  }
  const discovery: AgentDiscovery = {
    pid: process.pid,
    url,
    credentialsUrl: credentialsUrl(url),
    tokenFile: await writeTokenFile(settings.stateDir, token, tokenGid, deps.folderRule.acl),
    imdsEndpoint: imdsPort === undefined ? null : agentUrl(imdsPort),
    startedAt: new Date(clock.now()).toISOString(),
    ...(roleTokens.size > 0 ? { roleTokenFiles: Object.fromEntries([...roleTokens].map(([name, role]) => [name, role.file])) } : {}),
  };
  await writeDiscovery(settings.stateDir, discovery, deps.folderRule.acl);
  tracker.evaluate();
  // The caller-lookup route is named here, once start-up can no longer fail, so a refused start
  // still prints its one-line error alone.
  logger.info({ url, stateDir: settings.stateDir, imds: settings.imds, imdsEndpoint: discovery.imdsEndpoint, profile: settings.profile, tokenKept, ...(deps.callerLookup ? { callerLookup: deps.callerLookup } : {}) }, 'agent listening');
  deps.onReady?.(discovery);

  const stopping = new AbortController();
  let stateTimer: NodeJS.Timeout | undefined;
  let networkTimer: NodeJS.Timeout | undefined;
  let refresher: CredentialRefresher | undefined;
  const scheduleEvaluate = (): void => {
    clearTimeout(stateTimer);
    tracker.evaluate();
    roles.evaluate();
    const next = tracker.nextChangeIn();
    stateTimer = setTimeout(scheduleEvaluate, Math.min(next ?? 60_000, 60_000));
    stateTimer.unref();
  };
  tracker.subscribe(() => {
    if (!stopping.signal.aborted) queueMicrotask(scheduleEvaluate);
  });

  const criteria = eniCriteria(settings);
  const pipeline = (async () => {
    let lastReason = '';
    network = await waitForNetwork({
      readNetwork: deps.readNetwork,
      criteria,
      clock,
      deadline: Number.POSITIVE_INFINITY,
      signal: stopping.signal,
      onProgress: (verdict) => {
        if (verdict.reason !== lastReason) logger.info({ reason: verdict.reason }, `waiting for network: ${verdict.reason}`);
        lastReason = verdict.reason;
      },
    });
    if (stopping.signal.aborted) return;
    logger.info({ eni: network.eni }, 'network ready');
    tracker.setNetworkReady(true);
    refresher = new CredentialRefresher({ source: verification?.resolve ?? deps.source.resolve, tracker, clock, logger, files: deps.source.watch?.files ?? [], refreshInterval: settings.refreshInterval, freshWindowMs: settings.expiryWarning });
    await refresher.start();
    if (stopping.signal.aborted) return;
    // From the first reading on: before it there is nothing to report nor to sign with.
    publisher?.start();
    // Named roles start from the machine role's first generation, then follow its rotations;
    // not awaited: a slow STS must not hold up the machine role's own schedule.
    if (roles.entries.size > 0) void roles.start().catch((error: Error) => logger.error({ err: { message: error.message } }, 'roles failed to start'));
    scheduleEvaluate();
    // Once ready the ENI is re-checked rarely (setting networkCheckInterval, 60 s): no need to poll a settled network.
    const recheck = async (): Promise<void> => {
      // A deadline of now: exactly one check, with the same error handling as the wait.
      const verdict = await waitForNetwork({ readNetwork: deps.readNetwork, criteria, clock, deadline: clock.now() });
      if (verdict.ready !== network.ready) logger[verdict.ready ? 'info' : 'warn']({ reason: verdict.reason }, verdict.ready ? 'network back' : `network lost: ${verdict.reason}`);
      network = verdict;
      if (!stopping.signal.aborted) networkTimer = setTimeout(() => void recheck(), settings.networkCheckInterval).unref();
    };
    networkTimer = setTimeout(() => void recheck(), settings.networkCheckInterval).unref();
  })();
  pipeline.catch((error: Error) => logger.error({ err: { message: error.message } }, 'pipeline failed'));

  // The token file is what clients authenticate with: if something deletes it, it comes back
  // (same token) within a second, rather than clients silently falling back to direct reads.
  const kept = [{ file: discovery.tokenFile, write: () => writeTokenFile(settings.stateDir, token, tokenGid, deps.folderRule.acl), problem: undefined as string | undefined }, ...[...roleTokens.values()].map((role) => ({ file: role.file, write: role.write, problem: undefined as string | undefined }))];
  const tokenKeeper = setInterval(() => {
    for (const entry of kept) {
      void keepTokenFile(entry.file, entry.write).then((outcome) => {
        if (outcome === 'recreated') logger.warn({ tokenFile: entry.file }, 'the token file was deleted; recreated it with the same token');
        // A failure is logged once until it changes, not every half second.
        else if (outcome && outcome !== entry.problem) logger.error({ tokenFile: entry.file }, `the token file was deleted and could not be recreated: ${outcome}`);
        entry.problem = outcome === 'recreated' ? undefined : outcome;
      });
    }
  }, TOKEN_CHECK_MS);
  tokenKeeper.unref();

  const reason = await deps.stopSignal;
  logger.info({ reason }, 'shutting down');
  stopping.abort();
  refresher?.stop();
  roles.stop();
  await publisher?.stop();
  clearTimeout(stateTimer);
  clearTimeout(networkTimer);
  clearInterval(tokenKeeper);
  // Each cleanup step is logged when it fails and never stops the next one: a read-only or
  // vanished state folder must not leave the daemon serving after a stop signal.
  let clean = true;
  const step = async (what: string, run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (error) {
      clean = false;
      logger.error({ step: what, err: { message: (error as Error).message } }, `shutdown: could not ${what}`);
    }
  };
  await step('remove agent.json', () => removeDiscovery(settings.stateDir));
  void deps.forceStop?.then(() => {
    logger.info('second stop request: dropping open connections');
    for (const server of listening) server.closeAllConnections();
  });
  await step('close the server', async () => {
    await Promise.all(listening.map((server) => close(server, deps.shutdownGraceMs ?? SHUTDOWN_GRACE_MS)));
  });
  await step('release agent.lock', () => lock.release());
  logger.info({ clean }, 'stopped');
  return clean ? ExitCode.ok : ExitCode.runtime;
}

/**
 * Connections the kernel queues for accept, named because it was measured (scripts/bench/
 * callerFlood.mjs): a flood of reset connections keeps any queue full, and a token holder's
 * connection waits behind all of it; 4096 gave root 21 timeouts in 40 (median 534 ms), Node's
 * default 511 one in 40 (median 4.5 ms).
 */
const LISTEN_BACKLOG = 511;

/** A listen failure that names the setting and port, so the error can say who holds it. */
class ListenError extends AgentError {
  constructor(
    message: string,
    readonly port: number,
    readonly setting: 'port' | 'imdsPort',
  ) {
    super(message, { exitCode: ExitCode.runtime, code: 'listen-failed' });
  }
}

function listen(server: Server, port: number, setting: 'port' | 'imdsPort'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ListenError(
          error.code === 'EADDRINUSE'
            ? `port ${port} on 127.0.0.1 is in use (another agent? set ${setting}, or 0 for any free port)`
            : error.code === 'EACCES' && port > 0 && port < 1024
              ? `port ${port} is privileged: run the agent as root or with CAP_NET_BIND_SERVICE (the service unit grants it), or set ${setting} to 1024 or above (0 = any free port)`
              : `cannot listen on 127.0.0.1:${port} (${error.code ?? error.message})`,
          port,
          setting,
        ),
      ),
    );
    server.listen({ port, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * A port in use may be a squatter waiting for clients' tokens: on Linux the error names the
 * user holding it (from /proc/net/tcp), so the service log says who, on every restart.
 */
async function namePortHolder(error: unknown): Promise<unknown> {
  if (!(error instanceof ListenError) || !/is in use/.test(error.message) || process.platform !== 'linux' || error.port === 0) return error;
  const { port, setting } = error;
  const read = (file: string): Promise<string> => readFile(file, 'latin1');
  const owners = await listenerOwners(read, port, LOOPBACK_ADDRESS).catch(() => []);
  if (owners.length === 0) return error;
  const who = (await Promise.all(owners.map((uid) => describeUid(read, uid)))).join(', ');
  const waiting = setting === 'port' ? "a process waiting for clients' tokens" : 'a process waiting to hand IMDS callers its own credentials';
  return new AgentError(`port ${port} on 127.0.0.1 is held by ${who} (another agent, or ${waiting}: \`appstream-creds doctor\` says more); set ${setting}, or 0 for any free port`, { exitCode: error.exitCode, code: error.code });
}

/** Stops accepting, lets in-flight requests finish, then drops whatever is left. */
function close(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
