/**
 * A credential_process that runs this tool's credential-process on the very profile being
 * resolved would recurse forever. The static check catches the obvious command line; the
 * environment variable catches it through wrapper scripts.
 */
export const GUARD_ENV = 'APPSTREAM_CREDS_RESOLVING_PROFILES';

export function guardedProfiles(env: Readonly<Record<string, string | undefined>>): string[] {
  return (env[GUARD_ENV] ?? '').split(',').filter(Boolean);
}

export function withGuard(env: Readonly<Record<string, string | undefined>>, profile: string): Record<string, string | undefined> {
  return { ...env, [GUARD_ENV]: [...new Set([...guardedProfiles(env), profile])].join(',') };
}

const SELF_CALL = /appstream-creds(?:\.c?js)?["']?\s(?:.*\s)?credential-process(?:\s|$)/;
const PROFILE_FLAG = /--profile(?:=|\s+)["']?([^\s"']+)/;

export function commandResolvesProfile(command: string, profile: string, defaultProfile: string): boolean {
  if (!SELF_CALL.test(command)) return false;
  const named = PROFILE_FLAG.exec(command)?.[1];
  return (named ?? defaultProfile) === profile;
}
