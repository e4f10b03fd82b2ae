// Under Wine: `appstream-creds.exe credential-process` (the single executable application) and
// the dist/ bundle under the win32 node.exe, each against `node.exe -e 0` in the same run,
// alternating. Also reports the exe's size. Builds the exe first when dist-win/ lacks it.
//
// As installed: the exe sits in C:\bench\bin\ with native\koffi-win32-x64.node beside it (what
// install.cmd puts in <install>\bin\), and the profile on the prefix's C: drive, so the strict
// ownership rule (the default) runs through the native SID route, as on an image. Z:\tmp would
// be refused (Wine shows /tmp as Everyone-writable), hence C:.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { cli, compareRuns, root } from './lib.mjs';
import { openWindowsRig, toWinPath } from './windowsRig.mjs';

const distWin = path.join(root, 'dist-win');
const NATIVE = path.join('native', 'koffi-win32-x64.node');

export async function run({ runs = 20, target = 'exe' } = {}) {
  const scenario = target === 'exe' ? 'credential-process, installed appstream-creds.exe under Wine, strict (native SID route) (vs node.exe -e 0)' : 'credential-process, dist/ bundle on node.exe under Wine, strict (native SID route) (vs node.exe -e 0)';
  const rig = await openWindowsRig();
  if (rig.skip) return { scenario, unit: 'ms', target: 'report', skipped: rig.skip, candidate: { median: NaN }, baseline: null, ratio: null };
  try {
    if (target === 'exe' && !existsSync(path.join(distWin, NATIVE))) {
      const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-exe.mjs')], { stdio: 'inherit' });
      if (build.status !== 0) throw new Error('build:exe failed');
    }
    const bench = path.join(rig.prefix, 'drive_c', 'bench');
    const exe = path.join(bench, 'bin', 'appstream-creds.exe');
    await mkdir(path.join(bench, 'bin', 'native'), { recursive: true });
    await copyFile(path.join(distWin, 'appstream-creds.exe'), exe);
    await copyFile(path.join(distWin, NATIVE), path.join(bench, 'bin', NATIVE));
    spawnSync(process.execPath, [cli, 'simulate', '--dir', path.join(bench, 'home'), '--rotations', '1', '--validity', '6h'], { stdio: 'ignore' });
    const env = {
      AWS_SHARED_CREDENTIALS_FILE: 'C:\\bench\\home\\.aws\\credentials',
      AWS_CONFIG_FILE: 'C:\\bench\\home\\.aws\\config',
      APPSTREAM_CREDS_STATE_DIR: 'C:\\bench\\no-agent',
    };
    const candidate = target === 'exe' ? () => rig.timeWine(exe, ['credential-process'], env) : () => rig.timeWine(rig.nodeExe, [toWinPath(cli), 'credential-process'], env);
    const result = compareRuns(runs, candidate, () => rig.timeWine(rig.nodeExe, ['-e', '0']));
    const sizeMiB = (statSync(target === 'exe' ? exe : rig.nodeExe).size / 1024 / 1024).toFixed(1);
    return { scenario: `${scenario}; ${target === 'exe' ? 'exe' : 'node.exe'} ${sizeMiB} MiB`, unit: 'ms', target: 'report', ...result };
  } finally {
    await rig.close();
  }
}
