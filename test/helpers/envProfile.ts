import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Whether a program is on PATH (shell tests skip with the reason when one is missing). */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A static profile in DIR/.aws/credentials holding the given key, secret and session token;
 * returns the environment that points the CLI at it (and a state dir inside the sandbox).
 */
export async function staticProfileEnv(dir: string, keys: { key: string; secret: string; token: string }): Promise<Record<string, string>> {
  await mkdir(path.join(dir, '.aws'), { recursive: true });
  const file = path.join(dir, '.aws', 'credentials');
  await writeFile(file, `[appstream_machine_role]\naws_access_key_id = ${keys.key}\naws_secret_access_key = ${keys.secret}\naws_session_token = ${keys.token}\n`, { mode: 0o600 });
  return { AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'), APPSTREAM_CREDS_STATE_DIR: path.join(dir, 'state') };
}
