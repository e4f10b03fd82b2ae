import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

// pid + counter names the temp file uniquely without loading crypto; O_EXCL guards the rest.
let sequence = 0;

// Created, never opened: O_EXCL fails on any existing name (a planted symlink included), and
// O_NOFOLLOW says so twice where the OS has it (not Windows).
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

export interface AtomicWriteOptions {
  /** POSIX group to give the file (set on the open file, like the mode). */
  gid?: number;
  /**
   * Sets the temp file's access right after its mode, before any content is written: the DACL of
   * the agent's own files on Windows, POSIX ACL entries for a role's users on Linux (after chmod,
   * which would reset an ACL's mask). By path: the temp name is ours (O_EXCL) in a folder only
   * the agent writes.
   */
  protect?: (temp: string) => Promise<void>;
}

/**
 * Writes through a temp file in the same folder, fsyncs it, then renames it over the target,
 * so readers see the old content or the new, never a torn mix, and a crash leaves the old file.
 * Mode and group are set on the open descriptor before the rename, never by path afterwards: a
 * path can be swapped for a symlink between two calls, a descriptor cannot.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o600, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.${(sequence += 1)}.tmp`);
  const handle = await open(temp, CREATE_FLAGS, mode);
  try {
    if (options.gid !== undefined) await handle.chown(-1, options.gid);
    // The umask may have narrowed or widened the create mode.
    if (process.platform !== 'win32') await handle.chmod(mode);
    if (options.protect) await options.protect(temp);
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
