// credential-process answered by the running agent, against `node -e 0`.
import { cli, compareRuns, sandbox, startAgent, timeRun } from './lib.mjs';

export async function run({ runs = 30 } = {}) {
  const { dir, cleanup } = await sandbox();
  const { agent, stateDir } = await startAgent(dir);
  try {
    // No profile files in reach: the answer can only come from the agent.
    const env = { APPSTREAM_CREDS_STATE_DIR: stateDir, AWS_SHARED_CREDENTIALS_FILE: `${dir}/absent`, AWS_CONFIG_FILE: `${dir}/absent` };
    const result = compareRuns(
      runs,
      () => timeRun(process.execPath, [cli, 'credential-process'], env),
      () => timeRun(process.execPath, ['-e', '0'], {}),
    );
    return { scenario: 'credential-process, through the running agent', unit: 'ms', target: '≤ 1.5×', ...result };
  } finally {
    await agent.stop();
    await cleanup();
  }
}
