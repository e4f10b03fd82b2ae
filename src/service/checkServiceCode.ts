import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { TrustRefusal } from '../trust/checkPathTrust.js';
import type { CheckTrust } from '../trust/pathTrust.js';

/** What a live install hands to the OS service: it runs these as root/SYSTEM or the agent's account. */
export interface ServiceCode {
  /** Single files run or read as code (the node binary for a node-hosted service). */
  files: readonly string[];
  /** Folders whose every file is code (dist/, the installed exe's bin\), where they exist. */
  trees: readonly string[];
  /** The install folder: judged itself, or its nearest existing folder above when it is new. */
  installFolder: string;
}

/** Past this many files a tree is not ours (a prefix pointed at a home folder): refuse, do not walk on. */
const MAX_FILES = 2_000;

/**
 * Whether the code a service will run is safe from other accounts: the install folder, every
 * file of the bundle (or exe folder) and the node binary must pass the daemon's ownership rule
 * (owned by root/SYSTEM/Administrators or the installing account, every folder above too,
 * writable by nobody else). An account that could write one of them would otherwise run its own
 * code as the agent once the service starts. The first refusal, or undefined.
 */
export async function checkServiceCode(code: ServiceCode, check: CheckTrust, pathApi: path.PlatformPath): Promise<TrustRefusal | undefined> {
  for (const file of code.files) {
    const refusal = await check(file);
    if (refusal) return refusal;
  }
  const folder = await nearestExisting(code.installFolder, pathApi);
  if (folder) {
    const refusal = await check(folder);
    if (refusal) return refusal;
  }
  for (const tree of code.trees) {
    const files: string[] = [];
    const overflow = await listFiles(tree, pathApi, files);
    if (overflow) return { file: tree, culprit: tree, reason: `holding more than ${MAX_FILES} files, which is not an install of this agent`, fix: 'pass a --prefix of its own' };
    for (const file of files) {
      const refusal = await check(file);
      if (refusal) return refusal;
    }
  }
  return undefined;
}

async function nearestExisting(folder: string, pathApi: path.PlatformPath): Promise<string | undefined> {
  for (let current = pathApi.resolve(folder); ; current = pathApi.dirname(current)) {
    if (await lstat(current).then(() => true, () => false)) return current;
    if (pathApi.dirname(current) === current) return undefined;
  }
}

/** Every entry under `dir` (links included: the rule judges where they lead); true past MAX_FILES. */
async function listFiles(dir: string, pathApi: path.PlatformPath, out: string[]): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const full = pathApi.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (await listFiles(full, pathApi, out)) return true;
    } else {
      out.push(full);
      if (out.length > MAX_FILES) return true;
    }
  }
  return false;
}
