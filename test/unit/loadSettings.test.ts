import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentError } from '../../src/errors.js';
import { loadSettings, type RawSettings } from '../../src/config/loadSettings.js';
import { SETTING_KEYS } from '../../src/config/settingsSchema.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { defaultHomeDirs, defaultStateDir } from '../../src/config/defaultHomes.js';
import { S, M, H } from '../helpers/timings.js';

const CONFIG = '/etc/appstream-creds.json';

interface Layers {
  flags?: RawSettings;
  env?: Record<string, string | undefined>;
  /** The --config file: an object (serialized) or raw text. */
  config?: unknown;
  platform?: NodeJS.Platform;
}

function load({ flags = {}, env = {}, config, platform = 'linux' }: Layers) {
  const readFile = (file: string): string => {
    if (file === CONFIG && config !== undefined) return typeof config === 'string' ? config : JSON.stringify(config);
    throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
  };
  return loadSettings({ flags, env, platform, readFile }, config === undefined ? undefined : CONFIG);
}

/** Asserts a usage error (exit 2) whose message contains every fragment. */
function rejects(layers: Layers, ...fragments: string[]): string {
  let message = '';
  assert.throws(
    () => load(layers),
    (error: unknown) => {
      assert.ok(error instanceof AgentError, String(error));
      assert.equal(error.exitCode, 2, error.message);
      message = error.message;
      for (const fragment of fragments) assert.ok(message.includes(fragment), `"${message}" should include ${fragment}`);
      return true;
    },
  );
  return message;
}

