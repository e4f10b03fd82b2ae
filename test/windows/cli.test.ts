/**
 * The Windows lane, one-shot commands: the built dist/ bundle under the official win32
 * node.exe in Wine (process.platform === 'win32', C:\ProgramData, cmd.exe). Skips with the
 * printed reason where Wine cannot be had.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runWinCli, runWine, toWinPath, wineLane, wineTempDir } from '../helpers/wine.js';

const { rig, skip } = await wineLane();

const PROFILE = 'appstream_machine_role';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYWINEXAMPLE';
// Characters a real session token carries (base64), plus the ones each shell treats specially.
const TOKEN = 'IQoJb3JpZ2luX2VjEJ//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+wine=token/AbC+';

interface ProcessJson {
  Version: number;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  Expiration: string;
}

/** A credentials file as Notepad saves it on Windows: UTF-8 BOM and CRLF line ends. */
const windowsProfile = (keyId: string, token = TOKEN): string =>
  `\ufeff[default]\r\nregion = us-east-1\r\n\r\n[${PROFILE}]\r\naws_access_key_id = ${keyId}\r\naws_secret_access_key = ${SECRET}\r\naws_session_token = ${token}\r\n`;

let dir: string;
/** The sandbox's profile files, as the Windows side names them. */
let fileEnv: Record<string, string>;

before(async () => {
  if (skip) return;
  dir = await wineTempDir(rig, 'wincli');
  await mkdir(path.join(dir, '.aws'), { mode: 0o755 });
  await writeFile(path.join(dir, '.aws', 'credentials'), windowsProfile('ASIAWINESANDBOX00001'), { mode: 0o600 });
  await writeFile(path.join(dir, '.aws', 'config'), '\ufeff[default]\r\nregion = us-east-1\r\n');
  fileEnv = {
    AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, '.aws', 'credentials')),
    AWS_CONFIG_FILE: toWinPath(path.join(dir, '.aws', 'config')),
    APPSTREAM_CREDS_STATE_DIR: toWinPath(path.join(dir, 'state')),
  };
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const mkdtempLinux = async (): Promise<string> => (await import('node:fs/promises')).mkdtemp(path.join(os.tmpdir(), 'as2creds-wintmp-'));

const credentialProcess = async (env: Record<string, string | undefined>): Promise<ProcessJson> => {
  const run = await runWinCli(rig, ['credential-process'], { env });
  assert.equal(run.code, 0, `credential-process under Wine failed (${run.code}): ${run.stderr}`);
  assert.equal(run.stderr, '', 'nothing on stderr: the profile passes the strict ownership rule');
  return JSON.parse(run.stdout) as ProcessJson;
};

