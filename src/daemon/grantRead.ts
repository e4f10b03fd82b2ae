import { execFile } from 'node:child_process';

/** Who besides the owner may read a file: users and at most one group, by number. */
export interface ReadGrant {
  uids: readonly number[];
  gid?: number | undefined;
}

/** Runs a program without a shell; resolves with its exit code and stderr's last line. */
export type RunProgram = (command: string, args: readonly string[]) => Promise<{ code: number; stderr: string }>;

export const runProgram: RunProgram = (command, args) =>
  new Promise((resolve) => {
    execFile(command, [...args], { timeout: 10_000, windowsHide: true }, (error, _stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : -1) : 0;
      const reason = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT' ? 'setfacl is not installed (package acl)' : String(stderr).trim().split('\n').pop() ?? '';
      resolve({ code, stderr: reason });
    });
  });

/** `u:1001:r,g:996:r,m::r`: read for each, and a mask of read so no entry grants more. */
export const aclSpec = (grant: ReadGrant): string => [...grant.uids.map((uid) => `u:${uid}:r`), ...(grant.gid === undefined ? [] : [`g:${grant.gid}:r`]), 'm::r'].join(',');

/**
 * POSIX ACL entries that let exactly these users (and group) read `file`, which is the agent's
 * own (a temp file in its state folder, not yet renamed into place). Through setfacl: Node has
 * no ACL call. Throws with the reason when the ACL cannot be set (no setfacl, a file system
 * mounted without ACLs): the caller decides what that means.
 */
export async function grantRead(file: string, grant: ReadGrant, run: RunProgram = runProgram): Promise<void> {
  if (grant.uids.length === 0 && grant.gid === undefined) return;
  const result = await run('setfacl', ['-m', aclSpec(grant), '--', file]);
  if (result.code !== 0) throw new Error(result.stderr || `setfacl exited with ${result.code}`);
}
