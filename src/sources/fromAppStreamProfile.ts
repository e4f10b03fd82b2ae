import { AgentError, ExitCode, isAgentError, usageError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { CredentialSource, SourcedCredentials } from '../credentials.js';
import type { FileSystem } from './fileSystem.js';
import { isAnotherFile, readStableFile, type StableFile } from './readStableFile.js';
import { parseProfileFile, profileSection } from './parseProfileFile.js';
import type { ProfileFile } from './profileLocations.js';
import { runCredentialProcess } from './runCredentialProcess.js';
import { DEFAULT_PROFILE } from '../agent/contract.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import { refusalMessage, type TrustRefusal } from '../trust/checkPathTrust.js';
import { ancestorResolvesProfile, commandResolvesProfile, guardedProfiles, withGuard, type AncestorReader } from './recursionGuard.js';

export interface FromAppStreamProfileInit {
  profile: string;
  /**
   * Read this profile instead when `profile` is in none of the files: WorkSpaces Pools writes
   * workspaces_machine_role where AppStream writes appstream_machine_role. Only when the user
   * did not name a profile.
   */
  fallbackProfile?: string | undefined;
  locations: readonly ProfileFile[];
  fs: FileSystem;
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
  processTimeoutMs: number;
  /**
   * The ownership rule for profile files (points at a hostile file are never read). Absent:
   * every file is used (tests of parsing only; every command passes one).
   */
  trust?: ProfileTrust;
  /** Retries of a transient failure (half-written file) before it is reported. */
  retries?: number;
  retryDelayMs?: number;
  /**
   * A static-keys file changed less than this long ago is not used yet (settleTime): an
   * in-place writer pausing mid-write leaves a mix of two sets on disk, and no comparison
   * with earlier reads can tell that mix from a new set when the agent missed the set before.
   */
  settleMs?: number;
  /** Command lines of this process's ancestors (Linux: /proc), for the recursion guard. */
  ancestors?: AncestorReader;
}

export interface ProfileTrust {
  check: CheckTrust;
  /** false (strictPermissions off): a refused file is reported and used anyway. */
  strict: boolean;
  /** Told of every refusal, each time it is met; `used` when strict is off. The caller de-duplicates. */
  onRefused?: (refusal: TrustRefusal, used: boolean) => void;
}

/** What the source remembers between reads. */
interface Memory {
  /** Inode (number and birth time) of each file at its last read, to tell in-place rewrites from renames. */
  inodes: Map<string, Pick<StableFile, 'ino' | 'born'>>;
  /** The secrets last read, masked if a failing credential_process echoes them. */
  secrets: string[];
  /** At most one credential_process run in flight per entry: concurrent callers share it. */
  inFlight: Map<string, Promise<SourcedCredentials>>;
}

/** settleTime's default (loadSettings): the 30-120 ms mid-write pauses of issue 20 stretch to 255 ms on a loaded machine. */
export const DEFAULT_SETTLE_MS = 500;
const SETTLE_CHECK_MS = 50;
/** Re-reads of a file changed while being read, before the growing retry delays take over. */
const QUICK_REREADS = 10;
const QUICK_REREAD_MS = 5;
/** Looks past the settle period itself before a file that keeps changing is reported (1.5 s). */
const EXTRA_SETTLE_CHECKS = 30;
/** How long a settling file still has to stay quiet, per error thrown for it. */
const settleWaits = new WeakMap<AgentError, number>();
const AWS_SECRET = /^[A-Za-z0-9/+]{40}$/;

const unavailable = (message: string, code: string, transient = false): AgentError =>
  new AgentError(message, { exitCode: ExitCode.credentialsUnavailable, code, transient });

/**
 * Credentials from the AppStream machine-role profile in either form found in the field:
 * static keys, or a credential_process entry. Returns a provider in the SDK's style.
 */
export function fromAppStreamProfile(init: FromAppStreamProfileInit): CredentialSource {
  const retries = init.retries ?? 4;
  const retryDelayMs = init.retryDelayMs ?? 75;
  const memory: Memory = { inodes: new Map(), secrets: [], inFlight: new Map() };
  return async () => {
    if (guardedProfiles(init.env).includes(init.profile)) {
      throw usageError(
        `profile ${init.profile}: its credential_process runs appstream-creds credential-process on the same profile (recursion refused)`,
        'recursion',
      );
    }
    // Sized from settleTime, so any allowed settleTime (up to 10 s) can be met in one resolve.
    const maxSettleChecks = Math.ceil((init.settleMs ?? DEFAULT_SETTLE_MS) / SETTLE_CHECK_MS) + EXTRA_SETTLE_CHECKS;
    let settleChecks = 0;
    let quickRereads = 0;
    for (let attempt = 0; ; ) {
      try {
        const sourced = await resolveFirstProfile(init, memory);
        const { secretAccessKey, sessionToken } = sourced.credentials;
        memory.secrets = sessionToken ? [secretAccessKey, sessionToken] : [secretAccessKey];
        return sourced;
      } catch (error) {
        const settling = isAgentError(error) ? settleWaits.get(error) : undefined;
        // A settling file is looked at again every SETTLE_CHECK_MS (a rename landing meanwhile
        // proves a complete file at once) until it has been quiet long enough; a file that never
        // settles is reported after maxSettleChecks looks, and the last good set is kept.
        if (settling !== undefined && settleChecks < maxSettleChecks) {
          settleChecks += 1;
          await init.clock.sleep(Math.min(settling, SETTLE_CHECK_MS));
          continue;
        }
        // Changed underneath the read: the write that did it is over, so look again at once
        // (a few times) rather than back off, or a file rewritten every few ms is never read.
        if (isAgentError(error) && error.code === 'file-changing' && quickRereads < QUICK_REREADS) {
          quickRereads += 1;
          await init.clock.sleep(QUICK_REREAD_MS);
          continue;
        }
        if (!isAgentError(error) || !error.transient || attempt >= retries) throw error;
        attempt += 1;
        await init.clock.sleep(retryDelayMs * attempt);
      }
    }
  };
}

/** The profile, else the fallback profile when the first is in no file at all. */
async function resolveFirstProfile(init: FromAppStreamProfileInit, memory: Memory): Promise<SourcedCredentials> {
  try {
    return await resolveOnce(init, memory);
  } catch (error) {
    const fallback = init.fallbackProfile;
    if (!fallback || fallback === init.profile || !isAgentError(error) || error.code !== 'profile-missing') throw error;
    try {
      return await resolveOnce({ ...init, profile: fallback }, memory);
    } catch (second) {
      if (!isAgentError(second) || second.code !== 'profile-missing') throw second;
      throw unavailable(error.message.replace(`profile ${init.profile} not found`, `profile ${init.profile} (nor ${fallback}) not found`), 'profile-missing', error.transient || second.transient);
    }
  }
}

async function resolveOnce(init: FromAppStreamProfileInit, memory: Memory): Promise<SourcedCredentials> {
  const { inodes } = memory;
  const searched: string[] = [];
  const refused: TrustRefusal[] = [];
  // An empty file is usually an in-place rewrite caught between truncate and write.
  let sawEmptyFile = false;
  for (const location of init.locations) {
    // Judged before reading: a hostile file is neither parsed nor run, whatever it holds.
    const refusal = init.trust ? await init.trust.check(location.path) : undefined;
    if (refusal) {
      init.trust!.onRefused?.(refusal, !init.trust!.strict);
      if (init.trust!.strict) {
        refused.push(refusal);
        searched.push(`${location.path} (refused)`);
        continue;
      }
    }
    let file;
    try {
      file = await readStableFile(init.fs, location.path);
    } catch (error) {
      if (isAgentError(error) && error.tryNextSource && !error.transient) {
        searched.push(error.code === 'file-missing' ? `${location.path} (no such file)` : error.code === 'file-unreadable' ? `${location.path} (unreadable)` : error.message);
        continue;
      }
      throw error;
    }
    searched.push(location.path);
    if (file.text.trim() === '') sawEmptyFile = true;
    const section = profileSection(parseProfileFile(location.path, file.text), init.profile, location.isConfigFile);
    if (!section) continue;
    const where = `${location.path} [${location.isConfigFile ? `profile ${init.profile}` : init.profile}]`;
    const hasKeys = Boolean(section.aws_access_key_id || section.aws_secret_access_key || section.aws_session_token);
    // The AWS CLI's order: static keys in the credentials file, then credential_process, then
    // static keys in the config file.
    if (hasKeys && !(location.isConfigFile && section.credential_process)) {
      // A file changed less than settleTime ago may be an in-place writer between two steps:
      // read again once it has been quiet that long (a change meanwhile restarts the wait). This
      // holds on the first read too, with no history to compare with. Only a proven rename (a
      // new inode where the previous read saw another) is complete by construction: used at once.
      // A negative age (mtime ahead of a clock stepped back) counts as settled: it would
      // otherwise be "settling" until the clock caught up.
      const settleMs = init.settleMs ?? DEFAULT_SETTLE_MS;
      // Every read counts, a settling one too: a writer renaming a new file over this one every
      // few ms is proven a renamer by the second read, and is never quiet for settleTime.
      const previousInode = inodes.get(location.path);
      inodes.set(location.path, { ino: file.ino, ...(file.born !== undefined ? { born: file.born } : {}) });
      const renamedIn = previousInode !== undefined && isAnotherFile(previousInode, file);
      const age = init.clock.now() - file.mtimeMs;
      if (!renamedIn && age >= 0 && age < settleMs) {
        const error = unavailable(`${location.path}: changed less than settleTime (${settleMs} ms) ago, still settling`, 'file-changing', true);
        settleWaits.set(error, settleMs - age + 1);
        throw error;
      }
      return staticKeys(section, where, file.mtimeMs, init.profile);
    }
    if (section.credential_process) {
      const key = `${where}\n${section.credential_process}`;
      let run = memory.inFlight.get(key);
      if (!run) {
        run = fromProcessEntry(init, section.credential_process, where, memory.secrets).finally(() => memory.inFlight.delete(key));
        memory.inFlight.set(key, run);
      }
      return run;
    }
    throw unavailable(
      `${where}: has neither aws_access_key_id/aws_secret_access_key nor credential_process`,
      'profile-incomplete',
      true,
    );
  }
  if (refused.length > 0) {
    throw unavailable(
      `profile ${init.profile}: not used: ${refused.map(refusalMessage).join('; ')}; fix: ${refused[0]!.fix}; searched ${searched.join(', ')}`,
      'profile-untrusted',
    );
  }
  throw unavailable(
    `profile ${init.profile} not found; searched ${searched.join(', ') || 'no files'}`,
    'profile-missing',
    sawEmptyFile,
  );
}

function staticKeys(section: Record<string, string>, where: string, mtimeMs: number, profile: string): SourcedCredentials {
  const missing = ['aws_access_key_id', 'aws_secret_access_key'].filter((key) => !section[key]);
  const keyId = section.aws_access_key_id ?? '';
  // Temporary (ASIA) keys are useless without their session token: a writer caught mid-write.
  if (keyId.startsWith('ASIA') && !section.aws_session_token) missing.push('aws_session_token');
  if (missing.length > 0) {
    // Often a writer caught mid-write; the caller retries briefly before reporting.
    throw unavailable(`${where}: missing ${missing.join(' and ')}`, 'profile-incomplete', true);
  }
  if (/^A[SK]IA/.test(keyId) && !AWS_SECRET.test(section.aws_secret_access_key!)) {
    // AWS secret keys are 40 base64 characters; anything else here is a truncated write.
    throw unavailable(`${where}: aws_secret_access_key is not 40 characters (a truncated write?)`, 'profile-incomplete', true);
  }
  return {
    credentials: {
      accessKeyId: section.aws_access_key_id!,
      secretAccessKey: section.aws_secret_access_key!,
      ...(section.aws_session_token ? { sessionToken: section.aws_session_token } : {}),
      ...(section.aws_account_id ? { accountId: section.aws_account_id } : {}),
    },
    issuedAt: new Date(mtimeMs),
    origin: `static keys in ${where}`,
    profile,
  };
}

async function fromProcessEntry(init: FromAppStreamProfileInit, command: string, where: string, knownSecrets: readonly string[]): Promise<SourcedCredentials> {
  if (commandResolvesProfile(command, init.profile, DEFAULT_PROFILE)) {
    throw usageError(
      `${where}: credential_process runs appstream-creds credential-process on the same profile (recursion refused)`,
      'recursion',
    );
  }
  // The program it names is code run as this agent: a trusted file pointing at a script another
  // account can rewrite is no better than an untrusted file.
  const program = programPath(command, init.env.HOME);
  const refusal = program && init.trust ? await init.trust.check(program) : undefined;
  if (refusal) {
    init.trust!.onRefused?.(refusal, !init.trust!.strict);
    if (init.trust!.strict) {
      throw unavailable(`${where}: credential_process program not run: ${refusalMessage(refusal)}; fix: ${refusal.fix}`, 'profile-untrusted');
    }
  }
  // Through a wrapper that strips the environment guard: the process tree still shows it.
  if (await ancestorResolvesProfile(init.profile, DEFAULT_PROFILE, init.ancestors)) {
    throw usageError(
      `${where}: an ancestor of this process is appstream-creds credential-process on the same profile; not running credential_process again (recursion refused)`,
      'recursion',
    );
  }
  const credentials = await runCredentialProcess({
    command,
    where,
    timeoutMs: init.processTimeoutMs,
    env: withGuard(init.env, init.profile),
    knownSecrets,
  }).catch((error: unknown) => {
    // The same refusal one level down (through a wrapper script) is still a config error.
    if (isAgentError(error) && error.code === 'recursion') throw usageError(error.message, 'recursion');
    throw error;
  });
  return { credentials, origin: `credential_process in ${where}`, profile: init.profile };
}

/**
 * The program a credential_process command line starts, when it is named by path (POSIX:
 * contains "/", or starts with "~/"): the first word, unquoted. A bare name is looked up in
 * PATH by the shell and is not judged here.
 */
export function programPath(command: string, home: string | undefined): string | undefined {
  const trimmed = command.trim();
  const quote = trimmed[0] === '"' || trimmed[0] === "'" ? trimmed[0] : undefined;
  const word = quote ? trimmed.slice(1, trimmed.indexOf(quote, 1) === -1 ? undefined : trimmed.indexOf(quote, 1)) : trimmed.split(/\s/)[0]!;
  if (word.startsWith('~/')) return home ? `${home}${word.slice(1)}` : undefined;
  return word.includes('/') ? word : undefined;
}
