/**
 * Who and where this instance is, from the variables AppStream (Amazon WorkSpaces
 * Applications) sets: AppStream_Resource_Type, _Resource_Name, _Image_Arn, _UserName and
 * _Session_ID (and _Stack_Name in a session). On Windows they are in the machine/user environment; on Linux they are exported
 * by /etc/profile.d/appstream_system_vars.sh, which login shells source but a systemd service
 * never sees, so that file is parsed too. The one reader of these facts: region fallback,
 * status/doctor and per-user templating all use it.
 */

/** The variables, in the order they are reported. */
export const APPSTREAM_VARIABLES = {
  resourceType: 'AppStream_Resource_Type',
  resourceName: 'AppStream_Resource_Name',
  imageArn: 'AppStream_Image_Arn',
  userName: 'AppStream_UserName',
  sessionId: 'AppStream_Session_ID',
  stackName: 'AppStream_Stack_Name',
} as const;
export type IdentityField = keyof typeof APPSTREAM_VARIABLES;

/** Where AppStream's Linux instances export the variables for login shells. */
export const LINUX_SYSTEM_VARS_FILE = '/etc/profile.d/appstream_system_vars.sh';

export interface AppStreamIdentity {
  resourceType?: string;
  resourceName?: string;
  imageArn?: string;
  userName?: string;
  sessionId?: string;
  /** Where present (a session's environment): the stack the fleet serves. */
  stackName?: string;
  /** The region of AppStream_Image_Arn, when it is a well-formed ARN. */
  imageRegion?: string;
  /** Where each value came from: the environment or the system variables file. */
  from: Partial<Record<IdentityField, 'environment' | string>>;
}

export interface IdentityInput {
  env: Readonly<Record<string, string | undefined>>;
  /** The system variables file to parse (Linux: LINUX_SYSTEM_VARS_FILE); undefined = none. */
  systemVarsFile?: string | undefined;
  /** Reads the file; undefined when it does not exist or cannot be read. */
  readFile: (path: string) => string | undefined;
}

/** Bounds what a hostile or broken file can push into status output. */
const MAX_VALUE = 512;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Values exported by a shell file: `export NAME=value`, `NAME="value"`, `NAME='value'`.
 * Only plain assignments are understood; nothing is expanded or executed.
 */
export function parseSystemVars(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!match) continue;
    let value = match[2]!.trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '').replace(/;$/, '');
    values[match[1]!] = value;
  }
  return values;
}

/** `arn:aws:appstream:us-west-2::image/Name` → us-west-2. */
export function regionFromArn(arn: string | undefined): string | undefined {
  const region = arn?.split(':')[3];
  return region && /^[a-z]{2}(-[a-z]+)+-\d+$/.test(region) ? region : undefined;
}

const clean = (value: string | undefined): string | undefined => {
  const cleaned = value?.replace(CONTROL, '').trim().slice(0, MAX_VALUE);
  return cleaned ? cleaned : undefined;
};

/** The environment wins over the file: a session's own values are the most specific. */
export function readAppStreamIdentity(input: IdentityInput): AppStreamIdentity {
  const fileText = input.systemVarsFile ? input.readFile(input.systemVarsFile) : undefined;
  const fileValues = fileText === undefined ? {} : parseSystemVars(fileText);
  const identity: AppStreamIdentity = { from: {} };
  for (const [field, name] of Object.entries(APPSTREAM_VARIABLES) as Array<[IdentityField, string]>) {
    const fromEnv = clean(input.env[name]);
    const fromFile = clean(fileValues[name]);
    const value = fromEnv ?? fromFile;
    if (value === undefined) continue;
    identity[field] = value;
    identity.from[field] = fromEnv !== undefined ? 'environment' : input.systemVarsFile!;
  }
  const imageRegion = regionFromArn(identity.imageArn);
  if (imageRegion) identity.imageRegion = imageRegion;
  return identity;
}

/** Whether any AppStream variable was found: false on a developer machine. */
export const onAppStream = (identity: AppStreamIdentity): boolean => Object.keys(identity.from).length > 0;

/** The instance part of `status`: region and where it came from, and every AppStream_* value. */
export function instanceReport(identity: AppStreamIdentity, region: string | undefined, regionFrom: string | undefined) {
  const variables: Record<string, string> = {};
  const variablesFrom: Record<string, string> = {};
  for (const [field, name] of Object.entries(APPSTREAM_VARIABLES) as Array<[IdentityField, string]>) {
    if (identity[field] === undefined) continue;
    variables[name] = identity[field]!;
    variablesFrom[name] = identity.from[field]!;
  }
  return { region: region ?? null, regionFrom: region ? (regionFrom ?? 'settings') : null, variables, variablesFrom };
}

/** One line per value, for status and doctor. */
export function describeIdentity(identity: AppStreamIdentity): string {
  const parts = (Object.keys(APPSTREAM_VARIABLES) as IdentityField[]).filter((f) => identity[f] !== undefined).map((f) => `${APPSTREAM_VARIABLES[f]}=${identity[f]}`);
  return parts.length > 0 ? parts.join(', ') : 'no AppStream_* variables found';
}
