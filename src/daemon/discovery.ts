import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../writeFileAtomic.js';

/** The discovery file's shape: part of the public contract (DESIGN.md). */
export interface AgentDiscovery {
  pid: number;
  url: string;
  credentialsUrl: string;
  tokenFile: string;
  imdsEndpoint: string | null;
  startedAt: string;
}

export const discoveryPath = (stateDir: string): string => path.join(stateDir, 'agent.json');
export const tokenPath = (stateDir: string): string => path.join(stateDir, 'token');

/** 256 random bits, hex: safe in a header and in a file. */
export const newToken = (): string => randomBytes(32).toString('hex');

export async function prepareStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
}

/** Token file readable by its owner only (and a group when one is configured, see service/). */
export async function writeTokenFile(stateDir: string, token: string, mode = 0o600): Promise<string> {
  const file = tokenPath(stateDir);
  await writeFileAtomic(file, token, mode);
  await chmod(file, mode); // the umask may have narrowed or widened the create mode
  return file;
}

export async function writeDiscovery(stateDir: string, discovery: AgentDiscovery): Promise<void> {
  await writeFileAtomic(discoveryPath(stateDir), `${JSON.stringify(discovery, null, 2)}\n`, 0o644);
}

export async function removeDiscovery(stateDir: string): Promise<void> {
  await rm(discoveryPath(stateDir), { force: true });
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
