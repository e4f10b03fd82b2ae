import { ALLOWED, SETTING_KEYS, settingsSchema, type SettingKey, type Settings } from './settingsSchema.js';
import { IMAGE_BUILDER_ADMIN, defaultHomeDirs, defaultStateDir } from './defaultHomes.js';
import { usageError } from '../errors.js';
import { JsonPositionError, lineColumn, parseJsonWithPositions, type PositionedJson } from './parseJsonWithPositions.js';
import { defaultImdsPort, defaultPort, DEFAULT_PROFILE } from '../agent/contract.js';
import { LINUX_SYSTEM_VARS_FILE } from '../identity/appStreamIdentity.js';

export type RawSettings = Partial<Record<SettingKey, unknown>>;

export interface LoadSettingsInput {
  /** Values from command-line flags (undefined = not given). */
  flags: RawSettings;
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** Flags whose name differs from the setting's (`--timeout` sets waitTimeout), for messages. */
  flagNames?: Partial<Record<SettingKey, string>>;
  /** Reads the --config file (a regular file of at most 1 MiB, never blocking); injected so tests need no disk. */
  readFile: (path: string) => string;
}

const ENV_PREFIX = 'APPSTREAM_CREDS_';
const toEnvName = (key: string): string => ENV_PREFIX + key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

function defaults(platform: NodeJS.Platform, env: LoadSettingsInput['env']): RawSettings {
  return {
    profile: DEFAULT_PROFILE,
    stateDir: defaultStateDir(platform, env),
    homeDirs: defaultHomeDirs(platform, env),
    refreshInterval: '1h',
    // Current AWS docs: machine-role credentials are valid 1 h (older docs said 6 h).
    validity: '1h',
    refreshGrace: '10m',
    // botocore's advisory refresh window; the .NET SDK also refreshes 15 min early.
    expiryWarning: '15m',
    waitTimeout: '300s',
    networkCheckInterval: '60s',
    processTimeout: '30s',
    // The field's mid-write pauses are 30-120 ms; on a loaded 2-core machine a 120 ms pause was measured stretched to 255 ms (issue 20).
    settleTime: '500ms',
    // One STS call per new generation (about one an hour), where STS answers: issue 20.
    verifyNewCredentials: 'auto',
    excludeCidrs: ['198.19.0.0/16', '169.254.0.0/16', '127.0.0.0/8'],
    probe: 'none',
    port: defaultPort(platform),
    imds: false,
    allowUsers: [],
    roles: {},
    logMaxSizeMb: 10,
    logMaxFiles: 5,
    logFrequency: 'daily',
    trustedOwners: [IMAGE_BUILDER_ADMIN],
    strictPermissions: true,
    metricsInterval: '60s',
    metricsFormat: 'cloudwatch',
    metricsPerInstance: false,
    ...(platform === 'linux' ? { systemVarsFile: LINUX_SYSTEM_VARS_FILE } : {}),
  };
}

/** The standard AWS variables the design says we honour, below our own prefixed ones. */
const AWS_VARIABLES: Array<[SettingKey, string[]]> = [
  ['credentialsFile', ['AWS_SHARED_CREDENTIALS_FILE']],
  ['configFile', ['AWS_CONFIG_FILE']],
  ['region', ['AWS_REGION', 'AWS_DEFAULT_REGION']],
  ['stsEndpoint', ['AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL']],
];

/** Values from the environment, each with the variable it came from. */
function fromEnv(env: LoadSettingsInput['env']): { aws: Layer; prefixed: Layer } {
  const aws: Layer = { values: {}, origin: {} };
  for (const [key, names] of AWS_VARIABLES) {
    const name = names.find((n) => env[n]);
    if (name) {
      aws.values[key] = env[name];
      aws.origin[key] = name;
    }
  }
  const prefixed: Layer = { values: {}, origin: {} };
  for (const key of SETTING_KEYS) {
    const name = toEnvName(key);
    const value = env[name];
    if (value !== undefined && value !== '') {
      prefixed.values[key] = value;
      prefixed.origin[key] = name;
    }
  }
  return { aws, prefixed };
}

interface Layer {
  values: RawSettings;
  origin: Partial<Record<SettingKey, string>>;
}

const layer = (name: string, values: RawSettings): Layer => ({
  values,
  origin: Object.fromEntries(Object.keys(values).map((k) => [k, name])) as Partial<Record<SettingKey, string>>,
});

interface ConfigFile {
  values: RawSettings;
  /** "line 3, column 7" of each setting in the file, so errors name a position, not the content. */
  positions: Partial<Record<SettingKey, string>>;
}

const at = (text: string, offset: number): string => {
  const { line, column } = lineColumn(text, offset);
  return `line ${line}, column ${column}`;
};

