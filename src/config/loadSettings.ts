import { ALLOWED, SETTING_KEYS, settingsSchema, type SettingKey, type Settings } from './settingsSchema.js';
import { defaultHomeDirs, defaultStateDir } from './defaultHomes.js';
import { usageError } from '../errors.js';

export type RawSettings = Partial<Record<SettingKey, unknown>>;

export interface LoadSettingsInput {
  /** Values from command-line flags (undefined = not given). */
  flags: RawSettings;
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** Reads the --config file; injected so tests need no disk. */
  readFile: (path: string) => string;
}

const ENV_PREFIX = 'APPSTREAM_CREDS_';
const toEnvName = (key: string): string => ENV_PREFIX + key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

function defaults(platform: NodeJS.Platform, env: LoadSettingsInput['env']): RawSettings {
  return {
    profile: 'appstream_machine_role',
    stateDir: defaultStateDir(platform, env),
    homeDirs: defaultHomeDirs(platform, env),
    refreshInterval: '1h',
    validity: '6h',
    refreshGrace: '10m',
    expiryWarning: '30m',
    waitTimeout: '300s',
    processTimeout: '30s',
    excludeCidrs: ['198.19.0.0/16', '169.254.0.0/16', '127.0.0.0/8'],
    probe: 'none',
    port: 9920,
    imds: false,
    logMaxSizeMb: 10,
    logMaxFiles: 5,
    logFrequency: 'daily',
  };
}

/** The standard AWS variables the design says we honour, below our own prefixed ones. */
function awsEnv(env: LoadSettingsInput['env']): RawSettings {
  const raw: RawSettings = {};
  if (env.AWS_SHARED_CREDENTIALS_FILE) raw.credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE;
  if (env.AWS_CONFIG_FILE) raw.configFile = env.AWS_CONFIG_FILE;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region) raw.region = region;
  const sts = env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL;
  if (sts) raw.stsEndpoint = sts;
  return raw;
}

function prefixedEnv(env: LoadSettingsInput['env']): RawSettings {
  const raw: RawSettings = {};
  for (const key of SETTING_KEYS) {
    const value = env[toEnvName(key)];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return raw;
}

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
  const layers: Array<[string, RawSettings]> = [
    ['default', defaults(input.platform, input.env)],
    ...(configPath ? ([[`--config ${configPath}`, configFile(configPath, input.readFile)]] as Array<[string, RawSettings]>) : []),
    ['AWS environment', awsEnv(input.env)],
    ['environment', prefixedEnv(input.env)],
    ['flag', definedOnly(input.flags)],
  ];
  const merged: RawSettings = {};
  const origin: Partial<Record<SettingKey, string>> = {};
  for (const [name, layer] of layers) {
    for (const [key, value] of Object.entries(layer)) {
      merged[key as SettingKey] = value;
      origin[key as SettingKey] = name === 'environment' ? toEnvName(key) : name;
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
