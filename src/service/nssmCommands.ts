import { SERVICE_DESCRIPTION, SERVICE_DISPLAY_NAME, SERVICE_ID } from './constants.js';

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
 * The `nssm set` calls for what the service control manager itself keeps (it caches its
 * database, so these go through NSSM's ChangeServiceConfig, not the registry). NSSM's own
 * parameters are written in one `reg import` (nssmParametersReg.ts); an upgrade re-applies both.
 */
export function nssmSettings(): string[][] {
  return [
    ['set', SERVICE_ID, 'DisplayName', SERVICE_DISPLAY_NAME],
    ['set', SERVICE_ID, 'Description', SERVICE_DESCRIPTION],
    ['set', SERVICE_ID, 'Start', 'SERVICE_AUTO_START'],
  ];
}
