import { ALLOWED, SETTING_KEYS, settingsSchema, type SettingKey, type Settings } from './settingsSchema.js';
import { defaultHomeDirs, defaultStateDir } from './defaultHomes.js';
import { usageError } from '../errors.js';
import { DEFAULT_PORT, DEFAULT_PROFILE } from '../agent/contract.js';

export type RawSettings = Partial<Record<SettingKey, unknown>>;

export interface LoadSettingsInput {
  /** Values from command-line flags (undefined = not given). */
  flags: RawSettings;
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** Flags whose name differs from the setting's (`--timeout` sets waitTimeout), for messages. */
  flagNames?: Partial<Record<SettingKey, string>>;
  /** Reads the --config file; injected so tests need no disk. */
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
    processTimeout: '30s',
    excludeCidrs: ['198.19.0.0/16', '169.254.0.0/16', '127.0.0.0/8'],
    probe: 'none',
    port: DEFAULT_PORT,
    imds: false,
    logMaxSizeMb: 10,
    logMaxFiles: 5,
    logFrequency: 'daily',
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

function configFile(path: string, readFile: LoadSettingsInput['readFile']): RawSettings {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw usageError(`--config ${path}: cannot read it (${reason})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usageError(`--config ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError(`--config ${path}: expected a JSON object of settings`);
  }
  for (const key of Object.keys(parsed)) {
    if (!(SETTING_KEYS as string[]).includes(key)) {
      throw usageError(`--config ${path}: unknown setting "${key}"; known settings: ${SETTING_KEYS.join(', ')}`);
    }
  }
  return parsed as RawSettings;
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
  const flags = definedOnly(input.flags);
  const layers: Layer[] = [
    layer('default', defaults(input.platform, input.env)),
    ...(configPath ? [layer(`--config ${configPath}`, configFile(configPath, input.readFile))] : []),
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
    throw usageError(`setting ${key} (from ${origin[key] ?? 'unknown'}): ${issue.message}${allowed}`, 'bad-setting');
  }
  return result.data;
}