function configFile(path: string, readFile: LoadSettingsInput['readFile']): ConfigFile {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    // FileRefused: a FIFO, a device, a folder or more than 1 MiB (readRegularFile.ts).
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'file-refused' ? (error as Error).message : code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory, not a regular file' : (code ?? 'error');
    throw usageError(`--config ${path}: cannot read it (${reason})`);
  }
  let parsed: PositionedJson;
  try {
    parsed = parseJsonWithPositions(text);
  } catch (error) {
    if (!(error instanceof JsonPositionError)) throw error;
    throw usageError(`--config ${path}: not valid JSON at ${at(text, error.offset)} (${error.what})`);
  }
  const { value, keyOffsets } = parsed;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw usageError(`--config ${path}: expected a JSON object of settings`);
  }
  const positions: Partial<Record<SettingKey, string>> = {};
  for (const [key, offset] of keyOffsets) {
    if (!(SETTING_KEYS as string[]).includes(key)) {
      // The key itself is not echoed: a mistyped file may hold anything.
      const guess = closestSetting(key);
      throw usageError(`--config ${path}: unknown setting at ${at(text, offset)}${guess ? ` (did you mean ${guess}?)` : ''}; known settings: ${SETTING_KEYS.join(', ')}`);
    }
    positions[key as SettingKey] = at(text, offset);
  }
  return { values: value as RawSettings, positions };
}

/** The known setting a typo most likely meant (at most 2 edits away), or nothing. */
function closestSetting(key: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of SETTING_KEYS) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The schema's message minus any quoted value: "x" is not a duration → a duration. */
function describeExpected(message: string): string {
  const unquoted = message.replace(/"[^"]*"|'[^']*'/g, 'it').replace(/,?\s*received .*$/i, '').trim();
  return `expected: ${unquoted}`;
}

const definedOnly = (raw: RawSettings): RawSettings =>
  Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)) as RawSettings;

/**
 * Merges flag > APPSTREAM_CREDS_* env > standard AWS env > --config file > defaults and
 * validates once. A bad value is a usage error naming the setting, where it came from and
 * what is allowed.
 */
export function loadSettings(input: LoadSettingsInput, configPath?: string): Settings {
  const { aws, prefixed } = fromEnv(input.env);
  const config = configPath ? configFile(configPath, input.readFile) : undefined;
  const flags = definedOnly(input.flags);
  const layers: Layer[] = [
    layer('default', defaults(input.platform, input.env)),
    ...(config ? [layer(`--config ${configPath}`, config.values)] : []),
    aws,
    prefixed,
    { values: flags, origin: Object.fromEntries(Object.keys(flags).map((k) => [k, input.flagNames?.[k as SettingKey] ?? `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`])) },
  ];
  const merged: RawSettings = {};
  const origin: Partial<Record<SettingKey, string>> = {};
  for (const { values, origin: from } of layers) {
    for (const [key, value] of Object.entries(values)) {
      merged[key as SettingKey] = value;
      origin[key as SettingKey] = from[key as SettingKey];
    }
  }
  const result = settingsSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '') as SettingKey;
    const allowed = ALLOWED[key] ? `; allowed: ${ALLOWED[key]}` : '';
    const fromConfig = config !== undefined && origin[key] === `--config ${configPath}`;
    if (key === 'roles') {
      // Role messages name the role and the field, never a value.
      throw usageError(`setting roles (from ${origin[key] ?? 'unknown'}${fromConfig ? `, ${config.positions[key] ?? 'position unknown'}` : ''}): ${issue.message}`, 'bad-setting');
    }
    if (fromConfig) {
      // Flags and variables are echoed back (the user typed them); a file's content is not.
      const hint = ALLOWED[key] ? `allowed: ${ALLOWED[key]}` : describeExpected(issue.message);
      throw usageError(`setting ${key} (from --config ${configPath}, ${config.positions[key] ?? 'position unknown'}): invalid value; ${hint}`, 'bad-setting');
    }
    throw usageError(`setting ${key} (from ${origin[key] ?? 'unknown'}): ${issue.message}${allowed}`, 'bad-setting');
  }
  return { ...result.data, imdsPort: imdsPortOf(result.data, origin), origins: origin };
}

/**
 * IMDS's own port: as set, else the next one after `port` (0 with 0). Checked only with `imds`
 * on, where it is used: it may not be `port` itself (two listeners cannot share one).
 */
function imdsPortOf(data: { port: number; imds: boolean; imdsPort?: number | undefined }, origin: Partial<Record<SettingKey, string>>): number {
  const port = data.imdsPort ?? defaultImdsPort(data.port);
  if (!data.imds) return port ?? 0;
  if (port === undefined) throw usageError(`setting imdsPort: port is ${data.port}, so there is no next port for IMDS; set imdsPort (APPSTREAM_CREDS_IMDS_PORT, --imds-port)`, 'bad-setting');
  if (port !== 0 && port === data.port) {
    throw usageError(`setting imdsPort (from ${origin.imdsPort ?? 'unknown'}): ${port} is also port; IMDS needs a port of its own (allowed: ${ALLOWED.imdsPort})`, 'bad-setting');
  }
  return port;
}
