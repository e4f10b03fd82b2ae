import { SERVICE_DESCRIPTION, SERVICE_DISPLAY_NAME, SERVICE_ID } from './constants.js';
import { windowsArg } from './winswXml.js';

export interface NssmServiceSpec {
  executable: string;
  args: readonly string[];
  env: ReadonlyArray<readonly [string, string]>;
  workingDirectory: string;
  /** Where NSSM writes the child's stdout/stderr (the daemon logs JSON to its own files when logDir is set). */
  stdoutLog: string;
  stderrLog: string;
  rotateBytes: number;
}

/**
 * The `nssm set` calls that describe the service (NSSM keeps them in the registry, so an
 * upgrade re-applies them all). Stop: Ctrl+C first and 10 s for the agent to remove its
 * discovery file, then NSSM's later methods; an exit is restarted after 1 s (while the agent
 * is down any user could bind its port).
 */
export function nssmSettings(spec: NssmServiceSpec): string[][] {
  return [
    ['set', SERVICE_ID, 'Application', spec.executable],
    ['set', SERVICE_ID, 'AppParameters', spec.args.map(windowsArg).join(' ')],
    ['set', SERVICE_ID, 'AppDirectory', spec.workingDirectory],
    ['set', SERVICE_ID, 'DisplayName', SERVICE_DISPLAY_NAME],
    ['set', SERVICE_ID, 'Description', SERVICE_DESCRIPTION],
    ['set', SERVICE_ID, 'Start', 'SERVICE_AUTO_START'],
    ['set', SERVICE_ID, 'AppEnvironmentExtra', ...spec.env.map(([name, value]) => `${name}=${value}`)],
    ['set', SERVICE_ID, 'AppStdout', spec.stdoutLog],
    ['set', SERVICE_ID, 'AppStderr', spec.stderrLog],
    ['set', SERVICE_ID, 'AppRotateFiles', '1'],
    ['set', SERVICE_ID, 'AppRotateOnline', '1'],
    ['set', SERVICE_ID, 'AppRotateBytes', String(spec.rotateBytes)],
    ['set', SERVICE_ID, 'AppStopMethodConsole', '10000'],
    ['set', SERVICE_ID, 'AppExit', 'Default', 'Restart'],
    ['set', SERVICE_ID, 'AppRestartDelay', '1000'],
  ];
}
