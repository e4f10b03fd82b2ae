import { constants } from 'node:fs';
import { readRegularFileSync } from '../readRegularFile.js';
import { lstat, open, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../writeFileAtomic.js';
import { discoveryPath, lockPath, roleTokenPath, tokenPath, type AgentDiscovery } from './contract.js';
import type { OwnAcl } from '../native/win32/ownFileAcl.js';

/** 256 random bits, hex: safe in a header and in a file. */
export async function newToken(): Promise<string> {
  const { randomBytes } = await import('node:crypto'); // only the daemon needs it
  return randomBytes(32).toString('hex');
}

/**
 * Token file readable by its owner only, or also by one group (0640) when a gid is given (Linux)
 * or the tokenGroup resolved to a SID (Windows, `acl`), so script users in that group can use
 * the agent. On Windows `acl` gives it an explicit DACL before the token is written.
 */
export async function writeTokenFile(stateDir: string, token: string, gid?: number, acl?: OwnAcl): Promise<string> {
  const file = tokenPath(stateDir);
  const mode = gid !== undefined || acl?.group ? 0o640 : 0o600;
  await writeFileAtomic(file, token, mode, { ...(gid === undefined ? {} : { gid }), ...(acl ? { protect: (temp: string) => acl.protect(temp, mode) } : {}) });
  return file;
}

/**
 * Who may read a role's token file besides its owner: mode 0644 when the role is open to every
 * user, else 0600 plus what `grant` sets on the temp file before the rename (Linux: ACL entries
 * for exactly the role's users; Windows: the machine token's own DACL path).
 */
export interface RoleTokenAccess {
  mode: 0o600 | 0o644;
  grant?: ((tempFile: string) => Promise<void>) | undefined;
}

export async function writeRoleTokenFile(stateDir: string, role: string, token: string, access: RoleTokenAccess): Promise<string> {
  const file = roleTokenPath(stateDir, role);
  await writeFileAtomic(file, token, access.mode, access.grant ? { protect: access.grant } : {});
  return file;
}

export async function writeDiscovery(stateDir: string, discovery: AgentDiscovery, acl?: OwnAcl): Promise<void> {
  await writeFileAtomic(discoveryPath(stateDir), `${JSON.stringify(discovery, null, 2)}\n`, 0o644, acl ? { protect: (temp) => acl.protect(temp, 0o644) } : {});
}

/** Removes agent.json only if it is still ours: a newer agent's file is left alone. */
export async function removeDiscovery(stateDir: string, pid = process.pid): Promise<void> {
  const current = await readDiscovery(stateDir);
  if (!current || current.pid === pid) await rm(discoveryPath(stateDir), { force: true });
}

/**
 * One agent per state dir. The check-then-write of agent.json races when two start together,
 * so an exclusive create of agent.lock decides. The lock holds "pid start-time": a lock whose
 * pid is gone, or now belongs to a process started at another time (a reused pid), is stale
 * and taken over. Resolves with a release function, or with the pid of the live owner.
 */
export async function acquireStateLock(stateDir: string, startTime: (pid: number) => Promise<string | undefined> = processStartTime, acl?: OwnAcl): Promise<{ release: () => Promise<void> } | { ownerPid: number }> {
  const file = lockPath(stateDir);
  const ours = `${process.pid} ${(await startTime(process.pid)) ?? '-'}`;
  // A lock whose content is not written yet belongs to an agent between its exclusive create
  // and its write: wait for it (briefly) instead of taking it over as stale.
  for (let attempt = 0; attempt < 200; attempt += 1) {
    try {
      const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o644);
      if (acl) await acl.protect(file, 0o644).catch(async (error: unknown) => {
        await handle.close();
        await rm(file, { force: true });
        throw error;
      });
      await handle.writeFile(ours);
      await handle.close();
      return {
        release: async () => {
          if ((await readFile(file, 'utf8').catch(() => '')).trim() === ours) await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pidText, started] = (await readFile(file, 'utf8').catch(() => '')).trim().split(/\s+/);
      if (!pidText && (await lockIsFresh(file))) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      const owner = Number(pidText);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        // Without a recorded start time (an older agent, or Windows) a live pid must be trusted.
        const now = started && started !== '-' ? await startTime(owner) : undefined;
        if (now === undefined || now === started) return { ownerPid: owner };
      }
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot take ${file}`);
}

/** An empty lock younger than this is an agent still writing its pid, not a stale one. */
const LOCK_WRITE_GRACE_MS = 2_000;
const lockIsFresh = async (file: string): Promise<boolean> => {
  const info = await lstat(file).catch(() => undefined);
  return info !== undefined && Math.abs(Date.now() - info.mtimeMs) < LOCK_WRITE_GRACE_MS;
};

/**
 * When a process started, as an opaque string: Linux /proc/<pid>/stat field 22 (clock ticks
 * since boot). Elsewhere undefined (Windows: best effort is the pid alone).
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count from the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 overall; fields here start at field 3
}

/** agent.json and token files are a few hundred bytes; a bigger one is not the agent's. */
export const MAX_AGENT_FILE_BYTES = 64 * 1024;

/** agent.json, read synchronously: a small file every client start reads before anything else. */
export async function readDiscovery(stateDir: string): Promise<AgentDiscovery | undefined> {
  try {
    const parsed = JSON.parse(readRegularFileSync(discoveryPath(stateDir), MAX_AGENT_FILE_BYTES).toString('utf8')) as Partial<AgentDiscovery>;
    if (typeof parsed.pid !== 'number' || typeof parsed.credentialsUrl !== 'string' || typeof parsed.tokenFile !== 'string' || typeof parsed.url !== 'string') return undefined;
    return parsed as AgentDiscovery;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
