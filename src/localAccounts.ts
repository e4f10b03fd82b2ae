import type { ReadText } from './network/procNetTcp.js';

/**
 * Local accounts from /etc/passwd and /etc/group: Node has no getpwuid/getgrouplist. Accounts
 * known only to a directory service (sssd, LDAP) are not seen; AppStream's local users
 * (as2-streaming-user, ImageBuilderAdmin) and the service's group are local.
 */
export interface LocalAccount {
  uid: number;
  name: string | undefined;
  /** Primary group and every group that lists the user as a member. */
  gids: number[];
}

export const PASSWD_FILE = '/etc/passwd';
export const GROUP_FILE = '/etc/group';

export async function localAccount(read: ReadText, uid: number, files = { passwd: PASSWD_FILE, group: GROUP_FILE }): Promise<LocalAccount> {
  const [passwd, group] = await Promise.all([read(files.passwd).catch(() => ''), read(files.group).catch(() => '')]);
  let name: string | undefined;
  const gids: number[] = [];
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields[2] === String(uid)) {
      name = fields[0];
      if (fields[3] && /^\d+$/.test(fields[3])) gids.push(Number(fields[3]));
      break;
    }
  }
  if (name !== undefined) {
    for (const line of group.split('\n')) {
      const [, , gid, members] = line.split(':');
      if (gid && /^\d+$/.test(gid) && members?.trim().split(',').includes(name)) gids.push(Number(gid));
    }
  }
  return { uid, name, gids };
}

/** The name of a uid, for messages (`uid 1001 (as2-streaming-user)`). */
export async function describeUid(read: ReadText, uid: number): Promise<string> {
  const { name } = await localAccount(read, uid);
  return name === undefined ? `uid ${uid}` : `uid ${uid} (${name})`;
}

/**
 * The uids of allow-list entries (user names or numeric uids), from /etc/passwd; `unknown` lists
 * the names no local account has (a uid is taken as it is, whether or not an account has it).
 */
export async function userIds(read: ReadText, entries: readonly string[], passwdFile = PASSWD_FILE): Promise<{ uids: number[]; unknown: string[] }> {
  const names = entries.filter((e) => !/^\d+$/.test(e));
  const uids = new Set(entries.filter((e) => /^\d+$/.test(e)).map(Number));
  const found = new Set<string>();
  if (names.length > 0) {
    const passwd = await read(passwdFile).catch(() => '');
    for (const line of passwd.split('\n')) {
      const [name, , uid] = line.split(':');
      if (name && names.includes(name) && uid && /^\d+$/.test(uid)) {
        uids.add(Number(uid));
        found.add(name);
      }
    }
  }
  return { uids: [...uids], unknown: names.filter((n) => !found.has(n)) };
}
