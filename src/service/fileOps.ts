import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, readlink, rename, rm, rmdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../writeFileAtomic.js';

/**
 * The file operations the service managers need, injected so the Windows manager is tested
 * with an in-memory fake on Linux. Every "create" returns the folders it had to make
 * (outermost first), so installers can record exactly what they added.
 */
export interface FileOps {
  readText(file: string): Promise<string | undefined>;
  exists(file: string): Promise<boolean>;
  /** Temp file + fsync + rename, then the exact mode; creates missing parent folders. */
  writeAtomic(file: string, data: string | Uint8Array, mode: number): Promise<string[]>;
  copy(from: string, to: string): Promise<string[]>;
  ensureDir(dir: string): Promise<string[]>;
  /** Removes a file or symlink; false when there was none. */
  remove(file: string): Promise<boolean>;
  removeDirIfEmpty(dir: string): Promise<boolean>;
  readLink(file: string): Promise<string | undefined>;
  symlink(target: string, file: string): Promise<string[]>;
}

const exists = async (file: string): Promise<boolean> => {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
};

async function ensureDir(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); !(await exists(current)); ) {
    missing.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  if (missing.length > 0) await mkdir(dir, { recursive: true, mode: 0o755 });
  return missing;
}

export const nodeFileOps: FileOps = {
  readText: (file) => readFile(file, 'utf8').catch(() => undefined),
  exists,
  async writeAtomic(file, data, mode) {
    const created = await ensureDir(path.dirname(file));
    // The exact mode is set on the temp file's descriptor (the umask cannot narrow it), never by
    // path after the rename: a path can be swapped for a symlink, a descriptor cannot.
    await writeFileAtomic(file, data, mode);
    return created;
  },
  async copy(from, to) {
    const created = await ensureDir(path.dirname(to));
    const temp = path.join(path.dirname(to), `.${path.basename(to)}.${randomBytes(6).toString('hex')}.tmp`);
    // COPYFILE_EXCL: the temp name is created, never opened (nor followed, if something planted it).
    await copyFile(from, temp, constants.COPYFILE_EXCL);
    try {
      await rename(temp, to);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return created;
  },
  ensureDir,
  async remove(file) {
    if (!(await exists(file))) return false;
    await rm(file, { force: true });
    return true;
  },
  async removeDirIfEmpty(dir) {
    try {
      await rmdir(dir);
      return true;
    } catch {
      return false;
    }
  },
  readLink: (file) => readlink(file).catch(() => undefined),
  async symlink(target, file) {
    const created = await ensureDir(path.dirname(file));
    await symlink(target, file);
    return created;
  },
};
