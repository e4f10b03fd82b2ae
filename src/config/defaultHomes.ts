import path from 'node:path';

/**
 * Where AppStream may put the machine-role profile. Linux image builders have it under
 * /home/ImageBuilderAdmin (mountpoint-s3 issues 326 and 389); on Windows the location is not
 * documented, so every known home is searched. The list is a setting (`homeDirs`).
 */
export function defaultHomeDirs(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>): string[] {
  if (platform === 'win32') {
    const systemRoot = env.SystemRoot ?? 'C:\\Windows';
    const users = env.SystemDrive ? `${env.SystemDrive}\\Users` : 'C:\\Users';
    return [
      path.win32.join(systemRoot, 'System32', 'config', 'systemprofile'),
      path.win32.join(users, 'ImageBuilderAdmin'),
      path.win32.join(users, 'PhotonUser'),
    ];
  }
  return ['/home/ImageBuilderAdmin', '/home/as2-streaming-user', '/root'];
}

export function defaultStateDir(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>): string {
  if (platform === 'win32') {
    return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'AppStreamCredentialAgent');
  }
  return '/var/lib/appstream-credential-agent';
}
