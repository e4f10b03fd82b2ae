import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

// pid + counter names the temp file uniquely without loading crypto; 'wx' guards the rest.
let sequence = 0;

/**
 * Writes through a temp file in the same folder, fsyncs it, then renames it over the target,
 * so readers see the old content or the new, never a torn mix, and a crash leaves the old file.
 */
export async function writeFileAtomic(target: string, data: string, mode = 0o600): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.${(sequence += 1)}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
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
