import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startCli, waitFor, type AgentRig, type Discovery } from './daemon.js';

/** A full credential set as AppStream writes it: 20-character ASIA key id, 40-character secret, token. */
export interface Triple {
  id: string;
  secret: string;
  token: string;
}

let minted = 0;
export function mintTriple(): Triple {
  minted += 1;
  return {
    id: `ASIA${String(minted).padStart(4, '0')}${randomBytes(6).toString('hex').toUpperCase()}`,
    secret: randomBytes(30).toString('base64'),
    token: randomBytes(96).toString('base64'),
  };
}

export const staticProfile = (c: Triple, profile = 'appstream_machine_role'): string =>
  `[${profile}]\naws_access_key_id = ${c.id}\naws_secret_access_key = ${c.secret}\naws_session_token = ${c.token}\n`;

/**
 * Issue 20's in-place writer: the key line first, then after `pauseMs` the rest; `truncate`
 * empties the file first (O_TRUNC), else it overwrites in place. Returns the pause as it really
 * was: a loaded machine stretches a 30 ms sleep.
 */
export async function writeTwoStep(file: string, next: Triple, pauseMs: number, truncate: boolean): Promise<number> {
  const text = staticProfile(next);
  const cut = text.indexOf('aws_secret_access_key');
  const handle = await open(file, truncate ? 'w' : 'r+');
  try {
    await handle.write(text.slice(0, cut), 0);
    await handle.sync();
    const paused = performance.now();
    await new Promise((r) => setTimeout(r, pauseMs));
    await handle.write(text.slice(cut), Buffer.byteLength(text.slice(0, cut)));
    return performance.now() - paused;
  } finally {
    await handle.close();
  }
}

/** Writes a temp file and renames it over `file`: a complete file at every instant. */
export async function replaceFile(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp-${process.pid}`, text, { mode: 0o600 });
  await rename(`${file}.tmp-${process.pid}`, file);
}

export interface Status {
  state: string;
  current: { keyId: string } | null;
  lastError: { code: string; message: string; at: string } | null;
}

export interface FaultAgent extends AgentRig {
  credentials(): Promise<{ status: number; body: Record<string, string> }>;
  status(): Promise<Status>;
  health(): Promise<number>;
  /** Waits (hang guard, not a timing assertion) until the agent serves this key id. */
  waitServing(keyId: string, what: string, timeoutMs?: number): Promise<void>;
}

export interface FaultAgentOptions {
  dir: string;
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Runs the CLI under this launcher (faketime, sh -c 'ulimit …'). */
  launcher?: (argv: string[]) => { command: string; args: string[] };
}

/**
 * The real daemon from dist/ on a sandbox: its own state dir, ephemeral port, profile files
 * in `<dir>/.aws/`. It does not wait for credentials: several faults start without them.
 */
export async function startFaultAgent(options: FaultAgentOptions): Promise<FaultAgent> {
  const { dir } = options;
  await mkdir(path.join(dir, '.aws'), { recursive: true });
  const credentialsFile = path.join(dir, '.aws', 'credentials');
  const configFile = path.join(dir, '.aws', 'config');
  const stateDir = path.join(dir, 'state');
  const args = ['serve', '--state-dir', stateDir, '--port', '0', '--refresh-interval', '1h', '--validity', '1h', '--expiry-warning', '1s', '--refresh-grace', '1s', ...(options.args ?? [])];
  const env = { AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: configFile, APPSTREAM_CREDS_LOG_LEVEL: 'debug', ...options.env };
  const agent = startCli(args, env, options.launcher);
  let discovery: Discovery | undefined;
  try {
    await waitFor(
      async () => {
        discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | undefined;
        return Boolean(discovery?.url);
      },
      20_000,
      () => `the agent did not publish agent.json: ${agent.output()}`,
    );
  } catch (error) {
    await agent.stop('SIGKILL');
    throw error;
  }
  const token = (await readFile(discovery!.tokenFile, 'utf8')).trim();
  const d = discovery!;
  const credentials = async () => {
    const response = await fetch(d.credentialsUrl, { headers: { authorization: token } });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };
  return {
    agent,
    discovery: d,
    token,
    stateDir,
    credentialsFile,
    configFile,
    credentials,
    status: async () => (await (await fetch(`${d.url}/v1/status`, { headers: { authorization: token } })).json()) as Status,
    health: async () => (await fetch(`${d.url}/healthz`)).status,
    waitServing: (keyId, what, timeoutMs = 20_000) =>
      waitFor(async () => (await credentials().catch(() => undefined))?.body.AccessKeyId === keyId, timeoutMs, () => `${what}: the agent never served …${keyId.slice(-4)}: ${agent.output().slice(-3000)}`),
  };
}

/** What concurrent readers saw: each 200 answer checked against the set it claims to be. */
export interface TornTally {
  responses: number;
  torn: number;
  /** Key ids served. */
  served: Set<string>;
  /** Up to three torn answers, by key id tail only: never a secret. */
  examples: string[];
}

/**
 * `count` readers asking the agent for credentials until `stop()`; an answer is torn when its
 * key id was never written, or was written with another secret or token.
 */
export function startTornReaders(rig: Pick<FaultAgent, 'credentials'>, written: ReadonlyMap<string, Triple>, count: number): { stop(): Promise<TornTally> } {
  const tally: TornTally = { responses: 0, torn: 0, served: new Set(), examples: [] };
  let reading = true;
  const reader = async (): Promise<void> => {
    while (reading) {
      const { status, body } = await rig.credentials();
      if (status !== 200) continue;
      const keyId = body.AccessKeyId!;
      tally.responses += 1;
      tally.served.add(keyId);
      const w = written.get(keyId);
      if (!w || w.secret !== body.SecretAccessKey || w.token !== body.Token) {
        tally.torn += 1;
        if (tally.examples.length < 3) tally.examples.push(`…${keyId.slice(-4)} ${w ? "with another set's secret or token" : 'never written'}`);
      }
    }
  };
  const readers = Array.from({ length: count }, reader);
  return {
    async stop() {
      reading = false;
      await Promise.all(readers);
      return tally;
    },
  };
}
