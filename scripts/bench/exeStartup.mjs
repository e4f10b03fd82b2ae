// Under Wine: `appstream-creds.exe credential-process` (the single executable application) and
// the dist/ bundle under the win32 node.exe, each against `node.exe -e 0` in the same run,
// alternating. Also reports the exe's size. Builds the exe first when dist-win/ lacks it.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { cli, compareRuns, root, sandbox } from './lib.mjs';
import { openWindowsRig, toWinPath } from './windowsRig.mjs';

const exe = path.join(root, 'dist-win', 'appstream-creds.exe');

export async function run({ runs = 20, target = 'exe' } = {}) {
  const scenario = target === 'exe' ? 'credential-process, appstream-creds.exe under Wine (vs node.exe -e 0)' : 'credential-process, dist/ bundle on node.exe under Wine (vs node.exe -e 0)';
  const rig = await openWindowsRig();
  if (rig.skip) return { scenario, unit: 'ms', target: 'report', skipped: rig.skip, candidate: { median: NaN }, baseline: null, ratio: null };
  const { dir, cleanup } = await sandbox();
  try {
    if (target === 'exe' && !existsSync(exe)) {
      const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-exe.mjs')], { stdio: 'inherit' });
      if (build.status !== 0) throw new Error('build:exe failed');
    }
    spawnSync(process.execPath, [cli, 'simulate', '--dir', dir, '--rotations', '1', '--validity', '6h'], { stdio: 'ignore' });
    const env = {
      AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, '.aws', 'credentials')),
      AWS_CONFIG_FILE: toWinPath(path.join(dir, '.aws', 'config')),
      APPSTREAM_CREDS_STATE_DIR: toWinPath(path.join(dir, 'no-agent')),
      // Wine's icacls is a stub: no ACL to check.
      APPSTREAM_CREDS_STRICT_PERMISSIONS: 'false',
    };
    const candidate = target === 'exe' ? () => rig.timeWine(exe, ['credential-process'], env) : () => rig.timeWine(rig.nodeExe, [toWinPath(cli), 'credential-process'], env);
    const result = compareRuns(runs, candidate, () => rig.timeWine(rig.nodeExe, ['-e', '0']));
    const sizeMiB = (statSync(target === 'exe' ? exe : rig.nodeExe).size / 1024 / 1024).toFixed(1);
    return { scenario: `${scenario}; ${target === 'exe' ? 'exe' : 'node.exe'} ${sizeMiB} MiB`, unit: 'ms', target: 'report', ...result };
  } finally {
    await cleanup();
    await rig.close();
  }
}
