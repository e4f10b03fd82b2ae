import path from 'node:path';

/** The image builder's admin account (same name on Linux and Windows): trusted by default. */
export const IMAGE_BUILDER_ADMIN = 'ImageBuilderAdmin';

/**
 * Where AppStream may put the machine-role profile. Linux image builders have it under
 * /home/ImageBuilderAdmin (mountpoint-s3 issues 326 and 389); on Windows the location is not
 * documented, so the trusted homes are searched. The streaming users' homes
 * (as2-streaming-user, PhotonUser) are not: their owners are hostile by default. The list is a
 * setting (`homeDirs`), and whatever it names still passes the ownership rule.
 */
export function defaultHomeDirs(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>): string[] {
  if (platform === 'win32') {
    const systemRoot = env.SystemRoot ?? 'C:\\Windows';
    const users = env.SystemDrive ? `${env.SystemDrive}\\Users` : 'C:\\Users';
    return [
      path.win32.join(systemRoot, 'System32', 'config', 'systemprofile'),
      path.win32.join(users, IMAGE_BUILDER_ADMIN),
    ];
  }
  return [`/home/${IMAGE_BUILDER_ADMIN}`, '/root'];
}

export function defaultStateDir(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>): string {
  if (platform === 'win32') {
    return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'AppStreamCredentialAgent');
  }
  return '/var/lib/appstream-credential-agent';
}
