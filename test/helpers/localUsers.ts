import { execFileSync } from 'node:child_process';

/**
 * Real local accounts for tests that act as another user (root only). Names carry a prefix
 * and the test process's pid so parallel runs never collide; `remove` deletes them even when
 * the test failed.
 */
export interface LocalUsers {
  /** Creates a user with no home; `groups` are supplementary groups made by `group`. */
  user(name: string, groups?: string[]): { name: string; uid: number };
  group(name: string): { name: string; gid: number };
  remove(): void;
}

export const notRootReason = (): string | false =>
  process.platform !== 'linux' ? 'needs Linux (/proc/net/tcp, useradd)' : process.getuid?.() !== 0 ? 'needs root to create a second local user (useradd); CI runs as root' : false;

export function localUsers(prefix: string): LocalUsers {
  const users: string[] = [];
  const groups: string[] = [];
  const full = (name: string): string => `${prefix}${process.pid}${name}`.slice(0, 31);
  return {
    group(name) {
      const group = full(name);
      execFileSync('groupadd', [group]);
      groups.push(group);
      return { name: group, gid: Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]) };
    },
    user(name, memberOf = []) {
      const user = full(name);
      execFileSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', ...(memberOf.length ? ['-G', memberOf.join(',')] : []), user]);
      users.push(user);
      return { name: user, uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()) };
    },
    remove() {
      for (const user of users.splice(0)) {
        try {
          execFileSync('userdel', ['-r', user], { stdio: 'ignore' });
        } catch {
          // -r complains about the missing home; the account is gone regardless.
        }
      }
      for (const group of groups.splice(0)) execFileSync('groupdel', [group], { stdio: 'ignore' });
    },
  };
}
