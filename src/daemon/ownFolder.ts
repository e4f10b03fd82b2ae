import { mkdir } from 'node:fs/promises';
import { AgentError, ExitCode } from '../errors.js';
import { refusalMessage, type TrustRefusal } from '../trust/checkPathTrust.js';
import type { CheckTrust } from '../trust/pathTrust.js';

export interface OwnFolderRule {
  check: CheckTrust;
  /** false (strictPermissions off): a refusal is returned for a warning instead of thrown. */
  strict: boolean;
}

/**
 * Creates a folder the agent writes (state, logs) if needed, then insists it is the agent's own:
 * owned by root or the agent's user and writable by nobody else, nor any folder above it
 * (another account could otherwise plant symlinks or a fake agent.json there). Checked after
 * creating so a folder made under a hostile parent is refused too.
 */
export async function prepareOwnFolder(label: string, dir: string, mode: number, rule: OwnFolderRule): Promise<TrustRefusal | undefined> {
  await mkdir(dir, { recursive: true, mode });
  const refusal = await rule.check(dir);
  if (refusal && rule.strict) {
    throw new AgentError(`${label} ${refusalMessage(refusal)}: serve will not write there (another account could plant files in it); fix: ${refusal.fix}, or choose another folder`, {
      exitCode: ExitCode.usage,
      code: 'foreign-folder',
    });
  }
  return refusal;
}
