import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AgentError } from '../../src/errors.js';
import type { FileStat, FileSystem } from '../../src/sources/fileSystem.js';
import { parseProfileFile, profileSection } from '../../src/sources/parseProfileFile.js';
import { readStableFile } from '../../src/sources/readStableFile.js';
import { profileLocations } from '../../src/sources/profileLocations.js';
import { fromAppStreamProfile, programPath, type FromAppStreamProfileInit } from '../../src/sources/fromAppStreamProfile.js';
import { GUARD_ENV, commandResolvesProfile, withGuard } from '../../src/sources/recursionGuard.js';
import { maskedLastLine, parseProcessOutput, runCredentialProcess } from '../../src/sources/runCredentialProcess.js';
import { createFakeClock } from '../helpers/fakeClock.js';

const P = 'appstream_machine_role';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KEY = 'ASIAEXAMPLEKEYID0001';
const staticProfile = (name = P, key = KEY) => `[${name}]\naws_access_key_id = ${key}\naws_secret_access_key = ${SECRET}\naws_session_token = tok-${key}\n`;

/** An in-memory FileSystem; `afterRead` lets a test rewrite a file while it is being read. */
class MemoryFs implements FileSystem {
  readonly files = new Map<string, { data: Buffer; stat: FileStat }>();
  reads = 0;
  private ino = 1;
  afterRead?: (path: string) => void;
  set(file: string, content: string | Buffer, mtimeMs = 1_000): void {
    const data = Buffer.from(content);
    this.files.set(file, { data, stat: { size: data.length, mtimeMs, ino: this.ino++ } });
  }
  private get(file: string) {
    const entry = this.files.get(file);
    if (!entry) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
    return entry;
  }
  async readFile(file: string): Promise<Buffer> {
    this.reads += 1;
    const data = this.get(file).data;
    this.afterRead?.(file);
    return data;
  }
  async stat(file: string): Promise<FileStat> {
    return { ...this.get(file).stat };
  }
}

async function rejectsWith(promise: Promise<unknown>, expect: Partial<Pick<AgentError, 'code' | 'exitCode' | 'transient' | 'tryNextSource'>> & { message?: RegExp }): Promise<AgentError> {
  const error = await promise.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(error instanceof AgentError, String(error));
  const { message, ...fields } = expect;
  for (const [key, value] of Object.entries(fields)) assert.equal(error[key as keyof AgentError], value, `${key} of "${error.message}"`);
  if (message) assert.match(error.message, message);
  assert.ok(!error.message.includes(SECRET), `no secret in "${error.message}"`);
  return error;
}

