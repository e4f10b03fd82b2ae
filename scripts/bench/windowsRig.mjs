// A throwaway Wine prefix for the Windows benchmarks, with a wineserver that stays up for the
// whole scenario (so no run pays for starting it) and is killed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bootPrefix, ensureNodeWinExe, findWine, wineEnv, wineserverFor } from '../wine.mjs';

/** `{ skip }` when this machine has no Wine or cannot fetch node.exe. */
export async function openWindowsRig() {
  const wine = findWine();
  if (!wine) return { skip: 'Wine is not installed (apt-get install wine64)' };
  const nodeExe = await ensureNodeWinExe();
  if (typeof nodeExe !== 'string') return nodeExe;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'as2-bench-wine-'));
  const prefix = path.join(dir, 'prefix');
  bootPrefix(wine, prefix);
  const env = { ...process.env, ...wineEnv(prefix) };
  const server = spawn(wineserverFor(wine), ['-f', '-p'], { env, stdio: 'ignore' });
  /** Wall time of one Windows program run in ms; output to a file (node.exe under Wine cannot write to a pipe). */
  const timeWine = (program, args, extraEnv = {}) => {
    const out = openSync(path.join(dir, 'out.txt'), 'w');
    const started = process.hrtime.bigint();
    const result = spawnSync(wine, [program, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', out, out] });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    closeSync(out);
    if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} under Wine exited ${result.status}`);
    return ms;
  };
  const runWine = (program, args, extraEnv = {}) => {
    const file = path.join(dir, 'run.txt');
    const out = openSync(file, 'w');
    const result = spawnSync(wine, [program, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', out, out] });
    closeSync(out);
    return { status: result.status, file };
  };
  return {
    wine,
    nodeExe,
    dir,
    prefix,
    timeWine,
    runWine,
    close: async () => {
      spawnSync(wineserverFor(wine), ['-k'], { env, stdio: 'ignore', timeout: 30_000 });
      server.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const toWinPath = (p) => `Z:${path.resolve(p).replace(/\//g, '\\')}`;
