import path from 'node:path';

export interface ProfileFile {
  path: string;
  /** Config files name sections `[profile x]` and may hold credential_process. */
  isConfigFile: boolean;
}

export interface LocationSettings {
  credentialsFile?: string;
  configFile?: string;
  homeDirs: readonly string[];
}

/**
 * The files to search, in order. Explicit files (AWS_SHARED_CREDENTIALS_FILE,
 * AWS_CONFIG_FILE or the settings) are used alone; otherwise each home in turn, the
 * current user's first, credentials file before config file as the SDKs do.
 */
export function profileLocations(settings: LocationSettings, currentHome: string, pathApi = path): ProfileFile[] {
  if (settings.credentialsFile || settings.configFile) {
    return [
      ...(settings.credentialsFile ? [{ path: settings.credentialsFile, isConfigFile: false }] : []),
      ...(settings.configFile ? [{ path: settings.configFile, isConfigFile: true }] : []),
    ];
  }
  const homes = [...new Set([currentHome, ...settings.homeDirs].filter(Boolean))];
  return homes.flatMap((home) => [
    { path: pathApi.join(home, '.aws', 'credentials'), isConfigFile: false },
    { path: pathApi.join(home, '.aws', 'config'), isConfigFile: true },
  ]);
}
