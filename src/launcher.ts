/**
 * dist/appstream-creds.cjs: the entry every user, script and service unit runs. It loads the CLI
 * bundle (dist/main.cjs) through V8's code cache (dist/main.cjs.<platform>-<arch>-v8-<version>.cache, written by the build
 * from a run of `credential-process`), so a start-up skips parsing and compiling the bundle:
 * SDKs run `credential-process` on every refresh, and compiling was about a third of its cost.
 * Node 22's module.enableCompileCache does the same, but the product supports Node 20.
 *
 * The cache is read only from the folder this file is in: whoever can write it can rewrite the
 * bundle itself, so it adds no one to the trust base. V8 rejects a cache made by another V8
 * version, for other flags or for another source, and the bundle is then compiled as usual.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';

export const MAIN_BUNDLE = 'main.cjs';

/**
 * The cache's name says which V8 on which platform made it. V8 checks its own version and flags,
 * but a cache is not portable across platforms (Node's SEA documentation says so of the same
 * data), and dist/ built on Linux is also installed on Windows: there the name does not match,
 * and the bundle is compiled from source.
 */
export const codeCacheName = (platform: string = process.platform, arch: string = process.arch, v8: string = process.versions.v8): string =>
  `${MAIN_BUNDLE}.${platform}-${arch}-v8-${v8}.cache`;

// The same parameters node's own CommonJS wrapper passes.
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_TAIL = '\n})';

export interface LoadedMain {
  /** Whether V8 took the cache (false: none, or rejected and compiled from source). */
  readonly cacheUsed: boolean;
  /** Runs the CLI once, reading process.argv like any entry script. */
  run(): void;
  /** The code cache as it is now, including every function compiled by the runs so far. */
  createCache(): Buffer;
}

export function loadMain(distDir: string, { cache = true }: { cache?: boolean } = {}): LoadedMain {
  const file = path.join(distDir, MAIN_BUNDLE);
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  if (cache) {
    try {
      cachedData = readFileSync(path.join(distDir, codeCacheName()));
    } catch {
      // No cache (a build without one, or removed): compile from source.
    }
  }
  const script = new Script(WRAP_HEAD + source + WRAP_TAIL, { filename: file, ...(cachedData ? { cachedData } : {}) });
  return {
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    run() {
      const wrapper = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
      const module = { exports: {}, filename: file, id: file };
      wrapper.call(module.exports, module.exports, createRequire(file), module, file, distDir);
    },
    createCache: () => script.createCachedData(),
  };
}

if (require.main === module) loadMain(__dirname).run();