describe('parseProfileFile', () => {
  test('reads sections and trimmed values; config files use [profile x], credentials files [x]', () => {
    const text = `# comment\n[default]\nregion=us-east-1\n\n[profile ${P}]\n  credential_process =  run it  \n[${P}]\naws_access_key_id = ${KEY}\r\n`;
    const sections = parseProfileFile('/f', text);
    assert.equal(sections.default?.region, 'us-east-1');
    assert.equal(profileSection(sections, P, true)?.credential_process, 'run it');
    assert.equal(profileSection(sections, P, false)?.aws_access_key_id, KEY);
    assert.equal(profileSection(parseProfileFile('/f', `[${P}]\na = 1\n`), P, true), undefined, 'config reads [x] only for default, as the AWS CLI');
    assert.equal(profileSection(parseProfileFile('/f', `[default]\na = 1\n`), 'default', true)?.a, '1');
    assert.equal(profileSection(parseProfileFile('/f', `[profile ${P}]\na = 1\n`), P, false), undefined, 'credentials file has no [profile x]');
  });

  test('dotted profile names are kept whole, next to their dot-less prefix', () => {
    const sections = parseProfileFile('/f', '[profile team.role.v2]\na = 1\n[profile team]\nb = 2\n[profile team.empty]\n[x.y]\nc = 3\n');
    assert.deepEqual(profileSection(sections, 'team.role.v2', true), { a: '1' });
    assert.deepEqual(profileSection(sections, 'team', true), { b: '2' });
    assert.deepEqual(profileSection(sections, 'team.empty', true), {});
    assert.deepEqual(profileSection(sections, 'x.y', false), { c: '3' });
  });

  test('a malformed line is reported by file and line number, never by content', () => {
    for (const [text, line] of [[`[${P}]\naws_secret_access_key ${SECRET}\n`, 2], ['[appstream_mach', 1], [`[a]\nb = 1\n\n= ${SECRET}\n`, 4]] as const) {
      assert.throws(() => parseProfileFile('/home/u/.aws/credentials', text), (e: unknown) => {
        assert.ok(e instanceof AgentError);
        assert.equal(e.message, `/home/u/.aws/credentials:${line}: malformed line; expected "[section]" or "key = value"`);
        assert.equal(e.exitCode, 5);
        assert.equal(e.code, 'file-malformed');
        return true;
      });
    }
  });

  test('";" and "#" inside a credential_process command are kept, as botocore keeps them', () => {
    const sections = parseProfileFile('/f', `[profile ${P}]\ncredential_process = sh -c "fetch; echo done" /opt/#1/x\n`);
    assert.equal(profileSection(sections, P, true)?.credential_process, 'sh -c "fetch; echo done" /opt/#1/x');
  });

  test('values are verbatim strings (no boolean coercion, no unquoting); nested blocks do not leak keys', () => {
    const sections = parseProfileFile('/f', `[profile ${P}]\ncredential_process = false\nregion = "x"\ns3 =\n  region = nested\n  max_concurrent_requests = 4\noutput = json\n`);
    assert.deepEqual(profileSection(sections, P, true), { credential_process: 'false', region: '"x"', s3: '', output: 'json' });
  });

  test('a section that appears twice is refused with both line numbers, as the AWS CLI does', () => {
    assert.throws(() => parseProfileFile('/f', `[${P}]\naws_access_key_id = A\n\n[other]\nx = 1\n[ ${P} ]\naws_secret_access_key = B\n`), /\/f: section \[appstream_machine_role\] appears twice \(lines 1 and 6\)/);
  });

  test('parsing is linear: a line of 100,000 spaces is judged at once', () => {
    assert.throws(() => parseProfileFile('/f', `[${P}]\na${' '.repeat(100_000)}\n`), /\/f:2: malformed line/);
    assert.deepEqual(parseProfileFile('/f', `[${P}]\n${' '.repeat(100_000)}\nk${' '.repeat(100_000)}= v\n`)[P], { k: 'v' });
  });

  test('a key before any section is malformed', () => {
    assert.throws(() => parseProfileFile('/f', 'a = 1\n'), /\/f:1: malformed line; a "key = value" line before any \[section\]/);
  });
});

describe('readStableFile', () => {
  test('returns the text (BOM stripped) and mtime of a file that holds still', async () => {
    const fs = new MemoryFs();
    fs.set('/f', `\uFEFF[${P}]\n`, 4_242);
    assert.deepEqual(await readStableFile(fs, '/f'), { text: `[${P}]\n`, mtimeMs: 4_242, ino: 1 });
  });

  test('a file changed while being read (rename or in-place rewrite) is a transient error', async () => {
    for (const rewrite of [(fs: MemoryFs) => fs.set('/f', 'new content, new inode'), (fs: MemoryFs) => fs.files.get('/f')!.stat.mtimeMs++]) {
      const fs = new MemoryFs();
      fs.set('/f', staticProfile());
      fs.afterRead = () => rewrite(fs);
      await rejectsWith(readStableFile(fs, '/f'), { code: 'file-changing', transient: true, exitCode: 5, message: /^\/f: changed while being read$/ });
    }
  });

  test('missing: try the next source; vanished mid-read: transient; unreadable: named, next source', async () => {
    const fs = new MemoryFs();
    await rejectsWith(readStableFile(fs, '/none'), { code: 'file-missing', tryNextSource: true, transient: false, message: /\/none: no such file/ });
    fs.set('/gone', 'x');
    fs.readFile = async () => { throw Object.assign(new Error('gone'), { code: 'ENOENT' }); };
    await rejectsWith(readStableFile(fs, '/gone'), { code: 'file-missing', transient: true });
    fs.readFile = async () => { throw Object.assign(new Error('denied'), { code: 'EACCES' }); };
    await rejectsWith(readStableFile(fs, '/gone'), { code: 'file-unreadable', tryNextSource: true, message: /\/gone: cannot read \(EACCES\)/ });
  });

  test('binary bytes are rejected with the line they start on', async () => {
    const fs = new MemoryFs();
    fs.set('/bin', Buffer.concat([Buffer.from(`[${P}]\naws_secret_access_key = ${SECRET}\n`), Buffer.from([0xff, 0x00, 0x13])]));
    await rejectsWith(readStableFile(fs, '/bin'), { code: 'file-malformed', exitCode: 5, message: /^\/bin:3: not a text file/ });
  });
});

