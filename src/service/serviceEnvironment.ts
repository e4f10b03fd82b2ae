import path from 'node:path';
import type { ServiceInstallConfig } from './managerTypes.js';

/**
 * The settings the service runs with, as APPSTREAM_CREDS_* variables (the daemon's own
 * precedence then applies: its flags > these > its --config file > defaults).
 */
export function serviceEnvironment(config: ServiceInstallConfig, pathModule: path.PlatformPath, tokenGroup: string | undefined): Array<[string, string]> {
  const vars: Array<[string, string]> = [
    ['APPSTREAM_CREDS_STATE_DIR', config.stateDir],
    ['APPSTREAM_CREDS_LOG_DIR', config.logDir ?? pathModule.join(config.stateDir, 'logs')],
    ['APPSTREAM_CREDS_PORT', String(config.port)],
  ];
  if (tokenGroup) vars.push(['APPSTREAM_CREDS_TOKEN_GROUP', tokenGroup]);
  for (const [name, value] of Object.entries(config.extraEnv ?? {})) {
    if (!vars.some(([existing]) => existing === name)) vars.push([name, value]);
  }
  return vars;
}

/** Arguments after node: the bundle (none for the self-contained exe), an optional --config, and `serve`. */
export function serveArguments(bundlePath: string | undefined, configFile: string | undefined): string[] {
  return [...(bundlePath ? [bundlePath] : []), ...(configFile ? ['--config', configFile] : []), 'serve'];
}
