import path from 'node:path';
import { usageError } from '../errors.js';
import { SERVICE_ID } from './constants.js';

export interface SystemdUnitOptions {
  nodePath: string;
  /** node's arguments: bundle, options, `serve`. */
  args: readonly string[];
  stateDir: string;
  /** Log folder when it is outside the state folder: also made writable. */
  logDir?: string;
  environment: ReadonlyArray<readonly [string, string]>;
  user: string;
  group: string;
  /** Extra groups, e.g. a token group other than the service's own, so the agent can chgrp the token. */
  supplementaryGroups?: readonly string[];
  port: number;
  /** IMDS's own port when the service emulates IMDS (`imds` in its settings). */
  imdsPort?: number | undefined;
  restartSec?: number;
}

/**
 * One word of ExecStart=: `%` is a specifier everywhere, so it is doubled; `$` starts a variable
 * in the arguments only (not in the executable's path), so it is doubled there only.
 */
export function systemdWord(word: string, isExecutable = false): string {
  const percent = word.replace(/%/g, '%%');
  const escaped = isExecutable ? percent : percent.replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function environmentLine(name: string, value: string): string {
  const assignment = `${name}=${value}`.replace(/%/g, '%%');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(assignment) ? `Environment=${assignment}` : `Environment="${assignment.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function checkWritableDir(what: string, dir: string): void {
  if (!path.posix.isAbsolute(dir) || /[\s"'\\%$]/.test(dir)) {
    throw usageError(`${what} "${dir}" cannot go into a systemd unit: use an absolute path without spaces, quotes, backslashes, % or $`);
  }
}

/**
 * The systemd unit for the agent. Hardened, with one deliberate opening: the agent reads the
 * AppStream profile in other users' homes (/home/ImageBuilderAdmin/.aws/config, mode 0600),
 * so homes stay visible read-only (ProtectHome=read-only, not =yes, which would hide them)
 * and the unprivileged service user gets CAP_DAC_READ_SEARCH, which bypasses read permission
 * checks only: it can read those files and never write them.
 */
export function renderSystemdUnit(options: SystemdUnitOptions): string {
  checkWritableDir('state dir', options.stateDir);
  const outsideLogDir = options.logDir && !options.logDir.startsWith(`${options.stateDir}/`) ? options.logDir : undefined;
  if (outsideLogDir) checkWritableDir('log dir', outsideLogDir);
  if (!path.posix.isAbsolute(options.nodePath)) throw usageError(`node path "${options.nodePath}" must be absolute`);
  const privileged = [options.port, options.imdsPort ?? 0].some((port) => port > 0 && port < 1024);
  const capabilities = ['CAP_DAC_READ_SEARCH', ...(privileged ? ['CAP_NET_BIND_SERVICE'] : [])].join(' ');
  const underVarLib = /^\/var\/lib\/[^/]+(\/[^/]+)*$/.test(options.stateDir) ? options.stateDir.slice('/var/lib/'.length) : undefined;
  const lines = [
    '# Written by `appstream-creds service install`; installing again rewrites it.',
    `# Put local changes in a drop-in: systemctl edit ${SERVICE_ID}`,
    '[Unit]',
    'Description=AppStream 2.0 credential agent (serves appstream_machine_role to local scripts)',
    'After=network.target',
    '# Never give up restarting: while the agent is down any user can bind its port (see README,',
    '# "Security model"), so it comes back within a second, every time.',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[systemdWord(options.nodePath, true), ...options.args.map((arg) => systemdWord(arg))].join(' ')}`,
    `User=${options.user}`,
    `Group=${options.group}`,
    ...(options.supplementaryGroups?.length ? [`SupplementaryGroups=${options.supplementaryGroups.join(' ')}`] : []),
    ...options.environment.map(([name, value]) => environmentLine(name, value)),
    '# systemd older than 230 (Amazon Linux 2 has 219) reads the start limit here.',
    'StartLimitInterval=0',
    'Restart=always',
    `RestartSec=${options.restartSec ?? 1}s`,
    'TimeoutStopSec=15s',
    '# Room for many local clients; the agent also closes its oldest idle connections past a cap.',
    'LimitNOFILE=65536',
    'SyslogIdentifier=appstream-creds',
    '# Read-only access to every profile, no other privilege.',
    `AmbientCapabilities=${capabilities}`,
    `CapabilityBoundingSet=${capabilities}`,
    'NoNewPrivileges=yes',
    '# systemd older than 232 (Amazon Linux 2 has 219) rejects "strict" and keeps "full".',
    'ProtectSystem=full',
    'ProtectSystem=strict',
    '# The agent only reads /home/*/.aws and /root/.aws; "yes" would hide the profile.',
    'ProtectHome=read-only',
    `ReadWritePaths=${[options.stateDir, ...(outsideLogDir ? [outsideLogDir] : [])].join(' ')}`,
    ...(underVarLib ? [`StateDirectory=${underVarLib}`, 'StateDirectoryMode=0755'] : []),
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    '# AF_NETLINK: reading interfaces and routes (the ENI check).',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.join('\n')}\n`;
}
