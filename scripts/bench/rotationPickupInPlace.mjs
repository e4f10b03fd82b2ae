// Delay from a rotation landing on disk to the endpoint serving it, for writers that rewrite the
// profile in place (truncate + write) against the same run's rename writes as the baseline.
// In-place writes wait out the agent's settle period, so the ratio says what that costs.
import { sandbox, startAgent, stats } from './lib.mjs';
import { releaseClient, rotate } from './rotationPickup.mjs';

export async function run({ rotations = 40 } = {}) {
  const { dir, cleanup } = await sandbox();
  const { agent, discovery, token, env } = await startAgent(dir);
  try {
    const inPlace = [];
    const renamed = [];
    // Alternate, so machine noise hits both alike.
    for (let i = 0; i < rotations; i += 1) {
      inPlace.push(await rotate(env.AWS_SHARED_CREDENTIALS_FILE, discovery.credentialsUrl, token, `i${i}`, true));
      renamed.push(await rotate(env.AWS_SHARED_CREDENTIALS_FILE, discovery.credentialsUrl, token, `r${i}`, false));
    }
    const candidate = stats(inPlace);
    const baseline = stats(renamed);
    return { scenario: `rotation pickup, ${rotations} in-place writes (baseline: rename writes)`, unit: 'ms', target: 'p99 ≤ 1 s', candidate, baseline, ratio: candidate.median / baseline.median };
  } finally {
    releaseClient();
    await agent.stop();
    await cleanup();
  }
}
