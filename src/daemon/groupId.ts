import { readFile } from 'node:fs/promises';
import { usageError } from '../errors.js';

/**
 * The numeric id of a POSIX group, by name (from /etc/group) or as a number. Node has no
 * getgrnam; the service's group is a local system group, so /etc/group holds it.
 */
export async function groupId(group: string, groupFile = '/etc/group'): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const text = await readFile(groupFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw usageError(`setting tokenGroup: no group named "${group}" in ${groupFile}`);
}
