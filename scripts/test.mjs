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

// Prerequisites first: a missing one otherwise surfaces as an obscure failure deep in a test
// ("moto.server exited early"). Each line says what is missing and how to get it.
function missingPrerequisites() {
  const missing = [];
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) missing.push(`Node.js >= 20 (this is ${process.version}): install a current Node.js LTS`);
  // One interpreter start checks every module (each start costs a noticeable moment).
  const probe = 'import importlib, sys\nfor m in sys.argv[1:]:\n    try:\n        importlib.import_module(m)\n    except Exception:\n        print(m)';
  const modules = { 'moto.server': ['"moto[server]>=5"', "moto's STS server"], boto3: ['boto3', 'boto3 (a real client in the tests)'], awscli: ['awscli', 'the AWS CLI v1'] };
  const python = spawnSync('python3', ['-c', probe, ...Object.keys(modules)], { encoding: 'utf8' });
  if (python.error || python.status !== 0) {
    missing.push('python3: install it (Debian/Ubuntu: apt-get install python3 python3-pip), then: python3 -m pip install "moto[server]>=5" boto3 awscli');
    return missing;
  }
  for (const module of python.stdout.split(/\s+/).filter(Boolean)) {
    const [pkg, what] = modules[module];
    missing.push(`${what}: python3 cannot import ${module}; install it with: python3 -m pip install ${pkg}`);
  }
  const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  if (aws.error) missing.push('the `aws` command (AWS CLI v1) is not on PATH: python3 -m pip install awscli, and put pip\'s bin folder on PATH');
  return missing;
}

const missing = process.env.APPSTREAM_CREDS_SKIP_PREREQUISITES === '1' ? [] : missingPrerequisites();
if (missing.length > 0) {
  process.stderr.write(`npm test: missing test prerequisites (README: Development > Test prerequisites):\n${missing.map((m) => `  - ${m}`).join('\n')}\n`);
  process.exit(1);
}

const only = process.argv.slice(2);
// Longest first: with two files at a time, a long file started last runs alone at the end. The
// Windows lane holds the longest (the service file alone takes minutes of Wine starts).
const lane = (file) => {
  const unix = file.split(path.sep).join('/');
  if (unix.endsWith('test/windows/service.test.ts')) return 0;
  return unix.includes('test/windows/') ? 1 : 2;
};
const files = only.length > 0 ? only : findTests('test').sort((a, b) => lane(a) - lane(b) || a.localeCompare(b));
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
run(process.execPath, ['scripts/build.mjs']);
// The Windows lane's exe (dist-win/), built once here: its test files share it, and one file
// rebuilding dist-win/ while another installs from it would race. A failed build is left to
// those files to report (they build it themselves when it is missing).
if (findWine() && files.some((file) => file.split(path.sep).join('/').includes('test/windows/'))) spawnSync(process.execPath, ['scripts/build-exe.mjs'], { stdio: 'inherit' });
// The Windows lane (test/windows/) shares one Wine prefix per run, created by its first test;
// it is several hundred MB, so it goes when the run ends.
const winePrefix = mkdtempSync(path.join(os.tmpdir(), 'as2creds-wineprefix-'));
// The timeout also bounds each test file: the Windows service file makes some 60 Wine process
// starts (install, upgrade, uninstall), several seconds each on a loaded 2-core machine.
const tests = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, AS2CREDS_TEST_WINEPREFIX: path.join(winePrefix, 'prefix') },
});
const wine = findWine();
if (wine) spawnSync(wineserverFor(wine), ['-k'], { env: { ...process.env, ...wineEnv(path.join(winePrefix, 'prefix')) }, stdio: 'ignore', timeout: 30_000 });
rmSync(winePrefix, { recursive: true, force: true });
process.exit(tests.status ?? 1);
