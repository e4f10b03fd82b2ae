// koffi's prebuilt binaries for dist/native/ (src/native/loadKoffi.ts loads them from there).
// Linux's comes from the installed optional package. Windows' is not installed on Linux (npm
// skips optional packages for other platforms), so it is fetched once with `npm pack` at the
// exact version and integrity package-lock.json records, and cached under node_modules/.cache.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '..');
const cacheDir = path.join(repoRoot, 'node_modules', '.cache', 'koffi-native');

/** The platforms dist/ carries koffi for: the build machine's own, and Windows x64 for the exe and the Wine lane. */
export const NATIVE_TARGETS = [
  { platform: 'linux', arch: 'x64' },
  { platform: 'win32', arch: 'x64' },
];

const nativeFileName = (platform, arch) => `koffi-${platform}-${arch}.node`;

async function lockEntry(name) {
  const lock = JSON.parse(await readFile(path.join(repoRoot, 'package-lock.json'), 'utf8'));
  return lock.packages?.[`node_modules/${name}`];
}

async function fetchPackage(name, entry) {
  const dir = path.join(cacheDir, `${name.replace(/[@/]/g, '_')}-${entry.version}`);
  if (existsSync(path.join(dir, 'package', 'package.json'))) return path.join(dir, 'package');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const pack = spawnSync('npm', ['pack', `${name}@${entry.version}`, '--silent', '--pack-destination', dir], { encoding: 'utf8', shell: process.platform === 'win32' });
  if (pack.status !== 0) throw new Error(`npm pack ${name}@${entry.version} failed: ${(pack.stderr || pack.stdout).trim()}`);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack ${name} left no tarball`);
  const [algorithm, expected] = entry.integrity.split('-');
  const actual = createHash(algorithm).update(await readFile(path.join(dir, tarball))).digest('base64');
  if (actual !== expected) throw new Error(`${name}@${entry.version}: integrity ${algorithm}-${actual} does not match package-lock.json`);
  const untar = spawnSync('tar', ['-xzf', tarball], { cwd: dir, encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed: ${untar.stderr}`);
  return path.join(dir, 'package');
}

/**
 * Copies each target's koffi.node into `<outDir>/native/`. A target that cannot be had (no
 * registry, another build machine) is reported and skipped: the agent then uses its non-native
 * routes there and says so.
 */
export async function copyNativeModules(outDir, log = (line) => console.warn(line)) {
  await mkdir(path.join(outDir, 'native'), { recursive: true });
  for (const { platform, arch } of NATIVE_TARGETS) {
    const name = `@koromix/koffi-${platform}-${arch}`;
    try {
      const entry = await lockEntry(name);
      if (!entry?.integrity) throw new Error(`package-lock.json has no entry for ${name}`);
      const installed = path.join(repoRoot, 'node_modules', name);
      const pkgDir = existsSync(path.join(installed, 'package.json')) ? installed : await fetchPackage(name, entry);
      await copyFile(path.join(pkgDir, `${platform}_${arch}`, 'koffi.node'), path.join(outDir, 'native', nativeFileName(platform, arch)));
    } catch (error) {
      log(`build: no native module for ${platform}-${arch} (${error.message}); native checks fall back there`);
    }
  }
}
