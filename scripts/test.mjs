// The README's test command: typecheck, build the shipped bundle, then run every test file
// with node's own runner (TypeScript through tsx).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findWine, wineEnv, wineserverFor } from './wine.mjs';

const run = (cmd, args) => {
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

const findTests = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return findTests(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test').sort();
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
run(process.execPath, ['scripts/build.mjs']);
// The Windows lane (test/windows/) shares one Wine prefix per run, created by its first test;
// it is several hundred MB, so it goes when the run ends.
const winePrefix = mkdtempSync(path.join(os.tmpdir(), 'as2creds-wineprefix-'));
const tests = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, AS2CREDS_TEST_WINEPREFIX: path.join(winePrefix, 'prefix') },
});
const wine = findWine();
if (wine) spawnSync(wineserverFor(wine), ['-k'], { env: { ...process.env, ...wineEnv(path.join(winePrefix, 'prefix')) }, stdio: 'ignore', timeout: 30_000 });
rmSync(winePrefix, { recursive: true, force: true });
process.exit(tests.status ?? 1);