describe('profileLocations', () => {
  test('each home in order (current first, de-duplicated), credentials before config; explicit files alone', () => {
    const homes = profileLocations({ homeDirs: ['/h2', '/h1', '/h3'] }, '/h1', path.posix).map((l) => `${l.path}:${l.isConfigFile}`);
    assert.deepEqual(homes, ['/h1/.aws/credentials:false', '/h1/.aws/config:true', '/h2/.aws/credentials:false', '/h2/.aws/config:true', '/h3/.aws/credentials:false', '/h3/.aws/config:true']);
    assert.deepEqual(profileLocations({ homeDirs: ['/h2'], configFile: '/c' }, '/h1'), [{ path: '/c', isConfigFile: true }]);
    const win = profileLocations({ homeDirs: ['C:\\Users\\PhotonUser'] }, 'C:\\Users\\PhotonUser', path.win32);
    assert.deepEqual(win.map((l) => l.path), ['C:\\Users\\PhotonUser\\.aws\\credentials', 'C:\\Users\\PhotonUser\\.aws\\config']);
  });
});

function source(fs: MemoryFs, over: Partial<FromAppStreamProfileInit> = {}) {
  const clock = createFakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const init: FromAppStreamProfileInit = {
    profile: P,
    locations: profileLocations({ homeDirs: ['/h1', '/h2'] }, '/h1', path.posix),
    fs,
    clock,
    env: {},
    processTimeoutMs: 5_000,
    ...over,
  };
  return { clock, resolve: fromAppStreamProfile(init) };
}

