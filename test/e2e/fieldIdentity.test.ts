/**
 * The product's new name and the instance's identity, through the built CLI: the
 * workspaces_machine_role fallback (and that status/doctor say so), the region taken from
 * AppStream_Image_Arn (environment, or a sample /etc/profile.d/appstream_system_vars.sh), and
 * exec children getting AWS_REGION and AWS_DEFAULT_REGION.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot, runCli } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';

const SAMPLE_VARS = path.join(repoRoot, 'test', 'fixtures', 'appstream_system_vars.sh');
const KEY = 'ASIAFIELDIDENTITY001';
const SECRET = 'FieldIdentitySecretFieldIdentitySecret01';
const OTHER_KEY = 'ASIAFIELDIDENTITY002';

/**
 * A credentials file holding the given profiles (each with its own key), and an empty state dir.
 * Each token is the hex of a text naming its profile: distinct, and holding nothing the product
 * prints (the secret scan treats every 16 characters of it as secret).
 */
async function profiles(dir: string, sections: Record<string, string>): Promise<Record<string, string>> {
  await mkdir(path.join(dir, '.aws'), { recursive: true });
  const file = path.join(dir, '.aws', 'credentials');
  const text = Object.entries(sections)
    .map(([name, key]) => `[${name}]\naws_access_key_id = ${key}\naws_secret_access_key = ${SECRET}\naws_session_token = ${Buffer.from(`token-of-${name}`).toString('hex')}\n`)
    .join('\n');
  await writeFile(file, text, { mode: 0o600 });
  return {
    AWS_SHARED_CREDENTIALS_FILE: file,
    AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
    // No system variables file unless a test names one: this machine's /etc is not AppStream's.
    APPSTREAM_CREDS_SYSTEM_VARS_FILE: path.join(dir, 'no-system-vars.sh'),
    AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9/',
  };
}

const state = (dir: string) => ['--state-dir', path.join(dir, 'state')];
/** exec of a child that prints the two region variables it got. */
const printRegion = (dir: string) => ['exec', ...state(dir), '--', process.execPath, '-e', 'console.log(JSON.stringify({r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION}))'];

describe('workspaces_machine_role fallback', () => {
  test('without --profile, only workspaces_machine_role exists: it is read, and status and doctor say so', async () => {
    await withSandbox(async (dir) => {
      const env = await profiles(dir, { workspaces_machine_role: KEY });
      const run = await runCli(['credential-process', ...state(dir)], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { AccessKeyId: string }).AccessKeyId, KEY);

      const status = await runCli(['status', '--json', ...state(dir)], { env });
      assert.equal(status.code, 0, status.stderr);
      const report = JSON.parse(status.stdout) as { profile: string; profileFallback?: boolean };
      assert.equal(report.profile, 'workspaces_machine_role');
      assert.equal(report.profileFallback, true);
      const text = await runCli(['status', ...state(dir)], { env });
      assert.match(text.stdout, /profile: +workspaces_machine_role \(direct; no appstream_machine_role profile/);

      const doctor = await runCli(['doctor', '--json', '--no-agent', ...state(dir)], { env, timeoutMs: 60_000 });
      const findings = (JSON.parse(doctor.stdout) as { findings: Array<{ path: string; code: string; message: string }> }).findings;
      const profile = findings.find((f) => f.path === 'profile');
      assert.equal(profile?.code, 'workspaces-profile', doctor.stdout);
      assert.match(profile!.message, /no appstream_machine_role profile; using workspaces_machine_role/);
    });
  });

  test('appstream_machine_role wins when both exist; a profile named with --profile never falls back', async () => {
    await withSandbox(async (dir) => {
      const both = await profiles(dir, { workspaces_machine_role: OTHER_KEY, appstream_machine_role: KEY });
      const run = await runCli(['credential-process', ...state(dir)], { env: both });
      assert.equal((JSON.parse(run.stdout) as { AccessKeyId: string }).AccessKeyId, KEY);
    });
    await withSandbox(async (dir) => {
      const env = await profiles(dir, { workspaces_machine_role: KEY });
      const named = await runCli(['credential-process', '--profile', 'appstream_machine_role', ...state(dir)], { env });
      assert.equal(named.code, 5);
      assert.match(named.stderr, /profile appstream_machine_role not found/);
      const neither = await runCli(['credential-process', ...state(dir)], { env: { ...env, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'missing') } });
      assert.equal(neither.code, 5);
      assert.match(neither.stderr, /profile appstream_machine_role \(nor workspaces_machine_role\) not found/);
    });
  });
});