describe('loadSettings', () => {
  test('defaults match the design card', () => {
    const s = load({});
    assert.equal(s.profile, 'appstream_machine_role');
    assert.equal(s.refreshInterval, H);
    assert.equal(s.validity, H);
    assert.equal(s.refreshGrace, 10 * M);
    assert.equal(s.expiryWarning, 15 * M);
    assert.equal(s.waitTimeout, 300 * S);
    assert.equal(s.networkCheckInterval, 60 * S);
    assert.equal(s.port, 920, 'privileged on Linux (issue 19 point 7)');
    assert.equal(s.imds, false);
    assert.equal(s.probe, 'none');
    assert.deepEqual(s.excludeCidrs, ['198.19.0.0/16', '169.254.0.0/16', '127.0.0.0/8']);
    assert.equal(s.stateDir, '/var/lib/appstream-credential-agent');
    assert.ok(s.homeDirs.includes('/home/ImageBuilderAdmin'));
    assert.equal(s.credentialsFile, undefined);
    assert.equal(s.region, undefined);
  });

  test('precedence: flag > APPSTREAM_CREDS_* env > config file > defaults', () => {
    const config = { validity: '2h', refreshInterval: '20m', port: 1111 };
    const env = { APPSTREAM_CREDS_VALIDITY: '3h', APPSTREAM_CREDS_REFRESH_INTERVAL: '30m' };
    const all = load({ config, env, flags: { validity: '4h' } });
    assert.equal(all.validity, 4 * H, 'flag wins');
    assert.equal(all.refreshInterval, 30 * M, 'env beats the config file');
    assert.equal(all.port, 1111, 'the config file beats the default');
    assert.equal(all.expiryWarning, 15 * M, 'default when nobody says');
    assert.equal(load({ config, env }).validity, 3 * H);
    assert.equal(load({ config }).validity, 2 * H);
  });

  test('the standard AWS variables sit between our own variables and the config file', () => {
    const config = { credentialsFile: '/cfg/credentials', configFile: '/cfg/config', region: 'eu-west-1', stsEndpoint: 'http://cfg.example' };
    const aws = { AWS_SHARED_CREDENTIALS_FILE: '/aws/credentials', AWS_CONFIG_FILE: '/aws/config', AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:5000' };
    const fromAws = load({ config, env: aws });
    assert.equal(fromAws.credentialsFile, '/aws/credentials');
    assert.equal(fromAws.configFile, '/aws/config');
    assert.equal(fromAws.region, 'us-west-2');
    assert.equal(fromAws.stsEndpoint, 'http://127.0.0.1:5000');
    const ours = load({ config, env: { ...aws, APPSTREAM_CREDS_CREDENTIALS_FILE: '/ours/credentials', APPSTREAM_CREDS_REGION: 'ap-southeast-2' } });
    assert.equal(ours.credentialsFile, '/ours/credentials');
    assert.equal(ours.region, 'ap-southeast-2');
    assert.equal(load({ config, env: aws, flags: { region: 'ca-central-1' } }).region, 'ca-central-1');
  });

  test('AWS_REGION beats AWS_DEFAULT_REGION; AWS_ENDPOINT_URL_STS beats AWS_ENDPOINT_URL', () => {
    assert.equal(load({ env: { AWS_DEFAULT_REGION: 'eu-central-1' } }).region, 'eu-central-1');
    assert.equal(load({ env: { AWS_DEFAULT_REGION: 'eu-central-1', AWS_REGION: 'us-east-2' } }).region, 'us-east-2');
    assert.equal(load({ env: { AWS_ENDPOINT_URL: 'http://all.example' } }).stsEndpoint, 'http://all.example');
    assert.equal(load({ env: { AWS_ENDPOINT_URL: 'http://all.example', AWS_ENDPOINT_URL_STS: 'http://sts.example' } }).stsEndpoint, 'http://sts.example');
  });

  test('undefined flags and empty variables do not override lower layers', () => {
    const s = load({ config: { validity: '2h' }, env: { APPSTREAM_CREDS_VALIDITY: '' }, flags: { validity: undefined, profile: undefined } });
    assert.equal(s.validity, 2 * H);
    assert.equal(s.profile, 'appstream_machine_role');
  });

  test('imdsPort: its own port, by default port + 1 (921 on Linux), 0 with port 0; never port itself', () => {
    assert.equal(load({}).imdsPort, 921, 'next to 920, privileged too');
    assert.equal(load({ platform: 'win32', env: { APPSTREAM_CREDS_HOME_DIRS: 'E:\\Users' } }).imdsPort, 9921);
    assert.equal(load({ env: { APPSTREAM_CREDS_PORT: '0' } }).imdsPort, 0);
    assert.equal(load({ env: { APPSTREAM_CREDS_PORT: '5000', APPSTREAM_CREDS_IMDS: 'true' } }).imdsPort, 5001);
    assert.equal(load({ env: { APPSTREAM_CREDS_IMDS_PORT: '930', APPSTREAM_CREDS_IMDS: 'true' } }).imdsPort, 930);
    rejects({ env: { APPSTREAM_CREDS_PORT: '930', APPSTREAM_CREDS_IMDS_PORT: '930', APPSTREAM_CREDS_IMDS: 'true' } }, 'setting imdsPort', 'APPSTREAM_CREDS_IMDS_PORT', 'a port of its own');
    rejects({ env: { APPSTREAM_CREDS_PORT: '65535', APPSTREAM_CREDS_IMDS: 'true' } }, 'setting imdsPort', 'no next port');
    assert.equal(load({ env: { APPSTREAM_CREDS_PORT: '65535' } }).imdsPort, 0, 'unused without imds: no error');
    rejects({ env: { APPSTREAM_CREDS_IMDS_PORT: '70000' } }, 'setting imdsPort', 'an integer from 0 to 65535');
  });

  test('every setting has an APPSTREAM_CREDS_<UPPER_SNAKE> variable', () => {
    const s = load({ env: { APPSTREAM_CREDS_STATE_DIR: '/tmp/state', APPSTREAM_CREDS_LOG_MAX_FILES: '7', APPSTREAM_CREDS_IMDS: 'on', APPSTREAM_CREDS_PROCESS_TIMEOUT: '2s', APPSTREAM_CREDS_PORT: '0' } });
    assert.equal(s.stateDir, '/tmp/state');
    assert.equal(s.logMaxFiles, 7);
    assert.equal(s.imds, true);
    assert.equal(s.processTimeout, 2 * S);
    assert.equal(s.port, 0);
    assert.ok(SETTING_KEYS.includes('excludeCidrs'));
  });

  test('durations: 90s, 10m, 1h (and ms, d, decimals); JSON numbers in the config file are seconds', () => {
    const env = { APPSTREAM_CREDS_REFRESH_GRACE: '90s', APPSTREAM_CREDS_EXPIRY_WARNING: '10m', APPSTREAM_CREDS_VALIDITY: '1h', APPSTREAM_CREDS_PROCESS_TIMEOUT: '250ms', APPSTREAM_CREDS_WAIT_TIMEOUT: ' 1.5h ' };
    const s = load({ env, config: { refreshInterval: 90 } });
    assert.deepEqual([s.refreshGrace, s.expiryWarning, s.validity, s.processTimeout, s.waitTimeout, s.refreshInterval], [90 * S, 10 * M, H, 250, 1.5 * H, 90 * S]);
  });

  test('lists come from comma strings (trimmed, empties dropped) or JSON arrays', () => {
    assert.deepEqual(load({ env: { APPSTREAM_CREDS_HOME_DIRS: ' /a, /b ,, ' } }).homeDirs, ['/a', '/b']);
    assert.deepEqual(load({ config: { excludeCidrs: ['10.0.0.0/8', ' 198.19.0.0/16'] } }).excludeCidrs, ['10.0.0.0/8', '198.19.0.0/16']);
    assert.deepEqual(load({ flags: { excludeCidrs: '10.0.0.0/8,192.168.0.0/16' } }).excludeCidrs, ['10.0.0.0/8', '192.168.0.0/16']);
  });

  test('a bad value names the setting, where it came from and what is allowed', () => {
    rejects({ env: { APPSTREAM_CREDS_VALIDITY: 'forever' } }, 'setting validity', 'APPSTREAM_CREDS_VALIDITY', '"forever"', '90s, 10m or 1h');
    rejects({ config: { waitTimeout: '5 minutes' } }, 'setting waitTimeout', `--config ${CONFIG}`, '90s, 10m or 1h');
    rejects({ flags: { refreshInterval: '10' } }, 'setting refreshInterval', 'from --refresh-interval');
    rejects({ env: { APPSTREAM_CREDS_VALIDITY: '500ms' } }, 'setting validity', 'at least 1s');
    rejects({ env: { APPSTREAM_CREDS_PROCESS_TIMEOUT: '50ms' } }, 'setting processTimeout', 'at least 100ms');
    rejects({ env: { APPSTREAM_CREDS_PORT: '70000' } }, 'setting port', 'APPSTREAM_CREDS_PORT', 'an integer from 0 to 65535');
    rejects({ env: { APPSTREAM_CREDS_LOG_LEVEL: 'loud' } }, 'setting logLevel', 'trace, debug, info');
    rejects({ env: { APPSTREAM_CREDS_PROBE: 'ping' } }, 'setting probe', 'none, tcp, sts');
    rejects({ env: { APPSTREAM_CREDS_IMDS: 'maybe' } }, 'setting imds', 'true or false');
    rejects({ env: { APPSTREAM_CREDS_EXCLUDE_CIDRS: '10.0.0.0/8,not-a-cidr' } }, 'setting excludeCidrs', '"not-a-cidr"', 'IPv4 CIDR');
    rejects({ env: { APPSTREAM_CREDS_PROFILE: 'has space' } }, 'setting profile', 'APPSTREAM_CREDS_PROFILE');
    rejects({ env: { AWS_REGION: 'moon-base' } }, 'setting region', 'AWS', 'us-east-1');
    rejects({ env: { AWS_ENDPOINT_URL_STS: 'not a url' } }, 'setting stsEndpoint', 'AWS');
  });

  test('errors about a --config file name the position, never its content', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const cases: Array<[string, string]> = [
      [`{\n  "validity": "1h",\n  "region": ${secret}\n}`, 'not valid JSON at line 3, column 13'],
      [`{"validity": "1h" "${secret}": 1}`, 'not valid JSON at line 1, column 19'],
      [`{"${secret}": 1}`, 'unknown setting at line 1, column 2'],
      [`{\n "validity": "${secret}"\n}`, 'setting validity (from --config /etc/appstream-creds.json, line 2, column 2): invalid value'],
      [`{"logLevel": "${secret}"}`, 'allowed: trace, debug'],
      [`{"region": "${secret}", "x": "\\u00zz"}`, 'not valid JSON at line 1, column 62'],
      [`{"port": "${secret}"}`, 'line 1, column 2'],
    ];
    for (const [text, fragment] of cases) {
      const message = rejects({ config: text }, fragment);
      for (const piece of [secret, secret.slice(0, 10), secret.slice(-10)]) assert.ok(!message.includes(piece), `"${message}" echoes the file's content`);
    }
  });

  test('a bad --config file: unknown key, invalid JSON, not an object, missing', () => {
    const unknown = rejects({ config: { validity: '1h', refreshIntervall: '1h' } }, `--config ${CONFIG}`, 'unknown setting at line 1, column 18', 'did you mean refreshInterval?');
    assert.ok(!unknown.includes('refreshIntervall'), 'the unknown key itself is not echoed');
    rejects({ config: '{"validity": "1h",' }, `--config ${CONFIG}`, 'not valid JSON at line 1, column 19');
    rejects({ config: '["validity"]' }, `--config ${CONFIG}`, 'expected a JSON object');
    assert.throws(() => loadSettings({ flags: {}, env: {}, platform: 'linux', readFile: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); } }, '/nope.json'), /--config \/nope\.json: cannot read it \(no such file\)/);
  });
});

