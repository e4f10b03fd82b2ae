/**
 * The structural secret scan. Every CLI, daemon or client process a test starts goes through
 * test/helpers/cli.ts (runCli, runProgram) or daemon.ts (startCli); they hand what the process
 * printed, and the log files it wrote, to `scanRun`, which fails the test when any secret this
 * test process knows about appears in it: raw, URL-encoded, base64 (at any byte alignment,
 * standard or URL alphabet) or as any 16-character fragment of those.
 *
 * Which secrets? Nobody has to opt in. The scan reads them where they live:
 *   - sandboxes from sandbox.ts (registered on creation): simulator/current.json,
 *     .aws/credentials, .aws/config, and the agent token in state/ (token, agent.json's tokenFile);
 *   - each process's own inputs: the profile files its AWS_SHARED_CREDENTIALS_FILE and
 *     AWS_CONFIG_FILE name, the state dir of --state-dir / APPSTREAM_CREDS_STATE_DIR, the
 *     simulator folder of `simulate --dir`, and secret-bearing variables in its environment;
 *   - values registered by helpers or tests: moto's admin key (moto.ts), hand-made secrets.
 * Every value ever seen stays known for the rest of the test file, so a generation rotated away
 * is still caught; while a process runs its sources are re-read every 100 ms.
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** 'credential': a secret key or session token; 'token': the agent's auth token (never printed). */
export type SecretKind = 'credential' | 'token';

interface Known {
  label: string;
  kind: SecretKind;
}

const known = new Map<string, Known>();
/** 16-character fragments of every known value in every encoded form -> which secret. */
const fragments = new Map<string, { label: string; kind: SecretKind; form: string }>();
const FRAGMENT = 16;
/** Shorter values would match by accident (and are not secrets any real source produces). */
const MIN_LENGTH = 16;

function encodings(value: string): Array<[string, string]> {
  const forms: Array<[string, string]> = [['value', value]];
  const url = encodeURIComponent(value);
  if (url !== value) forms.push(['URL-encoded value', url]);
  const bytes = Buffer.from(value, 'utf8');
  // base64 of a longer text holds the value's encoding at one of three byte alignments.
  for (let skip = 0; skip < 3; skip += 1) {
    const whole = Math.floor((bytes.length - skip) / 3) * 3;
    if (whole <= 0) continue;
    const chunk = bytes.subarray(skip, skip + whole);
    forms.push([`base64 of the value`, chunk.toString('base64')], [`base64url of the value`, chunk.toString('base64url')]);
  }
  return forms;
}

/** Makes `value` a known secret for the rest of this test process. */
export function registerSecret(label: string, value: string | undefined | null, kind: SecretKind = 'credential'): void {
  const v = value?.trim();
  if (!v || v.length < MIN_LENGTH || known.has(v)) return;
  known.set(v, { label, kind });
  for (const [form, text] of encodings(v)) {
    for (let at = 0; at + FRAGMENT <= text.length; at += 1) {
      const piece = text.slice(at, at + FRAGMENT);
      if (!fragments.has(piece)) fragments.set(piece, { label, kind, form });
    }
  }
}

export function knownSecretCount(): number {
  return known.size;
}

/** Every known secret, e.g. to prove a scan had something to look for. */
export function knownSecrets(): Array<{ label: string; kind: SecretKind; value: string }> {
  return [...known].map(([value, k]) => ({ value, ...k }));
}

const sandboxes = new Set<string>();

/** sandbox.ts calls this for every sandbox it creates. */
export function registerSandbox(dir: string): void {
  sandboxes.add(dir);
}
export function forgetSandbox(dir: string): void {
  sandboxes.delete(dir);
}

/**
 * A small regular file's text, else ''. Tests hand processes FIFOs, sockets and huge files on
 * purpose: opened non-blocking and checked before reading, so the scan never hangs on them.
 */
