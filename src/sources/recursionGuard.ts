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

/** Command lines (argv) of this process's ancestors, nearest first. */
export type AncestorReader = () => Promise<string[][]>;

/**
 * Linux: walks /proc from the parent up to pid 1. Elsewhere there is no cheap, reliable walk
 * (Windows would need WMI per process), so it returns nothing and only the environment guard
 * applies there.
 */
export const procAncestors: AncestorReader = async () => {
  if (process.platform !== 'linux') return [];
  const { readFile } = await import('node:fs/promises');
  const parentOf = async (pid: string): Promise<string | undefined> => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid …"; comm may hold spaces or parentheses, so parse after the last ')'.
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    return ppid && ppid !== '0' ? ppid : undefined;
  };
  const chain: string[][] = [];
  let pid = await parentOf('self');
  for (let depth = 0; pid && pid !== '1' && depth < 64; depth += 1) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    chain.push(cmdline.split('\0').filter(Boolean));
    pid = await parentOf(pid);
  }
  return chain;
};

/** Whether an ancestor is `appstream-creds credential-process` for the same profile. */
export async function ancestorResolvesProfile(profile: string, defaultProfile: string, ancestors: AncestorReader | undefined): Promise<boolean> {
  if (!ancestors) return false;
  return (await ancestors()).some((argv) => commandResolvesProfile(argv.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' '), profile, defaultProfile));
}
