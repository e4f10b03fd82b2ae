import { fromStsVerification } from '../../aws/fromStsVerification.js';
import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandIdentity, commandSettings, commandSource, commandTemplateValues, onceEach } from '../commandSetup.js';
import { fleetDimensions } from '../../fleetMetrics/fleetMetricValues.js';
import { fromCloudWatch } from '../../fleetMetrics/fromCloudWatch.js';
import { toEmfLog } from '../../fleetMetrics/emfLine.js';
import { createLogger, daemonLoggerOptions } from '../../log/createLogger.js';
import { agentUrl, credentialsUrl, defaultPort, LINUX_DEFAULT_PORT, ROUTES, STATE_FILES, WINDOWS_DEFAULT_PORT } from '../../agent/contract.js';
import { runDaemon } from '../../daemon/runDaemon.js';
import { prepareOwnFolder } from '../../daemon/ownFolder.js';
import { daemonPolicy, ownFileAcl, tokenGroupSid, windowsAclReader } from '../trustSetup.js';
import type { WindowsCallerSids } from '../../http/callerGuard.js';
import { pathTrust } from '../../trust/pathTrust.js';
import { refusalMessage } from '../../trust/checkPathTrust.js';
import { networkReaderFor } from '../../network/readLocalNetwork.js';
import { systemClock } from '../../clock.js';
import { fromPeerLookup, unsupportedPeerUser, type PeerUser } from '../../http/peerUser.js';
import { procNetTcpLookup } from '../../network/procNetTcp.js';
import { describeRoute, linuxPeerLookup } from '../../network/linuxPeerLookup.js';
import { loadKoffi } from '../../native/loadKoffi.js';
import { windowsApi } from '../../native/win32/windowsSecurity.js';
import { windowsPeerLookup } from '../../native/win32/windowsCallers.js';
import { watchStopRequest, type StopRequestWatch } from '../../daemon/watchStopRequest.js';
import type { AgentDiscovery } from '../../agent/contract.js';
import { readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';

/**
 * How the agent learns the calling user on this platform (docs: README "Security model"), and
 * which route it takes. Linux: netlink sock_diag, else /proc/net/tcp. IMDS gets its own lookup
 * instance, so a flood there never shares a pass with token holders' lookups.
 */
async function platformPeerUsers(platform: NodeJS.Platform, agentUid: number | undefined): Promise<{ peerUser: PeerUser; imdsPeerUser: PeerUser; callerLookup: string }> {
  if (platform === 'linux') {
    // 4 KiB reads: the kernel builds the table a read at a time, so a scan that stops at the
    // client's line spares it walking the rest of the connection hash.
    const fallback = () => procNetTcpLookup((file) => createReadStream(file, { encoding: 'latin1', highWaterMark: 4 * 1024 }));
    const route = await linuxPeerLookup({ koffi: loadKoffi, fallback, uid: process.geteuid?.() ?? agentUid ?? 0 });
    const read = (file: string): Promise<string> => readFile(file, 'latin1');
    const imdsLookup = route.fallbackReason ? fallback() : route.lookup;
    return {
      peerUser: fromPeerLookup({ lookup: route.lookup, read, agentUid }),
      imdsPeerUser: fromPeerLookup({ lookup: imdsLookup, read, agentUid }),
      callerLookup: describeRoute(route),
    };
  }
  const windows = platform === 'win32' ? windowsApi() : undefined;
  if (windows?.ok) {
    // One lookup per connection: the caller socket's owner pid (GetExtendedTcpTable), then the
    // user of that process's token. Under Wine every pid is 0: every caller is unknown, refused.
    const lookup = windowsPeerLookup(windows.api);
    const peerUser = fromPeerLookup({ lookup, read: async () => '', agentUid });
    return { peerUser, imdsPeerUser: peerUser, callerLookup: 'GetExtendedTcpTable owner pid + process token (native)' };
  }
  const reason = windows && !windows.ok ? `the native module did not load: ${windows.reason}` : `the calling user of a TCP connection cannot be read on ${platform} without native code`;
  const none = unsupportedPeerUser(reason);
  return { peerUser: none, imdsPeerUser: none, callerLookup: `none on ${platform} (token file ACL only; IMDS refused): ${reason}` };
}
import { ExitCode } from '../../errors.js';

/** Windows: the allow rule's SIDs, resolved once at start (native route only). */
function windowsCallerSids(platform: NodeJS.Platform, settings: { tokenGroup?: string | undefined }): WindowsCallerSids | undefined {
  const windows = platform === 'win32' ? windowsApi() : undefined;
  if (!windows?.ok) return undefined;
  const { api } = windows;
  return { agentSid: api.currentUser(), tokenGroupSid: tokenGroupSid(api, settings), accountSid: (name) => api.accountSid(name) };
}

/** From the first stop signal to exit, whatever cleanup does (docs/contract.md). */
const SHUTDOWN_DEADLINE_MS = 5_000;
/** After a second signal: time to drop connections and log "stopped" before the process is ended. */
const SECOND_SIGNAL_EXIT_MS = 500;

interface ServeOptions {
  port?: string;
  imds?: boolean;
  imdsPort?: string;
  refreshInterval?: string;
  validity?: string;
  refreshGrace?: string;
  expiryWarning?: string;
  interface?: string;
}

export function registerServe(program: Command, deps: CommandDeps): void {
  program
    .command('serve')
    .description('run the agent in the foreground (the OS service runs this)')
    .option('--port <port>', `loopback port (default ${LINUX_DEFAULT_PORT} on Linux: below 1024, so no other user can take it while the agent is down; ${WINDOWS_DEFAULT_PORT} on Windows; 0 = any free port)`)
    .option('--imds', 'also emulate IMDSv2 for tools that only know the instance metadata service, on a port of its own (--imds-port)')
    .option('--imds-port <port>', `IMDS emulation's own loopback port (default: --port + 1, so ${LINUX_DEFAULT_PORT + 1} on Linux and ${WINDOWS_DEFAULT_PORT + 1} on Windows; 0 with --port 0); never the same as --port`)
    .option('--refresh-interval <duration>', 'how often AppStream refreshes (default 1h)')
    .option('--validity <duration>', 'lifetime when the source gives no Expiration (default 1h)')
    .option('--refresh-grace <duration>', 'lateness after which a refresh is overdue (default 10m)')
    .option('--expiry-warning <duration>', 'remaining life that counts as expiring; a credential_process is re-run then (default 15m)')
    .option('--interface <name-or-mac>', 'insist on this interface as the ENI')
    .addHelpText(
      'after',
      '\nScripts then need no code change:\n' +
        `  export AWS_CONTAINER_CREDENTIALS_FULL_URI=${credentialsUrl(agentUrl(defaultPort(deps.ctx.platform)))}\n` +
        `  export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=<state-dir>/${STATE_FILES.token}\n` +
        'or run them with `appstream-creds exec -- CMD`, which sets both.\n\n' +
        `It writes <state-dir>/${STATE_FILES.discovery} (pid, url, credentialsUrl, tokenFile, imdsEndpoint; with roles,\n` +
        'roleTokenFiles: <state-dir>/role-<name>.token, readable by exactly that role\'s allowUsers) and\n' +
        'removes it on SIGINT/SIGTERM (Windows: also when `stop` asks through <state-dir>/stop-request).\n' +
        `Routes on --port: GET ${ROUTES.credentials}, ${ROUTES.status} (token), ${ROUTES.health}, ${ROUTES.metrics}.\n` +
        `With --imds, PUT ${ROUTES.imdsToken} + ${ROUTES.imdsCredentials}\n` +
        'answer on --imds-port only (imdsEndpoint in agent.json), and nothing else answers there: callers\n' +
        'without a token never share a connection queue with token holders.\n' +
        `  AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:${defaultPort(deps.ctx.platform) + 1}/   # what exec sets for IMDS-only tools\n\n` +
        'Fleet view: with metricsNamespace set (APPSTREAM_CREDS_METRICS_NAMESPACE) it publishes its health to\n' +
        'CloudWatch every metricsInterval (60s), or as EMF log lines with metricsFormat=emf; the fleet role needs\n' +
        'the statement `appstream-creds policy fleet-metrics --namespace NS` prints (README "Fleet view").\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: ServeOptions, command: Command) => {
        const settings = commandSettings(command, deps, {
          port: opts.port,
          imds: opts.imds,
          imdsPort: opts.imdsPort,
          refreshInterval: opts.refreshInterval,
          validity: opts.validity,
          refreshGrace: opts.refreshGrace,
          expiryWarning: opts.expiryWarning,
          interface: opts.interface,
        });
        // Folders the agent writes must be its own; the log folder is judged before a log file opens.
        const folderRule = {
          check: pathTrust(deps.ctx.platform, daemonPolicy(settings, deps.ctx), windowsAclReader(deps.ctx.platform)),
          strict: settings.strictPermissions,
          acl: ownFileAcl(deps.ctx.platform, settings),
        };
        const looseLogs = settings.logDir ? await prepareOwnFolder('log folder', settings.logDir, 0o750, folderRule) : undefined;
        const logger = await createLogger(daemonLoggerOptions(settings, { stderrIsTTY: deps.ctx.stderrIsTTY, noColor: Boolean(deps.ctx.env.NO_COLOR) }));
        const nativeCallers = deps.ctx.platform === 'win32' && windowsApi().ok;
        if (settings.imds && deps.ctx.platform !== 'linux' && !nativeCallers && !settings.allowUsers.includes('*')) {
          logger.warn(`IMDS emulation refuses every caller on ${deps.ctx.platform}: the calling user cannot be read here; use the container endpoint, or set allowUsers to * to open IMDS to every local user`);
        }
        if (looseLogs) logger.warn(`log folder ${refusalMessage(looseLogs)}; used anyway because strictPermissions is false (fix: ${looseLogs.fix})`);
        // First SIGINT/SIGTERM (or, on Windows, a stop request from `stop`): graceful stop, with
        // a hard deadline whatever cleanup does (a read-only or vanished state folder, a stuck
        // open). A second one: drop open connections and exit at once; if something still holds
        // the process, it is ended right after.
        let stops = 0;
        let force: () => void = () => {};
        const forceStop = new Promise<void>((resolve) => (force = resolve));
        let stopWith: (reason: string) => void = () => {};
        const stopSignal = new Promise<string>((resolve) => (stopWith = resolve));
        const requestStop = (reason: string): void => {
          stops += 1;
          if (stops === 1) {
            stopWith(reason);
            setTimeout(() => {
              logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not complete in time; exiting anyway');
              logger.flush?.();
              deps.ctx.exit(ExitCode.runtime);
            }, SHUTDOWN_DEADLINE_MS).unref();
          } else {
            force();
            setTimeout(() => {
              logger.warn({ signal: reason }, 'second signal: exiting at once (cleanup still pending)');
              logger.flush?.();
              deps.ctx.exit(ExitCode.runtime);
            }, SECOND_SIGNAL_EXIT_MS).unref();
          }
        };
        for (const signal of ['SIGINT', 'SIGTERM'] as const) deps.ctx.onSignal(signal, () => requestStop(signal));
        // Windows: `stop` has no signal to send a detached agent (process.kill is TerminateProcess).
        let stopRequests: StopRequestWatch | undefined;
        const onReady = (discovery: AgentDiscovery): void => {
          if (deps.ctx.platform !== 'win32') return;
          stopRequests = watchStopRequest({ stateDir: settings.stateDir, agent: discovery, rule: folderRule, logger });
          void stopRequests.requested.then(requestStop);
        };
        const callerCheck = await platformPeerUsers(deps.ctx.platform, deps.ctx.uid);
        return runDaemon({
          onReady,
          settings,
          clock: systemClock,
          logger,
          source: commandSource(settings, deps, systemClock, onceEach((message) => logger.warn(message))),
          readNetwork: networkReaderFor(deps.ctx.platform),
          ...callerCheck,
          windowsCallers: windowsCallerSids(deps.ctx.platform, settings),
          agentUid: deps.ctx.uid,
          folderRule,
          stopSignal,
          forceStop,
          identity: () => commandTemplateValues(settings, deps),
          env: deps.ctx.env,
          verifyCredentials: fromStsVerification({ region: settings.region, endpoint: settings.stsEndpoint, env: deps.ctx.env }),
          metrics: {
            send: (served) =>
              settings.metricsFormat === 'emf'
                ? toEmfLog({ namespace: settings.metricsNamespace ?? '', logger, clock: systemClock })
                : fromCloudWatch({ namespace: settings.metricsNamespace ?? '', region: settings.region, env: deps.ctx.env, credentials: () => served.current()?.credentials }),
            dimensions: () => fleetDimensions(commandIdentity(settings, deps), settings.metricsPerInstance ? deps.ctx.hostname : undefined),
          },
        }).finally(() => stopRequests?.close());
      }),
    );
}