describe('durations', () => {
  test('parseDuration accepts the documented forms and names the culprit otherwise', () => {
    assert.deepEqual(['90s', '10m', '1h', '250ms', '2d', '0.5s'].map((d) => parseDuration(d, 'x')), [90 * S, 10 * M, H, 250, 48 * H, 500]);
    for (const bad of ['', '10', '1 h', '-5s', '1h30m', 'forever', '1H']) {
      assert.throws(() => parseDuration(bad, '--timeout'), (e: unknown) => e instanceof AgentError && e.exitCode === 2 && e.message.startsWith(`--timeout: "${bad}" is not a duration`), bad);
    }
  });

  test('formatDuration renders compactly', () => {
    assert.deepEqual([H, 90 * S, 1.5 * H + 5 * S, 250, 0, -2 * M].map(formatDuration), ['1h', '1m30s', '1h30m5s', '250ms', '0ms', '-2m']);
  });
});

describe('default homes and state dir', () => {
  test('Windows: SYSTEM and ImageBuilderAdmin under the system drive (not the streaming user PhotonUser, unless configured); ProgramData state', () => {
    const env = { SystemRoot: 'D:\\Windows', SystemDrive: 'D:', ProgramData: 'D:\\ProgramData' };
    assert.deepEqual(defaultHomeDirs('win32', env), ['D:\\Windows\\System32\\config\\systemprofile', 'D:\\Users\\ImageBuilderAdmin']);
    assert.equal(defaultStateDir('win32', env), 'D:\\ProgramData\\AppStreamCredentialAgent');
    assert.deepEqual(defaultHomeDirs('win32', {}), ['C:\\Windows\\System32\\config\\systemprofile', 'C:\\Users\\ImageBuilderAdmin']);
    assert.deepEqual(load({ platform: 'win32', env: { APPSTREAM_CREDS_HOME_DIRS: 'E:\\Users\\PhotonUser' } }).homeDirs, ['E:\\Users\\PhotonUser']);
  });

  test('Linux: the image builder home and root, never the streaming user', () => {
    assert.deepEqual(defaultHomeDirs('linux', {}), ['/home/ImageBuilderAdmin', '/root']);
  });

  test('trust settings: trustedOwners defaults to the image builder admin, strictPermissions to true', () => {
    const settings = load({});
    assert.deepEqual(settings.trustedOwners, ['ImageBuilderAdmin']);
    assert.equal(settings.strictPermissions, true);
    const changed = load({ env: { APPSTREAM_CREDS_TRUSTED_OWNERS: 'alice, 1500', APPSTREAM_CREDS_STRICT_PERMISSIONS: 'false' } });
    assert.deepEqual(changed.trustedOwners, ['alice', '1500']);
    assert.equal(changed.strictPermissions, false);
    rejects({ env: { APPSTREAM_CREDS_STRICT_PERMISSIONS: 'maybe' } }, 'strictPermissions', 'true or false');
  });
});

