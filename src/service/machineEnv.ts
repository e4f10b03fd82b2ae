import type path from 'node:path';
import { agentUrl, credentialsUrl, tokenPath } from '../agent/contract.js';

/** The variables every AWS SDK and the AWS CLI read to use a local container-credentials endpoint. */
export const MACHINE_ENV_NAMES = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'] as const;

export function machineEnvVars(port: number, stateDir: string, pathModule: path.PlatformPath): Array<[string, string]> {
  return [
    ['AWS_CONTAINER_CREDENTIALS_FULL_URI', credentialsUrl(agentUrl(port))],
    ['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', tokenPath(stateDir, pathModule)],
  ];
}

/** Linux files that carry them: login shells (profile.d) and systemd user sessions (environment.d). */
export const LINUX_PROFILE_SCRIPT = '/etc/profile.d/appstream-creds.sh';
export const LINUX_ENVIRONMENT_D = '/etc/environment.d/60-appstream-creds.conf';
export const LINUX_MACHINE_ENV_FILES = [LINUX_PROFILE_SCRIPT, LINUX_ENVIRONMENT_D] as const;

const HEADER = 'Written by `appstream-creds service install --set-machine-env`; removed by `service uninstall`.';
const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export function renderProfileScript(vars: Array<[string, string]>): string {
  const lines = vars.map(([name, value]) => `export ${name}=${shellQuote(value)}`);
  const tokenFile = vars.find(([name]) => name === 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE')?.[1];
  // Only a user who can read the file gets the token, into this shell's environment, which only
  // that user and root can read: the same people as before. An environment.d file cannot test
  // who reads it, so it carries the file's name only.
  const inline = tokenFile
    ? [
        '# Clients older than the token file (AWS CLI v2 before 2.15.0, AWSSDK.Core before 3.7.302) read',
        '# only the token itself: users who can read the file also get it inline. The agent keeps the',
        '# token across restarts; after the file is deleted and the agent restarts, log in again.',
        `if [ -z "\${AWS_CONTAINER_AUTHORIZATION_TOKEN-}" ] && [ -r ${shellQuote(tokenFile)} ]; then`,
        `  AWS_CONTAINER_AUTHORIZATION_TOKEN=$(cat ${shellQuote(tokenFile)} 2>/dev/null) && export AWS_CONTAINER_AUTHORIZATION_TOKEN`,
        'fi',
      ]
    : [];
  return `# ${HEADER}\n# Scripts reach the machine role through the local agent; the token file is readable by\n# root and the token group (appstream-creds by default).\n${[...lines, ...inline].join('\n')}\n`;
}

export function renderEnvironmentD(vars: Array<[string, string]>): string {
  return `# ${HEADER}\n${vars.map(([name, value]) => `${name}=${value}`).join('\n')}\n`;
}

/** Windows: the machine-wide environment in the registry (what `setx /M` writes). */
export const WINDOWS_ENVIRONMENT_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment';
