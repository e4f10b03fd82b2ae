// credential-process answered by the running agent, against `node -e 0`.
import { readFile } from 'node:fs/promises';
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
    // The agent finds each caller in /proc/net/tcp: a table swollen by TIME_WAIT sockets (left
    // for 60 s by a scenario that opens thousands of connections) makes every lookup slower.
    const tableLines = (await readFile('/proc/net/tcp', 'latin1').catch(() => '')).split('\n').length - 2;
    return { scenario: `credential-process, through the running agent (/proc/net/tcp ${tableLines} lines)`, unit: 'ms', target: '≤ 1.5×', ...result };
  } finally {
    await agent.stop();
    await cleanup();
  }
}
