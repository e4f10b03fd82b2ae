import { AgentError, ExitCode, isAgentError, usageError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { CredentialSource, SourcedCredentials } from '../credentials.js';
import type { FileSystem } from './fileSystem.js';
import { readStableFile } from './readStableFile.js';
import { parseProfileFile, profileSection } from './parseProfileFile.js';
import type { ProfileFile } from './profileLocations.js';
import { runCredentialProcess } from './runCredentialProcess.js';
import { commandResolvesProfile, guardedProfiles, withGuard } from './recursionGuard.js';

export interface FromAppStreamProfileInit {
  profile: string;
  locations: readonly ProfileFile[];
  fs: FileSystem;
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
  processTimeoutMs: number;
  /** Retries of a transient failure (half-written file) before it is reported. */
  retries?: number;
  retryDelayMs?: number;
}

const DEFAULT_PROFILE = 'appstream_machine_role';

const unavailable = (message: string, code: string, transient = false): AgentError =>
  new AgentError(message, { exitCode: ExitCode.credentialsUnavailable, code, transient });

/**
 * Credentials from the AppStream machine-role profile in either form found in the field:
 * static keys, or a credential_process entry. Returns a provider in the SDK's style.
 */
export function fromAppStreamProfile(init: FromAppStreamProfileInit): CredentialSource {
  const retries = init.retries ?? 4;
  const retryDelayMs = init.retryDelayMs ?? 75;
  return async () => {
    if (guardedProfiles(init.env).includes(init.profile)) {
      throw usageError(
        `profile ${init.profile}: its credential_process runs appstream-creds credential-process on the same profile (recursion refused)`,
        'recursion',
      );
    }
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await resolveOnce(init);
      } catch (error) {
        if (!isAgentError(error) || !error.transient || attempt >= retries) throw error;
        await init.clock.sleep(retryDelayMs * (attempt + 1));
      }
    }
  };
}

async function resolveOnce(init: FromAppStreamProfileInit): Promise<SourcedCredentials> {
  const searched: string[] = [];
  // An empty file is usually an in-place rewrite caught between truncate and write.
  let sawEmptyFile = false;
  for (const location of init.locations) {
    let file;
    try {
      file = await readStableFile(init.fs, location.path);
    } catch (error) {
      if (isAgentError(error) && error.tryNextSource && !error.transient) {
        searched.push(`${location.path} (${error.code === 'file-missing' ? 'no such file' : 'unreadable'})`);
        continue;
      }
      throw error;
    }
    searched.push(location.path);
    if (file.text.trim() === '') sawEmptyFile = true;
    const section = profileSection(parseProfileFile(location.path, file.text), init.profile, location.isConfigFile);
    if (!section) continue;
    const where = `${location.path} [${location.isConfigFile ? `profile ${init.profile}` : init.profile}]`;
    if (section.aws_access_key_id || section.aws_secret_access_key || section.aws_session_token) {
      return staticKeys(section, where, file.mtimeMs);
    }
    if (section.credential_process) {
      return fromProcessEntry(init, section.credential_process, where);
    }
    throw unavailable(
      `${where}: has neither aws_access_key_id/aws_secret_access_key nor credential_process`,
      'profile-incomplete',
      true,
    );
  }
  throw unavailable(
    `profile ${init.profile} not found; searched ${searched.join(', ') || 'no files'}`,
    'profile-missing',
    sawEmptyFile,
  );
}

function staticKeys(section: Record<string, string>, where: string, mtimeMs: number): SourcedCredentials {
  const missing = ['aws_access_key_id', 'aws_secret_access_key'].filter((key) => !section[key]);
  if (missing.length > 0) {
    // Often a writer caught mid-write; the caller retries briefly before reporting.
    throw unavailable(`${where}: missing ${missing.join(' and ')}`, 'profile-incomplete', true);
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
  };
}

async function fromProcessEntry(init: FromAppStreamProfileInit, command: string, where: string): Promise<SourcedCredentials> {
  if (commandResolvesProfile(command, init.profile, DEFAULT_PROFILE)) {
    throw usageError(
      `${where}: credential_process runs appstream-creds credential-process on the same profile (recursion refused)`,
      'recursion',
    );
  }
  const credentials = await runCredentialProcess({
    command,
    profile: init.profile,
    timeoutMs: init.processTimeoutMs,
    env: withGuard(init.env, init.profile),
  });
  return { credentials, origin: `credential_process in ${where}` };
}
