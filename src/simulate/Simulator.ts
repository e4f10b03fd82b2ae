import { mkdir, writeFile } from 'node:fs/promises';
import { readRegularFile } from '../readRegularFile.js';
import path from 'node:path';
import type { Clock } from '../clock.js';
import { writeFileAtomic } from '../writeFileAtomic.js';
import type { MintedCredentials } from './mintCredentials.js';

export type ProfileForm = 'static' | 'process';

export interface SimulatorInit {
  dir: string;
  form: ProfileForm;
  profile: string;
  /** Real milliseconds between rotations (already divided by --speed). */
  refreshMs: number;
  /** Real milliseconds each generation stays valid. */
  validityMs: number;
  inPlace: boolean;
  mint: (expiresAt: Date, generation: number) => Promise<MintedCredentials>;
  clock: Clock;
  /** The command line the process form's credential_process runs to print the current generation. */
  emitCommand: string;
  /**
   * AppStream_* variables of a simulated streaming session, written as AppStream's Linux
   * system variables file (and named in env.sh), so named roles can template `{user}` etc.
   */
  identity?: Readonly<Record<string, string>>;
}

export interface SandboxPaths {
  credentialsFile: string;
  configFile: string;
  currentFile: string;
  envFile: string;
}

const sandboxPaths = (dir: string): SandboxPaths => ({
  credentialsFile: path.join(dir, '.aws', 'credentials'),
  configFile: path.join(dir, '.aws', 'config'),
  currentFile: path.join(dir, 'simulator', 'current.json'),
  envFile: path.join(dir, 'env.sh'),
});

/**
 * Plays AppStream: writes the machine-role profile into a sandbox and replaces it with a new
 * generation every refresh, by rename (default) or by in-place rewrite, as real writers do.
 */
export class Simulator {
  readonly paths: SandboxPaths;
  private generation = 0;

  constructor(private readonly init: SimulatorInit) {
    this.paths = sandboxPaths(init.dir);
  }

  /** The simulated session's AppStream_* file (AppStream's is /etc/profile.d/appstream_system_vars.sh). */
  get systemVarsFile(): string {
    return path.join(this.init.dir, 'appstream_system_vars.sh');
  }

  async setup(): Promise<void> {
    await mkdir(path.dirname(this.paths.credentialsFile), { recursive: true, mode: 0o700 });
    await mkdir(path.dirname(this.paths.currentFile), { recursive: true, mode: 0o700 });
    const identity = Object.entries(this.init.identity ?? {});
    if (identity.length > 0) {
      await writeFileAtomic(this.systemVarsFile, identity.map(([name, value]) => `export ${name}="${value}"\n`).join(''), 0o644);
    }
    await writeFileAtomic(
      this.paths.envFile,
      `export AWS_SHARED_CREDENTIALS_FILE='${this.paths.credentialsFile}'\nexport AWS_CONFIG_FILE='${this.paths.configFile}'\n` +
        (identity.length > 0 ? `export APPSTREAM_CREDS_SYSTEM_VARS_FILE='${this.systemVarsFile}'\n` : ''),
      0o644,
    );
    // The form not in use exists but is empty, so a reader never falls back to a stale one.
    const other = this.init.form === 'static' ? this.paths.configFile : this.paths.credentialsFile;
    await writeFileAtomic(other, '');
  }

  async rotate(): Promise<MintedCredentials & { generation: number }> {
    this.generation += 1;
    const expiresAt = new Date(this.init.clock.now() + this.init.validityMs);
    const minted = await this.init.mint(expiresAt, this.generation);
    await writeFileAtomic(this.paths.currentFile, `${JSON.stringify({ ...minted, generation: this.generation })}\n`);
    if (this.init.form === 'static') {
      await this.write(this.paths.credentialsFile, staticProfile(this.init.profile, minted));
    } else if (this.generation === 1) {
      await this.write(this.paths.configFile, `[profile ${this.init.profile}]\ncredential_process = ${this.init.emitCommand}\n`);
    }
    return { ...minted, generation: this.generation };
  }

  private async write(target: string, text: string): Promise<void> {
    if (this.init.inPlace) await writeFile(target, text, { mode: 0o600 });
    else await writeFileAtomic(target, text);
  }
}

function staticProfile(profile: string, c: MintedCredentials): string {
  return (
    `[${profile}]\n` +
    `aws_access_key_id = ${c.AccessKeyId}\n` +
    `aws_secret_access_key = ${c.SecretAccessKey}\n` +
    `aws_session_token = ${c.SessionToken}\n`
  );
}

export async function readCurrentGeneration(dir: string): Promise<MintedCredentials> {
  return JSON.parse((await readRegularFile(sandboxPaths(dir).currentFile, 64 * 1024)).toString('utf8')) as MintedCredentials;
}
