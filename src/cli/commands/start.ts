import { LINUX_DEFAULT_PORT, WINDOWS_DEFAULT_PORT } from '../../agent/contract.js';
import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { globalFlags } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { agentFileTrust, commandSettings } from '../commandSetup.js';
import { startAgent, stopAgent } from '../../daemon/startAgent.js';
import { parseDuration } from '../../config/duration.js';
import { systemClock } from '../../clock.js';
import { ExitCode } from '../../errors.js';
import type { AgentDiscovery } from '../../agent/contract.js';
import { daemonPolicy, ownFileAcl, windowsAclReader } from '../trustSetup.js';
import { pathTrust } from '../../trust/pathTrust.js';

interface StartOptions {
  port?: string;
  imds?: boolean;
  imdsPort?: string;
  timeout: string;
  json?: boolean;
}

const describe = (d: AgentDiscovery): string =>
  `  credentials: ${d.credentialsUrl}\n  token file:  ${d.tokenFile}\n${d.imdsEndpoint ? `  IMDSv2:      ${d.imdsEndpoint}\n` : ''}`;

export function registerStart(program: Command, deps: CommandDeps): void {
  program
    .command('start')
    .description('start the agent in the background (Elastic fleets: no image to install a service into) and wait until it is ready')
    .option('--port <port>', `loopback port (default ${LINUX_DEFAULT_PORT} on Linux, ${WINDOWS_DEFAULT_PORT} on Windows; 0 = any free port)`)
    .option('--imds', 'also emulate IMDSv2, on a port of its own')
    .option('--imds-port <port>', `IMDS emulation's own port (default: --port + 1, so ${LINUX_DEFAULT_PORT + 1} on Linux, ${WINDOWS_DEFAULT_PORT + 1} on Windows; 0 with --port 0)`)
    .option('--timeout <duration>', 'how long to wait for the agent to be ready', '45s')
    .option('--json', 'print where it listens as JSON')
    .addHelpText(
      'after',
      '\nThe agent runs detached from the calling script (its own session), so it outlives a\n' +
        'session script; its output goes to <state-dir>/start.log. A second `start` finds the\n' +
        'running agent and exits 0. `appstream-creds stop` ends it.\n\n' +
        'Examples:\n' +
        '  appstream-creds start --timeout 45s      # in a SessionStart script (60 s limit)\n' +
        '  appstream-creds stop\n\n' +
        'Exit 0 once the agent serves credentials (or was already running); 3 or 4 when it still\n' +
        'waits for the network or the credentials at the timeout (it keeps running); 1 when it failed.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: StartOptions, command: Command) => {
        const settings = commandSettings(command, deps, { port: opts.port, imds: opts.imds, imdsPort: opts.imdsPort });
        const flags = globalFlags(command);
        const serveArgs = [
          ...(flags.config ? ['--config', flags.config] : []),
          ...(flags.profile ? ['--profile', flags.profile] : []),
          '--state-dir', settings.stateDir,
          ...(flags.logLevel ? ['--log-level', flags.logLevel] : []),
          'serve',
          '--port', String(settings.port),
          ...(settings.imds ? ['--imds', '--imds-port', String(settings.imdsPort)] : []),
        ];
        const result = await startAgent({
          stateDir: settings.stateDir,
          execPath: deps.ctx.execPath,
          // appstream-creds.exe (a single executable) is its own program: its argv[1] is itself.
          selfScript: deps.ctx.selfExe ? undefined : deps.ctx.selfScript,
          serveArgs,
          env: deps.ctx.env,
          timeoutMs: parseDuration(opts.timeout, '--timeout'),
          clock: systemClock,
          trust: agentFileTrust(settings, deps),
          folderRule: { check: pathTrust(deps.ctx.platform, daemonPolicy(settings, deps.ctx), windowsAclReader(deps.ctx.platform)), strict: settings.strictPermissions },
          onProgress: opts.json ? undefined : (message) => deps.ctx.io.stderr(`${message}\n`),
        });
        const { discovery } = result;
        if (opts.json) {
          deps.ctx.io.stdout(`${JSON.stringify({ outcome: result.outcome, ...discovery, ...(result.outcome === 'not-ready' ? { state: result.state } : {}) })}\n`);
        } else if (result.outcome === 'already-running') {
          deps.ctx.io.stdout(`agent already running (pid ${discovery.pid}) at ${discovery.url}\n${describe(discovery)}`);
        } else if (result.outcome === 'started') {
          deps.ctx.io.stdout(`agent started (pid ${discovery.pid}), ready at ${discovery.url}\n${describe(discovery)}`);
        } else {
          deps.ctx.io.stdout(`agent started (pid ${discovery.pid}) at ${discovery.url}, not ready yet: ${result.state} (it keeps running)\n${describe(discovery)}`);
        }
        if (result.outcome !== 'not-ready') return ExitCode.ok;
        return result.state === 'waiting-for-network' ? ExitCode.networkTimeout : ExitCode.credentialsTimeout;
      }),
    );

  program
    .command('stop')
    .description('stop the agent that `start` (or `serve`) runs from the state folder')
    .option('--timeout <duration>', 'how long to wait for it to exit', '10s')
    .addHelpText(
      'after',
      '\nLinux: SIGTERM. Windows: a stop request written to <state-dir>/stop-request, which only SYSTEM,\n' +
        'an elevated administrator or the agent\'s account can write; the agent then shuts down as on\n' +
        'SIGTERM (finishes open requests, removes agent.json). If it has not exited at the timeout it is\n' +
        'ended with TerminateProcess, and stop says so. For the installed service use `service stop`.\n\n' +
        'Exit 0 when it stopped or none was running; 1 when it could not be stopped (or may not be by this account).\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: { timeout: string }, command: Command) => {
        const settings = commandSettings(command, deps);
        const windows = deps.ctx.platform === 'win32';
        const result = await stopAgent({
          stateDir: settings.stateDir,
          trust: agentFileTrust(settings, deps),
          clock: systemClock,
          timeoutMs: parseDuration(opts.timeout, '--timeout'),
          ...(windows ? { request: { protect: stopRequestAcl(deps.ctx.platform) } } : {}),
          onProgress: (message) => deps.ctx.io.stderr(`${message}\n`),
        });
        if (result.outcome === 'killed') {
          deps.ctx.io.stderr(`warning: the agent (pid ${result.pid}) did not act on the stop request within ${opts.timeout}; ended it with TerminateProcess (open requests were cut off) and removed its agent.json\n`);
        }
        deps.ctx.io.stdout(result.outcome === 'not-running' ? `no agent running for ${settings.stateDir}\n` : `agent stopped (pid ${result.pid})\n`);
        return ExitCode.ok;
      }),
    );
}

/** The request file's DACL (SYSTEM, Administrators, this account), native route only. */
function stopRequestAcl(platform: NodeJS.Platform): ((temp: string) => Promise<void>) | undefined {
  const acl = ownFileAcl(platform, {});
  return acl ? (temp) => acl.protect(temp, 0o600) : undefined;
}