async function readText(file: string, maxBytes = 1024 * 1024): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return '';
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > maxBytes) return '';
    return await handle.readFile('utf8');
  } catch {
    return '';
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Secret values in an AWS profile file (either kind: static keys may sit in config too). */
async function fromProfileFile(file: string): Promise<void> {
  const text = await readText(file);
  for (const match of text.matchAll(/^\s*(aws_secret_access_key|aws_session_token|aws_security_token)\s*=\s*(\S+)\s*$/gim)) {
    registerSecret(`${match[1]} (${file})`, match[2]);
  }
}

async function fromSimulator(dir: string): Promise<void> {
  const text = await readText(path.join(dir, 'simulator', 'current.json'));
  if (!text.trim()) return;
  try {
    const c = JSON.parse(text) as Record<string, unknown>;
    for (const key of ['SecretAccessKey', 'SessionToken']) if (typeof c[key] === 'string') registerSecret(`${key} (${dir}/simulator/current.json)`, c[key] as string);
  } catch {
    // half-written: the next poll reads it
  }
}

async function fromStateDir(stateDir: string): Promise<void> {
  const tokenFiles = [path.join(stateDir, 'token')];
  const discovery = await readText(path.join(stateDir, 'agent.json'));
  try {
    const tokenFile = (JSON.parse(discovery || 'null') as { tokenFile?: unknown } | null)?.tokenFile;
    if (typeof tokenFile === 'string') tokenFiles.unshift(tokenFile);
  } catch {
    // half-written
  }
  for (const file of tokenFiles) registerSecret(`agent token (${file})`, await readText(file), 'token');
}

async function fromSandbox(dir: string): Promise<void> {
  await Promise.all([
    fromSimulator(dir),
    fromProfileFile(path.join(dir, '.aws', 'credentials')),
    fromProfileFile(path.join(dir, '.aws', 'config')),
    fromStateDir(path.join(dir, 'state')),
  ]);
}

/** What one process reads or writes that may hold secrets, from its argv and environment. */
export interface RunSources {
  profileFiles: string[];
  stateDirs: string[];
  simulatorDirs: string[];
  logDirs: string[];
}

const optionValue = (args: readonly string[], name: string): string | undefined => {
  const at = args.indexOf(name);
  if (at >= 0 && at + 1 < args.length) return args[at + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};

export function runSources(args: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): RunSources {
  const abs = (p: string | undefined): string[] => (p ? [path.resolve(cwd, p)] : []);
  const profileFiles = [...abs(env.AWS_SHARED_CREDENTIALS_FILE), ...abs(env.AWS_CONFIG_FILE)];
  const simulatorDirs = [...abs(optionValue(args, '--dir'))];
  // A simulated sandbox keeps the generation beside its .aws folder.
  for (const file of profileFiles) if (path.basename(path.dirname(file)) === '.aws') simulatorDirs.push(path.dirname(path.dirname(file)));
  return {
    profileFiles,
    stateDirs: [...abs(optionValue(args, '--state-dir')), ...abs(env.APPSTREAM_CREDS_STATE_DIR)],
    simulatorDirs,
    logDirs: [...abs(optionValue(args, '--log-dir')), ...abs(env.APPSTREAM_CREDS_LOG_DIR)],
  };
}

/** Variables that carry a secret when a test hands them to a process. */
const SECRET_VARIABLES: Record<string, SecretKind> = {
  AWS_SECRET_ACCESS_KEY: 'credential',
  AWS_SESSION_TOKEN: 'credential',
  AWS_SECURITY_TOKEN: 'credential',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'token',
};

export function registerFromEnv(env: Readonly<Record<string, string | undefined>>): void {
  for (const [name, kind] of Object.entries(SECRET_VARIABLES)) registerSecret(`${name} given to a process`, env[name], kind);
}

/** Re-reads every source: the registered sandboxes plus the given processes' own. */
export async function collect(sources: readonly RunSources[] = []): Promise<void> {
  const jobs: Array<Promise<void>> = [...sandboxes].map(fromSandbox);
  for (const s of sources) {
    jobs.push(...s.profileFiles.map(fromProfileFile), ...s.stateDirs.map(fromStateDir), ...s.simulatorDirs.map(fromSandbox));
  }
  await Promise.all(jobs);
}

/** Keeps collecting while a process runs, so every rotated generation becomes known. */
export function watchWhileRunning(sources: RunSources): () => Promise<void> {
  let pending: Promise<void> = collect([sources]);
  const timer = setInterval(() => {
    pending = pending.then(() => collect([sources])).catch(() => undefined);
  }, 100);
  return async () => {
    clearInterval(timer);
    await pending.catch(() => undefined);
    await collect([sources]);
  };
}

export interface Leak {
  where: string;
  label: string;
  form: string;
  context: string;
}

/**
 * The first known secret in `text`, or undefined. `allowCredentials`: the text is the product
 * (stdout of credential-process, env, exec): credentials may appear there, the agent token not.
 */
export function findLeak(text: string, where: string, allowCredentials = false): Leak | undefined {
  for (let at = 0; at + FRAGMENT <= text.length; at += 1) {
    const hit = fragments.get(text.slice(at, at + FRAGMENT));
    if (!hit || (allowCredentials && hit.kind === 'credential')) continue;
    // Show where, with the secret masked: never the secret itself.
    // (the 4 characters before may be an unaligned base64 prefix of the secret: masked too)
    const before = text.slice(Math.max(0, at - 60), Math.max(0, at - 4)) + text.slice(Math.max(0, at - 4), at).replace(/[A-Za-z0-9+/=_%-]/g, '*');
    const context = `${before}[SECRET]${text.slice(at + FRAGMENT, at + FRAGMENT + 20).replace(/[A-Za-z0-9+/=_%-]/g, '*')}`;
    return { where, label: hit.label, form: hit.form, context };
  }
  return undefined;
}

export const describeLeak = (leak: Leak): string =>
  `secret leak: ${leak.where} contains a fragment of the ${leak.form} of ${leak.label}: …${leak.context.replace(/\n/g, '⏎')}…`;

/**
 * Every log a process may have written, by path: all files under its log folders (rotated JSON
 * logs), and in each state folder its `*.log` files (start.log of `start`) and logs/.
 */
export async function readLogFiles(dirs: readonly string[], stateDirs: readonly string[] = []): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const add = async (file: string): Promise<void> => {
    if ((await stat(file).catch(() => undefined))?.isFile()) out.push([file, await readText(file, 64 * 1024 * 1024)]);
  };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else await add(full);
    }
  };
  for (const dir of [...dirs, ...stateDirs.map((d) => path.join(d, 'logs'))]) await walk(dir);
  for (const dir of stateDirs) {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (entry.name.endsWith('.log')) await add(path.join(dir, entry.name));
  }
  return out;
}

/** Leaks found in processes that ended (or were checked) since the last test ended. */
const pendingLeaks: string[] = [];
export function reportLeak(message: string): void {
  pendingLeaks.push(message);
}
export function takePendingLeaks(): string[] {
  return pendingLeaks.splice(0);
}