describe('fromAppStreamProfile', () => {
  test('a file written just now is used once it has been quiet for settleTime, even a long one (10 s, the maximum), in one resolve', async () => {
    for (const settleMs of [500, 10_000]) {
      const fs = new MemoryFs();
      const clock = createFakeClock(Date.parse('2026-01-01T00:00:00Z'));
      fs.set('/h1/.aws/credentials', staticProfile(), clock.now());
      const got = await fromAppStreamProfile({ profile: P, locations: profileLocations({ homeDirs: ['/h1'] }, '/h1', path.posix), fs, clock, env: {}, processTimeoutMs: 5_000, settleMs })();
      assert.equal(got.credentials.accessKeyId, KEY);
      assert.ok(clock.now() - Date.parse('2026-01-01T00:00:00Z') >= settleMs, `waited for ${settleMs} ms of quiet`);
    }
  });

  test('a rename writer whose new file reuses the old inode number (ext4 alternates two numbers) is still a rename: used at once, no settle wait', async () => {
    const fs = new MemoryFs();
    const clock = createFakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const file = '/h1/.aws/credentials';
    const resolve = fromAppStreamProfile({ profile: P, locations: profileLocations({ homeDirs: ['/h1'] }, '/h1', path.posix), fs, clock, env: {}, processTimeoutMs: 5_000, settleMs: 500 });
    const put = (key: string, birthtimeMs: number) => {
      fs.set(file, staticProfile(P, key), clock.now());
      // Two renames later the number is the first one's again; only the birth time differs.
      fs.files.get(file)!.stat = { ...fs.files.get(file)!.stat, ino: 7, birthtimeMs };
    };
    put('ASIAFIRSTRENAME00001', clock.now() - 10_000);
    clock.advance(1_000);
    assert.equal((await resolve()).credentials.accessKeyId, 'ASIAFIRSTRENAME00001');
    const before = clock.now();
    put('ASIATHIRDRENAME00003', clock.now());
    assert.equal((await resolve()).credentials.accessKeyId, 'ASIATHIRDRENAME00003');
    assert.equal(clock.now(), before, 'a new file under a reused inode number is not held for settleTime');
    // The same file rewritten in place (same number, same birth time) still waits to settle.
    fs.set(file, staticProfile(P, 'ASIAINPLACEWRITE0004'), clock.now());
    fs.files.get(file)!.stat = { ...fs.files.get(file)!.stat, ino: 7, birthtimeMs: before, ctimeMs: clock.now() };
    assert.equal((await resolve()).credentials.accessKeyId, 'ASIAINPLACEWRITE0004');
    const afterInPlace = clock.now();
    assert.ok(afterInPlace - before >= 500, 'an in-place rewrite waits for settleTime');
    // Without statx libuv reports the change time as the birth time: it moves on every write, so it is not trusted.
    fs.set(file, staticProfile(P, 'ASIAINPLACEWRITE0005'), clock.now());
    fs.files.get(file)!.stat = { ...fs.files.get(file)!.stat, ino: 7, birthtimeMs: clock.now(), ctimeMs: clock.now() };
    assert.equal((await resolve()).credentials.accessKeyId, 'ASIAINPLACEWRITE0005');
    assert.ok(clock.now() - afterInPlace >= 500, 'a birth time equal to the change time is no proof of a new file');
  });

  test('searches the homes in order: a later home is used when earlier ones lack the profile', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/config', '[profile other]\na = 1\n');
    fs.set('/h2/.aws/credentials', staticProfile(P, 'ASIAFROMSECONDHOME01'), 7_000);
    const got = await source(fs).resolve();
    assert.equal(got.credentials.accessKeyId, 'ASIAFROMSECONDHOME01');
    assert.equal(got.credentials.secretAccessKey, SECRET);
    assert.equal(got.credentials.sessionToken, 'tok-ASIAFROMSECONDHOME01');
    assert.equal(got.issuedAt?.getTime(), 7_000, 'static keys are dated by the file mtime');
    assert.equal(got.origin, `static keys in /h2/.aws/credentials [${P}]`);
    fs.set('/h1/.aws/config', `[profile ${P}]\naws_access_key_id = AKIAFROMFIRSTHOME001\naws_secret_access_key = ${SECRET}\n`);
    assert.equal((await source(fs).resolve()).credentials.accessKeyId, 'AKIAFROMFIRSTHOME001', "the first home's config beats a later home");
  });

  test('static keys win over credential_process in the same section and over the config file', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/credentials', `${staticProfile()}credential_process = /bin/false\n`);
    fs.set('/h1/.aws/config', `[profile ${P}]\ncredential_process = /bin/false\n`);
    assert.equal((await source(fs).resolve()).credentials.accessKeyId, KEY);
  });

  test('a missing profile lists every file searched, saying which do not exist; no retry for a complete file', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/credentials', staticProfile('other'));
    const { clock, resolve } = source(fs);
    const error = await rejectsWith(resolve(), { code: 'profile-missing', exitCode: 5, transient: false });
    assert.match(error.message, /profile appstream_machine_role not found; searched \/h1\/\.aws\/credentials, \/h1\/\.aws\/config \(no such file\), \/h2\/\.aws\/credentials \(no such file\), \/h2\/\.aws\/config \(no such file\)$/);
    assert.deepEqual(clock.sleeps, []);
  });

  test('a file the writer changes underneath each read is read again at once (5 ms), not after growing delays: a storm of rewrites is still read', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/credentials', staticProfile(), 1_000);
    let changes = 3;
    fs.afterRead = (file) => {
      if (changes-- > 0) fs.files.get(file)!.stat.mtimeMs += 1;
    };
    const { clock, resolve } = source(fs);
    assert.equal((await resolve()).credentials.accessKeyId, KEY);
    assert.deepEqual(clock.sleeps, [5, 5, 5]);
    // Past the quick re-reads the usual growing delays take over, then the failure is reported.
    const storm = new MemoryFs();
    storm.set('/h1/.aws/credentials', staticProfile(), 1_000);
    storm.afterRead = (file) => void (storm.files.get(file)!.stat.mtimeMs += 1);
    const stormy = source(storm);
    await rejectsWith(stormy.resolve(), { code: 'file-changing', transient: true });
    assert.deepEqual(stormy.clock.sleeps, [...Array<number>(10).fill(5), 75, 150, 225, 300]);
  });

  test('a half-written file is retried with growing delays (75-300 ms) until it is complete', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/credentials', `[${P}]\n`);
    const { clock, resolve } = source(fs);
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      if (clock.sleeps.length === 1) fs.set('/h1/.aws/credentials', staticProfile(), 9_000);
      return sleep(ms, signal);
    };
    const got = await resolve();
    assert.equal(got.credentials.accessKeyId, KEY);
    assert.deepEqual(clock.sleeps, [75, 150]);
  });

  test('a file that stays half-written is reported after 4 retries, as the incomplete profile', async () => {
    for (const text of [`[${P}]\naws_access_key_id = ${KEY}\n`, '', `[${P}]\n`]) {
      const fs = new MemoryFs();
      fs.set('/h1/.aws/credentials', text);
      const { clock, resolve } = source(fs);
      await rejectsWith(resolve(), { exitCode: 5, transient: true, message: /\/h1\/\.aws\/credentials/ });
      assert.deepEqual(clock.sleeps, [75, 150, 225, 300]);
    }
  });

  test('recursion guard via the environment: refused (exit 2) before any file is read', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/credentials', staticProfile());
    await rejectsWith(source(fs, { env: { [GUARD_ENV]: `other,${P}` } }).resolve(), { exitCode: 2, code: 'recursion', message: /recursion refused/ });
    assert.equal(fs.reads, 0);
    assert.equal((await source(fs, { env: { [GUARD_ENV]: 'other' } }).resolve()).credentials.accessKeyId, KEY, 'another profile in the guard is fine');
  });

  test('recursion guard via the command line: names the file and refuses with exit 2', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/config', `[profile ${P}]\ncredential_process = "/usr/bin/node" "/opt/as2/appstream-creds.cjs" credential-process\n`);
    await rejectsWith(source(fs).resolve(), { exitCode: 2, code: 'recursion', message: /^\/h1\/\.aws\/config \[profile appstream_machine_role\]: .*recursion refused/ });
  });

  test('commandResolvesProfile: which command lines are self-calls on the profile', () => {
    const cases: Array<[string, string, boolean]> = [
      ['appstream-creds credential-process', P, true],
      ['"C:\\Program Files\\nodejs\\node.exe" "C:\\as2\\appstream-creds.cjs" credential-process', P, true],
      ['appstream-creds --profile other credential-process', P, false],
      ['appstream-creds credential-process --profile=other', 'other', true],
      ['appstream-creds credential-process --profile team.role', 'team.role', true],
      ['appstream-creds simulate --emit --dir /tmp/x', P, false],
      ['/usr/local/bin/fetch-creds', P, false],
    ];
    for (const [command, profile, expected] of cases) assert.equal(commandResolvesProfile(command, profile, P), expected, command);
    assert.equal(withGuard({ [GUARD_ENV]: 'a', KEEP: '1' }, 'b')[GUARD_ENV], 'a,b');
    assert.equal(withGuard({ [GUARD_ENV]: 'a' }, 'a')[GUARD_ENV], 'a');
  });

  test('a credential_process runs with the guard in its environment; origin names the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'as2src-'));
    try {
      const script = path.join(dir, 'creds.sh');
      await writeFile(script, `printf '{"Version":1,"AccessKeyId":"${KEY}","SecretAccessKey":"%s","Expiration":"2030-01-01T00:00:00Z"}' "$${GUARD_ENV}"\n`);
      const fs = new MemoryFs();
      fs.set('/h1/.aws/config', `[profile ${P}]\ncredential_process = sh ${script}\n`);
      const got = await source(fs, { env: { PATH: process.env.PATH } }).resolve();
      assert.equal(got.credentials.secretAccessKey, P, 'the child saw the guard variable');
      assert.equal(got.credentials.expiration?.toISOString(), '2030-01-01T00:00:00.000Z');
      assert.equal(got.origin, `credential_process in /h1/.aws/config [profile ${P}]`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fromAppStreamProfile: the ownership rule', () => {
  const refusal = (file: string) => ({ file, culprit: file, reason: 'owned by uid 1001 (as2-streaming-user), mode 0644', fix: `chown root ${file}` });
  const untrusted = (bad: string) => async (file: string) => (file === bad ? refusal(file) : undefined);

  test('a refused file is never read or run; a trusted later home is used', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/config', `[profile ${P}]\ncredential_process = touch /nonexistent/marker\n`);
    fs.set('/h2/.aws/credentials', staticProfile(P, 'ASIAFROMSECONDHOME01'));
    const seen: Array<[string, boolean]> = [];
    const got = await source(fs, { trust: { check: untrusted('/h1/.aws/config'), strict: true, onRefused: (r, used) => seen.push([r.file, used]) } }).resolve();
    assert.equal(got.credentials.accessKeyId, 'ASIAFROMSECONDHOME01');
    assert.deepEqual(seen, [['/h1/.aws/config', false]]);
  });

  test('only refused files: exit 5, profile-untrusted, naming the file, owner, mode and fix; the file was not read', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/credentials', staticProfile());
    const error = await rejectsWith(source(fs, { trust: { check: untrusted('/h1/.aws/credentials'), strict: true } }).resolve(), {
      code: 'profile-untrusted',
      exitCode: 5,
      message: /\/h1\/\.aws\/credentials is not trusted: owned by uid 1001 \(as2-streaming-user\), mode 0644; fix: chown root/,
    });
    assert.ok(!error.message.includes(KEY));
    assert.equal(fs.reads, 0, 'not even read');
  });

  test('a trusted file whose credential_process program is untrusted: not run (exit 5); bare names and interpreters are left to PATH', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/config', `[profile ${P}]\ncredential_process = ~/.aws/x.sh --flag\n`);
    const checked: string[] = [];
    const check = async (file: string) => (checked.push(file), file === '/home/s/.aws/x.sh' ? refusal(file) : undefined);
    await rejectsWith(source(fs, { env: { HOME: '/home/s' }, trust: { check, strict: true } }).resolve(), {
      code: 'profile-untrusted',
      exitCode: 5,
      message: /credential_process program not run: \/home\/s\/\.aws\/x\.sh is not trusted: owned by uid 1001/,
    });
    assert.ok(checked.includes('/h1/.aws/config') && checked.includes('/home/s/.aws/x.sh'), checked.join());
    assert.equal(programPath('"/opt/my tools/creds" --x', undefined), '/opt/my tools/creds');
    assert.equal(programPath("'/usr/bin/helper'", undefined), '/usr/bin/helper');
    assert.equal(programPath('sh /tmp/x.sh', undefined), undefined);
    assert.equal(programPath('~/x', undefined), undefined);
  });

  test('strictPermissions off: the refused file is used and reported as used', async () => {
    const fs = new MemoryFs();
    fs.set('/h1/.aws/credentials', staticProfile());
    const seen: boolean[] = [];
    const got = await source(fs, { trust: { check: untrusted('/h1/.aws/credentials'), strict: false, onRefused: (_r, used) => seen.push(used) } }).resolve();
    assert.equal(got.credentials.accessKeyId, KEY);
    assert.deepEqual(seen, [true]);
  });
});

