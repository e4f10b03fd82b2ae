import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { newToken } from '../agent/discovery.js';

const TOKEN = /^[0-9a-f]{64}$/;

/**
 * The token a previous start left in `file`, when that file is a regular file of the agent's
 * own account, writable by nobody else, holding exactly a token this agent writes; otherwise a
 * new one. Kept so that a token a client took into its environment (an `exec` child or a login
 * shell giving clients older than the token file AWS_CONTAINER_AUTHORIZATION_TOKEN) still
 * opens the agent after a restart. Only where the agent checks the calling user (Linux): there
 * a token alone opens nothing for a user the rule no longer allows, so keeping it revokes no
 * one late. Where the token is the only boundary (Windows), `keep` is false: each start makes a
 * new one, so a restart revokes a token handed out under an older tokenGroup.
 */
export async function keptToken(file: string, keep: { agentUid: number } | false): Promise<{ token: string; kept: boolean }> {
  if (keep) {
    const previous = await readOwnToken(file, keep.agentUid).catch(() => undefined);
    if (previous) return { token: previous, kept: true };
  }
  return { token: await newToken(), kept: false };
}

async function readOwnToken(file: string, agentUid: number): Promise<string | undefined> {
  const handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  try {
    const s = await handle.stat();
    if (!s.isFile() || s.uid !== agentUid || (s.mode & 0o022) !== 0 || s.size !== 64) return undefined;
    const text = (await handle.readFile()).toString('latin1');
    return TOKEN.test(text) ? text : undefined;
  } finally {
    await handle.close();
  }
}
