/**
 * The .NET and PowerShell lanes' tools, made once and shared by every test file of a run (and
 * by later runs: each lives in a folder named after its inputs): test/dotnet/StsCaller built
 * against one AWSSDK version, and PowerShell 7 installed as a .NET tool. Both come from NuGet
 * through `dotnet`; where dotnet or NuGet is missing the lane is skipped with the reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './cli.js';

/** The AWSSDK versions images carry: 4.x, the last 3.7 NuGet serves, and a 3.7 older than the token file (3.7.302). */
export const SDKS = {
  v4: { core: '4.1.1', sts: '4.1.0.1' },
  v37: { core: '3.7.501.1', sts: '3.7.202' },
  v37old: { core: '3.7.202.18', sts: '3.7.202' },
} as const;
export type SdkName = keyof typeof SDKS;

export const POWERSHELL_VERSION = '7.6.10';
const CALLER_SOURCE = path.join(repoRoot, 'test', 'dotnet', 'StsCaller');
const CACHE = process.env.AS2CREDS_TEST_DOTNET_CACHE ?? path.join(os.tmpdir(), 'as2creds-dotnet-cache');

/** Why the lane cannot run here, or undefined. */
export function dotnetMissing(): string | undefined {
  const probe = spawnSync('dotnet', ['--version'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error) return 'dotnet is not on PATH (install the .NET SDK 10: https://dot.net)';
  if (probe.status !== 0) return `dotnet --version failed: ${probe.stderr.trim()}`;
  return undefined;
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1', DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** NuGet could not be reached (restore or tool install): a reason to skip, not a failure. */
const NUGET_UNREACHABLE = /NU1301|NU1101|NU1102|Unable to load the service index|unable to find package|could not be found|Name or service not known|Connection refused|timed out/i;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * `make` fills a fresh folder; the folder becomes `target` when it succeeds. An exclusive lock
 * file makes concurrent test files wait for one maker instead of building twice (2 cores).
 */
async function once(target: string, make: (dir: string) => Promise<string | undefined>): Promise<{ dir: string } | { skip: string }> {
  mkdirSync(path.dirname(target), { recursive: true });
  const lock = `${target}.lock`;
  for (;;) {
    if (existsSync(path.join(target, '.done'))) return { dir: target };
    try {
      closeSync(openSync(lock, 'wx'));
      writeFileSync(lock, String(process.pid));
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8').trim() || '0');
      // A lock whose maker died (or that is still being written) is taken over after a look.
      if (holder > 0 && !alive(holder)) rmSync(lock, { force: true });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (existsSync(path.join(target, '.done'))) return { dir: target };
    const temp = `${target}.tmp-${process.pid}`;
    rmSync(temp, { recursive: true, force: true });
    mkdirSync(temp, { recursive: true });
    const skip = await make(temp);
    if (skip) {
      rmSync(temp, { recursive: true, force: true });
      return { skip };
    }
    writeFileSync(path.join(temp, '.done'), '');
    rmSync(target, { recursive: true, force: true });
    renameSync(temp, target);
    return { dir: target };
  } finally {
    rmSync(lock, { force: true });
  }
}

const sourceHash = (): string => {
  const hash = createHash('sha256');
  for (const name of readdirSync(CALLER_SOURCE).filter((n) => /\.(cs|csproj)$/.test(n)).sort()) hash.update(name).update(readFileSync(path.join(CALLER_SOURCE, name)));
  return hash.digest('hex').slice(0, 12);
};

export interface StsCaller {
  sdk: SdkName;
  /** The built program; run it with `dotnet <dll>`. */
  dll: string;
  /** Its folder, which also holds the restored AWSSDK.Core.dll and AWSSDK.SecurityToken.dll. */
  dir: string;
}

const builds = new Map<SdkName, Promise<StsCaller | { skip: string }>>();

/** test/dotnet/StsCaller built against one SDK version (once per inputs), or why it cannot be. */
export function stsCaller(sdk: SdkName): Promise<StsCaller | { skip: string }> {
  const missing = dotnetMissing();
  if (missing) return Promise.resolve({ skip: missing });
  let build = builds.get(sdk);
  if (!build) {
    const { core, sts } = SDKS[sdk];
    build = once(path.join(CACHE, `StsCaller-${sourceHash()}-core${core}`), async (dir) => {
      const src = path.join(dir, 'src');
      cpSync(CALLER_SOURCE, src, { recursive: true, filter: (from) => !/[\\/](bin|obj)$/.test(from) });
      const built = await run('dotnet', ['build', '-nologo', '-v', 'q', '-c', 'Release', `-p:AwsSdkCoreVersion=${core}`, `-p:AwsSdkStsVersion=${sts}`, '-o', path.join(dir, 'out')], src);
      if (built.code === 0) return undefined;
      if (NUGET_UNREACHABLE.test(built.output)) return `NuGet did not serve AWSSDK.Core ${core} / AWSSDK.SecurityToken ${sts}: ${built.output.split('\n').find((l) => NUGET_UNREACHABLE.test(l))?.trim()}`;
      throw new Error(`dotnet build of StsCaller (AWSSDK.Core ${core}) failed:\n${built.output}`);
    }).then((result) => ('skip' in result ? result : { sdk, dir: path.join(result.dir, 'out'), dll: path.join(result.dir, 'out', 'StsCaller.dll') }));
    builds.set(sdk, build);
  }
  return build;
}

let powershell: Promise<{ pwsh: string } | { skip: string }> | undefined;

/** PowerShell 7 (`pwsh`), installed once as a .NET tool from NuGet, or why it cannot be. */
export function pwsh(): Promise<{ pwsh: string } | { skip: string }> {
  const missing = dotnetMissing();
  if (missing) return Promise.resolve({ skip: `PowerShell 7 installs as a .NET tool: ${missing}` });
  powershell ??= once(path.join(CACHE, `pwsh-${POWERSHELL_VERSION}`), async (dir) => {
    // The version is always given: without it the newest is taken, which does not install here.
    const installed = await run('dotnet', ['tool', 'install', '--tool-path', dir, 'PowerShell', '--version', POWERSHELL_VERSION], dir);
    if (installed.code === 0) return undefined;
    if (NUGET_UNREACHABLE.test(installed.output)) return `NuGet did not serve PowerShell ${POWERSHELL_VERSION}: ${installed.output.trim().split('\n')[0]}`;
    throw new Error(`dotnet tool install PowerShell ${POWERSHELL_VERSION} failed:\n${installed.output}`);
  }).then((result) => ('skip' in result ? result : { pwsh: path.join(result.dir, 'pwsh') }));
  return powershell;
}