test('a bad value from a standard AWS variable names that variable', () => {
  assert.throws(
    () => loadSettings({ flags: {}, env: { AWS_DEFAULT_REGION: 'nowhere' }, platform: 'linux', readFile: () => '' }),
    /setting region \(from AWS_DEFAULT_REGION\): an AWS region like us-east-1/,
  );
  assert.throws(
    () => loadSettings({ flags: {}, env: { AWS_ENDPOINT_URL_STS: 'not a url' }, platform: 'linux', readFile: () => '' }),
    /setting stsEndpoint \(from AWS_ENDPOINT_URL_STS\)/,
  );
});

test('verifyNewCredentials: auto by default; true/false from the variable or the config file; anything else is refused with the allowed values', () => {
  assert.equal(load({}).verifyNewCredentials, 'auto');
  assert.equal(load({ env: { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'false' } }).verifyNewCredentials, false);
  assert.equal(load({ env: { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'on' } }).verifyNewCredentials, true);
  assert.equal(load({ config: { verifyNewCredentials: true } }).verifyNewCredentials, true);
  assert.equal(load({ config: { verifyNewCredentials: 'auto' } }).verifyNewCredentials, 'auto');
  rejects({ env: { APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'sometimes' } }, 'APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS', 'auto, true or false');
});