describe('maskedLastLine', () => {
  test('a known secret is masked even in fragments split by punctuation; 16+ base64 runs always', () => {
    const secret = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY01';
    const split = `${secret.slice(0, 15)}-${secret.slice(15, 27)}.${secret.slice(27)}`;
    const line = maskedLastLine(`first line with ${secret}\nbroker said: denied ${split} for role x\n`, [secret]);
    assert.equal(line, 'broker said: denied [masked]-[masked].[masked] for role x');
    assert.equal(maskedLastLine('token AAAABBBBCCCCDDDD1 rejected', []), 'token [masked] rejected');
    assert.equal(maskedLastLine('\u001b[2Jall \u0007good', []), '[2Jall good', 'control characters dropped');
  });

  test('the failing process: only its last stderr line, with the previous credentials masked', async () => {
    const fs = new MemoryFs();
    const secret = 'Zq9xLmN2pR4sT6uV8wY0aB1cD3eF5gH7iJ9kL2mN';
    const out = `{"Version":1,"AccessKeyId":"${KEY}","SecretAccessKey":"${secret}","SessionToken":"tok-${KEY}"}`;
    let mode = 'good';
    const dir = await mkdtemp(path.join(os.tmpdir(), 'as2src-'));
    try {
      const script = path.join(dir, 'p.sh');
      await writeFile(script, `if [ -f ${dir}/bad ]; then echo "earlier line ${secret}" >&2; echo "cached ${secret.slice(0, 14)}_${secret.slice(14)} expired" >&2; exit 3; fi\nprintf '%s' '${out}'\n`);
      fs.set('/h1/.aws/config', `[profile ${P}]\ncredential_process = sh ${script}\n`);
      const src = source(fs, { env: { PATH: process.env.PATH } });
      assert.equal((await src.resolve()).credentials.secretAccessKey, secret, mode);
      mode = 'bad';
      await writeFile(path.join(dir, 'bad'), '');
      const error = await rejectsWith(src.resolve(), { exitCode: 5, message: /failed \(exit 3\): cached \[masked\]_\[masked\] expired$/ });
      for (const piece of [secret.slice(0, 14), secret.slice(14, 30), 'earlier line']) assert.ok(!error.message.includes(piece), error.message);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('runCredentialProcess', () => {
  const run = (command: string, timeoutMs = 5_000) => runCredentialProcess({ command, where: `/f [${P}]`, timeoutMs, env: { PATH: process.env.PATH } });
  const printing = (json: unknown) => `printf '%s' '${typeof json === 'string' ? json : JSON.stringify(json)}'`;
  const good = { Version: 1, AccessKeyId: KEY, SecretAccessKey: SECRET, SessionToken: 'tok', Expiration: '2030-01-01T00:00:00Z', AccountId: '123456789012' };

  test('parses Version 1 output, Expiration as a Date', async () => {
    assert.deepEqual(await run(printing(good)), { accessKeyId: KEY, secretAccessKey: SECRET, sessionToken: 'tok', expiration: new Date('2030-01-01T00:00:00Z'), accountId: '123456789012' });
  });

  test('a hanging process is killed at the timeout, with the processes it started', async () => {
    // The sleeps outlast the hang guard: only the kill at the timeout can settle this in time.
    let guard: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => (guard = setTimeout(() => reject(new Error('hang guard (60 s): the hanging process was not killed at its 300 ms timeout')), 60_000)));
    try {
      await rejectsWith(Promise.race([run('sleep 3600 & sleep 3601; wait', 300), hang]), { code: 'process-timeout', exitCode: 5, message: /did not finish within 300 ms and was killed/ });
    } finally {
      clearTimeout(guard);
    }
  });

  test('bad output never appears in the message', async () => {
    const cases: Array<[string, RegExp]> = [
      [printing(`{"Version":1,"SecretAccessKey":"${SECRET}"`), /printed invalid JSON$/],
      [printing({ ...good, Version: 2 }), /unusable credentials \(Version: /],
      [printing({ ...good, Expiration: 'tomorrow' }), /unusable credentials \(Expiration: not an ISO 8601 time\)/],
      [printing({ ...good, AccessKeyId: undefined }), /unusable credentials \(AccessKeyId: /],
      [`echo "denied for ${SECRET}" >&2; exit 4`, /credential_process failed \(exit 4\): denied for \[masked\]$/],
      ['head -c 2000000 /dev/zero', /printed more than 1048576 bytes/],
    ];
    for (const [command, message] of cases) await rejectsWith(run(command), { exitCode: 5, message });
  });

  test('parseProcessOutput: Expiration is optional; the prefix leads every message', () => {
    const { Expiration: _omit, ...noExpiry } = good;
    assert.equal(parseProcessOutput(JSON.stringify(noExpiry), 'x').expiration, undefined);
    assert.throws(() => parseProcessOutput('[]', 'profile p: credential_process'), /^AgentError: profile p: credential_process printed unusable credentials/);
  });
});
