// credential-process in direct mode (static profile, no agent) against `node -e 0`.
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cli, compareRuns, sandbox, timeRun } from './lib.mjs';

export async function run({ runs = 30 } = {}) {
  const { dir, cleanup } = await sandbox();
  try {
    spawnSync(process.execPath, [cli, 'simulate', '--dir', dir, '--rotations', '1', '--validity', '6h'], { stdio: 'ignore' });
    const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'no-agent') };
    const result = compareRuns(
      runs,
      () => timeRun(process.execPath, [cli, 'credential-process'], env),
      () => timeRun(process.execPath, ['-e', '0'], {}),
    );
    return { scenario: 'credential-process, direct (static profile)', unit: 'ms', target: '≤ 1.5×', ...result };
  } finally {
    await cleanup();
  }
}