describe('region from the instance identity', () => {
  test('AppStream_Image_Arn in the environment gives exec children AWS_REGION and AWS_DEFAULT_REGION', async () => {
    await withSandbox(async (dir) => {
      const env = { ...(await profiles(dir, { appstream_machine_role: KEY })), AppStream_Image_Arn: 'arn:aws:appstream:us-west-2:123456789012:image/field' };
      const run = await runCli(printRegion(dir), { env });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { r: 'us-west-2', d: 'us-west-2' });

      // A region the child already has is kept, and copied to the other name.
      const own = await runCli(printRegion(dir), { env: { ...env, AWS_DEFAULT_REGION: 'ap-southeast-2' } });
      assert.deepEqual(JSON.parse(own.stdout), { r: 'ap-southeast-2', d: 'ap-southeast-2' });
      // A configured region beats the image's.
      const configured = await runCli(printRegion(dir), { env: { ...env, APPSTREAM_CREDS_REGION: 'ca-central-1' } });
      assert.deepEqual(JSON.parse(configured.stdout), { r: 'ca-central-1', d: 'ca-central-1' });
    });
  });

  test('a sample appstream_system_vars.sh gives the region and the identity that status and doctor show', async () => {
    await withSandbox(async (dir) => {
      const env = { ...(await profiles(dir, { appstream_machine_role: KEY })), APPSTREAM_CREDS_SYSTEM_VARS_FILE: SAMPLE_VARS };
      const run = await runCli(printRegion(dir), { env });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { r: 'eu-west-1', d: 'eu-west-1' });

      const status = await runCli(['status', '--json', ...state(dir)], { env });
      const instance = (JSON.parse(status.stdout) as { instance: { region: string; regionFrom: string; variables: Record<string, string>; variablesFrom: Record<string, string> } }).instance;
      assert.equal(instance.region, 'eu-west-1');
      assert.equal(instance.regionFrom, 'AppStream_Image_Arn');
      assert.equal(instance.variables.AppStream_Resource_Type, 'fleet');
      assert.equal(instance.variables.AppStream_UserName, 'field.user@example.com');
      assert.equal(instance.variables.AppStream_Session_ID, '3f2c1e9a-5b7d-4c2e-9a61-0d4e8b7f6a21');
      assert.equal(instance.variablesFrom.AppStream_Image_Arn, SAMPLE_VARS);
      const text = await runCli(['status', ...state(dir)], { env });
      assert.match(text.stdout, /region: +eu-west-1 \(from AppStream_Image_Arn\)/);
      assert.match(text.stdout, /AppStream_Resource_Name=field-test-fleet/);

      // The session's own environment wins over the file.
      const session = await runCli(['status', '--json', ...state(dir)], { env: { ...env, AppStream_UserName: 'session-user' } });
      assert.equal((JSON.parse(session.stdout) as { instance: { variables: Record<string, string> } }).instance.variables.AppStream_UserName, 'session-user');

      const doctor = await runCli(['doctor', '--json', '--no-agent', ...state(dir)], { env, timeoutMs: 60_000 });
      const findings = (JSON.parse(doctor.stdout) as { findings: Array<{ path: string; message: string }> }).findings;
      assert.match(findings.find((f) => f.path === 'instance')?.message ?? '', /AppStream_Resource_Type=fleet.*AppStream_Image_Arn=arn:aws:appstream:eu-west-1/);
      assert.match(findings.find((f) => f.path === 'region')?.message ?? '', /eu-west-1 \(from AppStream_Image_Arn\)/);
    });
  });

  test('an appstream_system_vars.sh that another local user could have written is not read (it names the user in role sessions)', async () => {
    await withSandbox(async (dir) => {
      const open = path.join(dir, 'open');
      await mkdir(open);
      await chmod(open, 0o777); // writable by every user, and not a sticky folder
      const planted = path.join(open, 'appstream_system_vars.sh');
      await copyFile(SAMPLE_VARS, planted);
      const env = { ...(await profiles(dir, { appstream_machine_role: KEY })), APPSTREAM_CREDS_SYSTEM_VARS_FILE: planted };
      const status = await runCli(['status', '--json', ...state(dir)], { env });
      const instance = (JSON.parse(status.stdout) as { instance: { region?: string | null; variables: Record<string, string> } }).instance;
      assert.notEqual(instance.region, 'eu-west-1');
      assert.equal(instance.variables.AppStream_UserName, undefined);
      // The same file in a folder only its owner can write is read.
      await chmod(open, 0o755);
      const trusted = await runCli(['status', '--json', ...state(dir)], { env });
      assert.equal((JSON.parse(trusted.stdout) as { instance: { variables: Record<string, string> } }).instance.variables.AppStream_UserName, 'field.user@example.com');
    });
  });
});
