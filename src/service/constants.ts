/** Names shared by both platforms' service definitions. Changing one is a breaking change for installs. */
export const SERVICE_ID = 'appstream-credential-agent';
export const SERVICE_DISPLAY_NAME = 'AppStream Credential Agent';
export const SERVICE_DESCRIPTION =
  'Waits for the AppStream 2.0 VPC network interface, tracks the appstream_machine_role credentials and serves them to local scripts.';

/** Linux: the dedicated account and the group whose members may read the token file. */
export const SERVICE_USER = 'appstream-creds';
export const SERVICE_GROUP = 'appstream-creds';
export const SYSTEMD_UNIT = `${SERVICE_ID}.service`;

export const DEFAULT_LINUX_PREFIX = '/opt/appstream-credential-agent';
export const WINDOWS_INSTALL_FOLDER = 'AppStreamCredentialAgent';

/** The bundle inside an install prefix, and the launcher install writes beside it. */
export const BUNDLE_RELATIVE = ['dist', 'appstream-creds.cjs'] as const;