describe('win32 node.exe under Wine', { skip }, () => {
  test('is the Windows runtime: platform win32, ProgramData and USERPROFILE as on Windows', async () => {
    const run = await runWine(rig, rig.nodeExe, ['-p', 'JSON.stringify([process.platform, process.version, process.env.ProgramData, require("os").homedir()])']);
    assert.equal(run.code, 0, run.stderr);
    const [platform, version, programData, home] = JSON.parse(run.stdout) as string[];
    assert.equal(platform, 'win32');
    assert.equal(version, process.version, 'node.exe is the same version as the Linux node (a SEA blob must match)');
    assert.equal(programData, 'C:\\ProgramData');
    assert.match(home!, /^C:\\users\\/i);
  });

  test('credential-process reads a BOM + CRLF profile named by AWS_SHARED_CREDENTIALS_FILE (a Z:\\ path)', async () => {
    const json = await credentialProcess(fileEnv);
    assert.equal(json.Version, 1);
    assert.equal(json.AccessKeyId, 'ASIAWINESANDBOX00001');
    assert.equal(json.SecretAccessKey, SECRET, 'no CR left on the value');
    assert.equal(json.SessionToken, TOKEN);
    assert.ok(Date.parse(json.Expiration) > Date.now());
  });

  test('credential-process finds the profile in %USERPROFILE%\\.aws (BOM + CRLF, no variables set)', async () => {
    const home = await runWine(rig, rig.nodeExe, ['-p', 'require("os").homedir()']);
    // C:\users\<name> lives in the prefix's drive_c.
    const linuxHome = path.join(rig.prefix, 'drive_c', home.stdout.trim().replace(/^C:\\/i, '').replace(/\\/g, '/'));
    await mkdir(path.join(linuxHome, '.aws'), { recursive: true });
    await writeFile(path.join(linuxHome, '.aws', 'credentials'), windowsProfile('ASIAWINEUSERPROFILE1'));
    await writeFile(path.join(linuxHome, '.aws', 'config'), `\ufeff[profile ${PROFILE}]\r\nregion = eu-west-1\r\n`);
    try {
      const json = await credentialProcess({ APPSTREAM_CREDS_STATE_DIR: toWinPath(path.join(dir, 'state-home')) });
      assert.equal(json.AccessKeyId, 'ASIAWINEUSERPROFILE1');
      assert.equal(json.SecretAccessKey, SECRET);
    } finally {
      await rm(path.join(linuxHome, '.aws'), { recursive: true, force: true });
    }
  });

  test('the lane runs strict: no strictPermissions in the environment, and doctor reads owners through the native route', async () => {
    const run = await runWinCli(rig, ['doctor', '--json', '--no-agent'], { env: fileEnv });
    const findings = (JSON.parse(run.stdout) as { findings: { code: string; severity: string; message: string }[] }).findings;
    assert.ok(!findings.some((f) => f.code === 'strict-permissions-off'), run.stdout);
    const route = findings.find((f) => f.code === 'trust-route');
    assert.equal(route?.severity, 'info', run.stdout);
    assert.match(route!.message, /SIDs through advapi32 \(native: .*koffi-win32-x64\.node\)/);
  });

  describe('strict ownership rule through the native route (Wine derives DACLs from Unix modes)', () => {
    let base: string;
    let profile: string;
    const env = () => ({ ...fileEnv, AWS_SHARED_CREDENTIALS_FILE: toWinPath(profile) });
    before(async () => {
      base = path.join(dir, 'strict');
      await mkdir(path.join(base, 'aws'), { recursive: true, mode: 0o755 });
      profile = path.join(base, 'aws', 'credentials');
      await writeFile(profile, windowsProfile('ASIAWINESTRICT000001'), { mode: 0o600 });
    });

    test('a profile the agent\'s account owns and nobody else can write is used', async () => {
      const json = await credentialProcess(env());
      assert.equal(json.AccessKeyId, 'ASIAWINESTRICT000001');
    });

    test('the same file made writable by Everyone (chmod 0666) is refused: exit 5, naming Everyone (S-1-1-0)', async () => {
      await chmod(profile, 0o666);
      try {
        const run = await runWinCli(rig, ['credential-process'], { env: env() });
        assert.equal(run.code, 5, run.stderr);
        assert.equal(run.stdout, '');
        assert.match(run.stderr, /credentials is not trusted: writable by Everyone \(S-1-1-0\) \(access 0x1301ff: /);
        assert.match(run.stderr, /icacls ".*credentials" \/remove:g \*S-1-1-0/);
        assert.ok(!run.stderr.includes(SECRET) && !run.stderr.includes(TOKEN), 'no secret in the error');
      } finally {
        await chmod(profile, 0o600);
      }
    });

    test('a trusted file in a folder writable by Everyone (chmod 0777) is refused, naming the folder', async () => {
      await chmod(path.dirname(profile), 0o777);
      try {
        const run = await runWinCli(rig, ['credential-process'], { env: env() });
        assert.equal(run.code, 5, run.stderr);
        assert.match(run.stderr, /is not trusted: C:\\.*\\strict\\aws is writable by Everyone \(S-1-1-0\) \(access 0x1301ff: delete child, DELETE\)/);
      } finally {
        await chmod(path.dirname(profile), 0o755);
      }
    });

    test('a file another account owns is refused by its owner SID (Wine: another Unix user is ANONYMOUS LOGON, S-1-5-7)', { skip: process.getuid?.() === 0 ? false : 'chown to another user needs root' }, async () => {
      await chown(profile, 65534, 65534);
      try {
        const run = await runWinCli(rig, ['credential-process'], { env: env() });
        assert.equal(run.code, 5, run.stderr);
        assert.match(run.stderr, /credentials is not trusted: owned by .*\(S-1-5-7\)/);
      } finally {
        await chown(profile, process.getuid!(), process.getgid!());
      }
    });

    test('every folder above counts, up to the drive: a profile under Z:\\tmp (1777, no sticky bit on Windows) is refused', async () => {
      const linuxTmp = await mkdtempLinux();
      try {
        await writeFile(path.join(linuxTmp, 'credentials'), windowsProfile('ASIAWINETMP000000001'), { mode: 0o600 });
        const run = await runWinCli(rig, ['credential-process'], { env: { ...fileEnv, AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(linuxTmp, 'credentials')) } });
        assert.equal(run.code, 5, run.stderr);
        assert.match(run.stderr, /is not trusted: Z:\\tmp is writable by Everyone \(S-1-1-0\)/);
      } finally {
        await rm(linuxTmp, { recursive: true, force: true });
      }
    });
  });

  test('a missing profile is a clear one-line error with exit 5, no stack trace', async () => {
    const run = await runWinCli(rig, ['credential-process'], { env: { ...fileEnv, AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, 'nope', 'credentials')) } });
    assert.equal(run.code, 5, run.stderr);
    assert.equal(run.stdout, '');
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.match(run.stderr, /appstream_machine_role/);
  });

  test('env --format cmd, run by Wine\'s cmd.exe, sets every value exactly', async () => {
    const expected = await credentialProcess(fileEnv);
    const run = await runWinCli(rig, ['env', '--format', 'cmd'], { env: { ...fileEnv, AWS_REGION: 'us-east-1' } });
    assert.equal(run.code, 0, run.stderr);
    // A batch file that applies the output, then prints each variable with nothing around it.
    const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'AWS_REGION'];
    const batch = path.join(dir, 'apply-env.cmd');
    const lines = ['@echo off', ...run.stdout.split(/\r?\n/).filter(Boolean), ...names.map((n) => `if defined ${n} (echo ${n}=[!${n}!]) else (echo ${n} unset)`)];
    await writeFile(batch, lines.join('\r\n') + '\r\n');
    const shell = await runWine(rig, 'cmd', ['/v:on', '/c', toWinPath(batch)], { env: { AWS_ACCESS_KEY_ID: undefined } });
    assert.equal(shell.code, 0, shell.stderr);
    const seen = Object.fromEntries([...shell.stdout.matchAll(/^(\w+)=\[(.*)\]\r?$/gm)].map((m) => [m[1], m[2]]));
    assert.deepEqual(seen, {
      AWS_ACCESS_KEY_ID: expected.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: expected.SecretAccessKey,
      AWS_SESSION_TOKEN: expected.SessionToken,
      AWS_CREDENTIAL_EXPIRATION: seen.AWS_CREDENTIAL_EXPIRATION,
      AWS_REGION: 'us-east-1',
    });
    assert.ok(Date.parse(seen.AWS_CREDENTIAL_EXPIRATION!) > Date.now(), `expiration: ${seen.AWS_CREDENTIAL_EXPIRATION}`);
  });

  test('env with no --format picks cmd on Windows when PSModulePath is absent', async () => {
    const run = await runWinCli(rig, ['env'], { env: { ...fileEnv, PSModulePath: undefined } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^set "AWS_ACCESS_KEY_ID=ASIAWINESANDBOX00001"\r?$/m);
  });

  test('env --format powershell: every line is one assignment of a single-quoted literal holding the exact value', async () => {
    // No real PowerShell here (Wine's is a stub), so the output is parsed with PowerShell's own
    // rules for single-quoted strings: only a doubled quote is an escape, and the typographic
    // single quotes U+2018..U+201B end the string like ' does.
    const hostile = "tok'en$(calc)`n%PATH%!x!";
    await writeFile(path.join(dir, '.aws', 'credentials-ps'), windowsProfile('ASIAWINEPOWERSHELL01', hostile));
    const env = { ...fileEnv, AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, '.aws', 'credentials-ps')) };
    const expected = await credentialProcess(env);
    assert.equal(expected.SessionToken, hostile);
    const run = await runWinCli(rig, ['env', '--format', 'powershell'], { env });
    assert.equal(run.code, 0, run.stderr);
    const quote = /['\u2018\u2019\u201a\u201b]/;
    const values: Record<string, string> = {};
    for (const line of run.stdout.split(/\r?\n/).filter(Boolean)) {
      const m = /^\$Env:([A-Za-z_][A-Za-z0-9_]*) = (.*)$/.exec(line);
      assert.ok(m, `not a PowerShell assignment: ${line}`);
      const literal = m[2]!;
      assert.ok(quote.test(literal[0]!) && quote.test(literal.at(-1)!), `value is not single-quoted: ${literal}`);
      const inner = literal.slice(1, -1);
      // Inside, every quote character must come in pairs; an odd one would end the string early.
      let value = '';
      for (let i = 0; i < inner.length; i++) {
        if (quote.test(inner[i]!)) {
          assert.ok(i + 1 < inner.length && quote.test(inner[i + 1]!), `unpaired quote in ${literal}: PowerShell would end the string there`);
          value += inner[i];
          i++;
        } else value += inner[i];
      }
      values[m[1]!] = value;
    }
    assert.equal(values.AWS_ACCESS_KEY_ID, expected.AccessKeyId);
    assert.equal(values.AWS_SECRET_ACCESS_KEY, expected.SecretAccessKey);
    assert.equal(values.AWS_SESSION_TOKEN, hostile);
  });

  test('exec -- cmd /c set AWS_ gives a Windows child the credentials (no agent running)', async () => {
    const expected = await credentialProcess(fileEnv);
    const run = await runWinCli(rig, ['exec', '--', 'cmd', '/c', 'set', 'AWS_'], { env: fileEnv });
    assert.equal(run.code, 0, run.stderr);
    const vars = Object.fromEntries([...run.stdout.matchAll(/^(AWS_\w+)=(.*?)\r?$/gm)].map((m) => [m[1], m[2]]));
    assert.equal(vars.AWS_ACCESS_KEY_ID, expected.AccessKeyId);
    assert.equal(vars.AWS_SECRET_ACCESS_KEY, expected.SecretAccessKey);
    assert.equal(vars.AWS_SESSION_TOKEN, expected.SessionToken);
    assert.equal(vars.AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
  });

  test("exec passes the Windows child's exit code through", async () => {
    const run = await runWinCli(rig, ['exec', '--', 'cmd', '/c', 'exit', '7'], { env: fileEnv });
    assert.equal(run.code, 7, run.stderr);
  });
});
