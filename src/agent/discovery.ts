import { chmod, chown, mkdir, open, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../writeFileAtomic.js';
import { discoveryPath, lockPath, tokenPath, type AgentDiscovery } from './contract.js';

/** 256 random bits, hex: safe in a header and in a file. */
export async function newToken(): Promise<string> {
  const { randomBytes } = await import('node:crypto'); // only the daemon needs it
  return randomBytes(32).toString('hex');
}

export async function prepareStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
}

/**
 * Token file readable by its owner only, or also by one group (0640) when a gid is given, so
 * script users in that group can use the agent (Linux service; Windows uses ACLs instead).
 */
export async function writeTokenFile(stateDir: string, token: string, gid?: number): Promise<string> {
  const file = tokenPath(stateDir);
  const mode = gid === undefined ? 0o600 : 0o640;
  await writeFileAtomic(file, token, mode);
  if (gid !== undefined) await chown(file, -1, gid);
  await chmod(file, mode); // the umask may have narrowed or widened the create mode
  return file;
}

export async function writeDiscovery(stateDir: string, discovery: AgentDiscovery): Promise<void> {
  await writeFileAtomic(discoveryPath(stateDir), `${JSON.stringify(discovery, null, 2)}\n`, 0o644);
}

/** Removes agent.json only if it is still ours: a newer agent's file is left alone. */
export async function removeDiscovery(stateDir: string, pid = process.pid): Promise<void> {
  const current = await readDiscovery(stateDir);
  if (!current || current.pid === pid) await rm(discoveryPath(stateDir), { force: true });
}

/**
 * One agent per state dir. The check-then-write of agent.json races when two start together,
 * so an exclusive create of agent.lock decides; a lock left by a dead pid is taken over.
 * Resolves with a release function, or with the pid of the live owner.
 */
export async function acquireStateLock(stateDir: string): Promise<{ release: () => Promise<void> } | { ownerPid: number }> {
  const file = lockPath(stateDir);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return {
        release: async () => {
          const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
          if (owner === process.pid) await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) return { ownerPid: owner };
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot take ${file}`);
}

export async function readDiscovery(stateDir: string): Promise<AgentDiscovery | undefined> {
  try {
    const parsed = JSON.parse(await readFile(discoveryPath(stateDir), 'utf8')) as Partial<AgentDiscovery>;
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
