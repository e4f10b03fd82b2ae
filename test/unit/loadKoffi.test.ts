/**
 * loadKoffi: where the native module is looked for (bundled: only beside the bundle or exe;
 * source tree: the installed package), failures as values, and a real load and call on this
 * machine from both the source tree and the built dist/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { build } from 'esbuild';
import path from 'node:path';
import { candidateFiles, loadKoffi, locateAndLoadKoffi, type KoffiLocator } from '../../src/native/loadKoffi.js';

const locator = (over: Partial<KoffiLocator>): KoffiLocator => ({
  platform: 'win32',
  arch: 'x64',
  appDirs: ['/opt/agent/dist'],
  exists: () => true,
  resolvePackage: () => {
    throw new Error('not installed');
  },
  dlopen: () => ({ load() {}, struct() {} }),
  ...over,
});

test('bundled: only the copy beside the bundle is a candidate', () => {
  assert.deepEqual(candidateFiles(locator({})), [path.join('/opt/agent/dist', 'native', 'koffi-win32-x64.node')]);
});

test('source tree: the installed platform package is used after the app folders', () => {
  const files = candidateFiles(locator({ appDirs: [], platform: 'linux', resolvePackage: () => '/repo/node_modules/@koromix/koffi-linux-x64/package.json' }));
  assert.deepEqual(files, ['/repo/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node']);
});

test('nothing installed: a reason naming the file, not a throw', () => {
  const result = locateAndLoadKoffi(locator({ exists: () => false }));
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.reason : '', /koffi-win32-x64\.node/);
});

test('a file that fails to load or is not koffi is a reason, not a throw', () => {
  const broken = locateAndLoadKoffi(locator({ dlopen: () => { throw new Error('invalid ELF header'); } }));
  assert.equal(broken.ok, false);
  assert.match(!broken.ok ? broken.reason : '', /did not load: invalid ELF header/);
  const other = locateAndLoadKoffi(locator({ dlopen: () => ({ hello: 1 }) }));
  assert.equal(other.ok, false);
  assert.match(!other.ok ? other.reason : '', /is not koffi/);
});

test('loads the real koffi on this machine and calls libc', { skip: process.platform !== 'linux' ? 'the libc call is Linux-only' : false }, () => {
  const result = loadKoffi();
  assert.equal(result.ok, true, !result.ok ? result.reason : '');
  if (!result.ok) return;
  const getpid = result.koffi.load('libc.so.6').func('int getpid()');
  assert.equal(getpid(), process.pid);
});

test('bundled like dist/, koffi loads from native/ beside the bundle without node_modules', { skip: process.platform !== 'linux' ? 'Linux build only' : false }, async () => {
  // A copy of dist/native outside the repo, so no node_modules above it could be what loads,
  // and the loader bundled the way scripts/build.mjs bundles main.cjs.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'as2creds-koffi-'));
  try {
    cpSync(path.join('dist', 'native'), path.join(dir, 'dist', 'native'), { recursive: true });
    await build({ entryPoints: ['src/native/loadKoffi.ts'], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: path.join(dir, 'dist', 'loader.cjs'), logLevel: 'error', define: { 'import.meta.url': 'undefined' } });
    const probe = path.join(dir, 'dist', 'probe.cjs');
    writeFileSync(probe, "const { loadKoffi } = require('./loader.cjs'); const r = loadKoffi(); console.log(JSON.stringify(r.ok ? { file: r.file, pid: r.koffi.load('libc.so.6').func('int getpid()')() } : r));\n");
    const out = spawnSync(process.execPath, [probe], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const result = JSON.parse(out.stdout) as { file: string; pid: number };
    assert.equal(result.file, path.join(dir, 'dist', 'native', 'koffi-linux-x64.node'));
    assert.equal(typeof result.pid, 'number');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
