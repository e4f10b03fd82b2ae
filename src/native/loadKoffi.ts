/**
 * Loads koffi (a maintained FFI) for the native calls the agent makes: netlink sock_diag on
 * Linux, advapi32/iphlpapi on Windows. koffi's JS wrapper only adds deprecation shims, so the
 * agent loads the prebuilt `koffi.node` itself with process.dlopen. That works the same from
 * the source tree (tsx), from dist/ (no node_modules there) and from the single executable
 * (whose require() sees built-ins only).
 *
 * Where it looks, first match wins; every place is as trusted as the code that loads it:
 *  1. bundled: `<bundle or exe folder>/native/koffi-<platform>-<arch>.node`, put there by the
 *     build, and nowhere else;
 *  2. from the source tree: the optional package `@koromix/koffi-<platform>-<arch>` installed
 *     beside this source file.
 *
 * Loaded once per process; a failure is a value (with its reason), never a throw, so each
 * caller can fall back to its non-native route and say which route it uses.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as KoffiModule from 'koffi';

export type Koffi = typeof KoffiModule;
export type KoffiLoad = { ok: true; koffi: Koffi; file: string } | { ok: false; reason: string };

export interface KoffiLocator {
  platform: NodeJS.Platform;
  arch: string;
  /** Folders that may hold `native/` (the bundle's folder, the exe's folder). */
  appDirs: string[];
  exists: (file: string) => boolean;
  /** Resolves a package file from the source tree's node_modules; throws when absent. */
  resolvePackage: (request: string) => string;
  dlopen: (file: string) => unknown;
}

/** The file name the build gives koffi's binary for one platform. */
export const nativeFileName = (platform: string, arch: string): string => `koffi-${platform}-${arch}.node`;

/** Folder inside `@koromix/koffi-<platform>-<arch>` that holds koffi.node (glibc build on Linux). */
export const packageTriplet = (platform: string, arch: string): string => `${platform}_${arch}`;

export function candidateFiles(locator: Pick<KoffiLocator, 'platform' | 'arch' | 'appDirs' | 'resolvePackage'>): string[] {
  const files = locator.appDirs.map((dir) => path.join(dir, 'native', nativeFileName(locator.platform, locator.arch)));
  try {
    const pkg = locator.resolvePackage(`@koromix/koffi-${locator.platform}-${locator.arch}/package.json`);
    files.push(path.join(path.dirname(pkg), packageTriplet(locator.platform, locator.arch), 'koffi.node'));
  } catch {
    // Not installed (dist/, the exe): the build's copy is the only place.
  }
  return files;
}

export function locateAndLoadKoffi(locator: KoffiLocator): KoffiLoad {
  const files = candidateFiles(locator).filter((file) => locator.exists(file));
  if (files.length === 0) return { ok: false, reason: `koffi's native module for ${locator.platform}-${locator.arch} is not installed (looked for native/${nativeFileName(locator.platform, locator.arch)})` };
  const file = files[0] as string;
  try {
    const koffi = locator.dlopen(file) as Koffi;
    if (typeof koffi?.load !== 'function' || typeof koffi?.struct !== 'function') return { ok: false, reason: `${file} is not koffi` };
    return { ok: true, koffi, file };
  } catch (error) {
    return { ok: false, reason: `${file} did not load: ${(error as Error).message}` };
  }
}

function processLocator(): KoffiLocator {
  // Bundled (dist/main.cjs, the exe's script), __filename is defined and the build's copy beside
  // it is the only place looked at (in the exe, __filename is the exe). From the source tree
  // (tsx, tests) it is not, and the package installed beside this source file is used: never
  // one found from the working folder, which may be anybody's. The builds define
  // import.meta.url away (cjs output has none).
  const bundled = typeof __filename === 'string';
  return {
    platform: process.platform,
    arch: process.arch,
    appDirs: bundled ? [path.dirname(__filename)] : [],
    exists: existsSync,
    resolvePackage: (request) => {
      if (bundled || !import.meta.url) throw new Error('bundled: no package lookup');
      return createRequire(import.meta.url).resolve(request);
    },
    dlopen: (file) => {
      const module = { exports: {} as unknown };
      process.dlopen(module, file);
      return module.exports;
    },
  };
}

let loaded: KoffiLoad | undefined;

/** koffi for this process, loaded on first use. */
export function loadKoffi(): KoffiLoad {
  loaded ??= locateAndLoadKoffi(processLocator());
  return loaded;
}
