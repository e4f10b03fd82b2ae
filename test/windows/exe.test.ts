/**
 * The Windows lane, the self-contained appstream-creds.exe (`npm run build:exe`: a Node single
 * executable application from the win32 node.exe). It is copied alone into an empty folder and
 * run under Wine there, so anything it still needed from dist/ or node_modules would fail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitFor, type Discovery } from '../helpers/daemon.js';
import { copyExe, runWinCli, runWine, startWine, toWinPath, wineLane, wineTempDir } from '../helpers/wine.js';

const { rig, skip } = await wineLane();

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXEEXAMPLE';

describe('appstream-creds.exe (single executable application) under Wine', { skip }, () => {
  let dir: string;
  let exe: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await wineTempDir(rig, 'winexe');
    // The exe and the native module the build puts beside it (the strict ownership rule reads
    // owners through it): no dist\, no node_modules\, no node.exe.
    exe = await copyExe(dir);
    await mkdir(path.join(dir, '.aws'));
    await writeFile(path.join(dir, '.aws', 'credentials'), `\ufeff[appstream_machine_role]\r\naws_access_key_id = ASIAWINEEXE000000001\r\naws_secret_access_key = ${SECRET}\r\naws_session_token = exe+token/=\r\n`);
    env = {
      AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, '.aws', 'credentials')),
      AWS_CONFIG_FILE: toWinPath(path.join(dir, '.aws', 'config')),
      APPSTREAM_CREDS_STATE_DIR: toWinPath(path.join(dir, 'state')),
    };
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('is node.exe plus the embedded CLI: a PE file a little larger than node.exe, nothing beside it', async () => {
    const [exeSize, nodeSize] = [(await stat(exe)).size, (await stat(rig.nodeExe)).size];
    assert.equal((await readFile(exe)).subarray(0, 2).toString('latin1'), 'MZ');
    assert.ok(exeSize > nodeSize, 'the blob was injected');
    assert.ok(exeSize < nodeSize + 16 * 1024 * 1024, `exe ${exeSize} bytes: the blob should be a few MB`);
    assert.deepEqual((await readdir(path.dirname(exe))).sort(), ['appstream-creds.exe', 'native']);
  });

  test('credential-process prints the same JSON as the bundle under node.exe', async () => {
    const fromExe = await runWine(rig, exe, ['credential-process'], { env });
    assert.equal(fromExe.code, 0, fromExe.stderr);
    assert.equal(fromExe.stderr, '', 'no SEA warning or other noise on stderr');
    const fromBundle = await runWinCli(rig, ['credential-process'], { env });
    assert.equal(fromBundle.code, 0, fromBundle.stderr);
    const [a, b] = [JSON.parse(fromExe.stdout), JSON.parse(fromBundle.stdout)] as Array<Record<string, unknown>>;
    assert.equal(a!.AccessKeyId, 'ASIAWINEEXE000000001');
    assert.equal(a!.SecretAccessKey, SECRET);
    assert.deepEqual({ ...a, Expiration: undefined }, { ...b, Expiration: undefined });
  });

  test('service install refuses an install folder other accounts can change (SYSTEM would run the exe from it): exit 2, nothing installed', async () => {
    // A folder under Z:\tmp: Wine shows /tmp's 1777 as Everyone with delete child.
    const open = await mkdtemp(path.join(os.tmpdir(), 'as2creds-openprefix-'));
    try {
      const prefix = toWinPath(path.join(open, 'agent'));
      const run = await runWine(rig, exe, ['service', 'install', '--host', 'nssm', '--prefix', prefix, '--no-start'], { env });
      assert.equal(run.code, 2, `${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /^appstream-creds: the service would run code other accounts can change: .* is not trusted: .*Everyone \(S-1-1-0\).*nothing was installed\r?\n$/);
      // Refused before the SCM is asked anything (service.test.ts owns the lane's one service).
      assert.deepEqual(await readdir(open), [], 'no file copied');
    } finally {
      await rm(open, { recursive: true, force: true });
    }
  });

  test('--help and a usage error behave as the CLI does (exit 2, no stack trace)', async () => {
    const help = await runWine(rig, exe, ['--help'], { env });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /credential-process/);
    const bad = await runWine(rig, exe, ['wait', '--timeout', 'soon'], { env });
    assert.equal(bad.code, 2, bad.stderr);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });

  test('env --format cmd from the exe, applied by cmd.exe, sets the exact values', async () => {
    const run = await runWine(rig, exe, ['env', '--format', 'cmd'], { env });
    assert.equal(run.code, 0, run.stderr);
    const batch = path.join(dir, 'apply.cmd');
    await writeFile(batch, ['@echo off', ...run.stdout.split(/\r?\n/).filter(Boolean), 'echo KEY=[%AWS_ACCESS_KEY_ID%]', 'echo SECRET=[%AWS_SECRET_ACCESS_KEY%]', 'echo TOKEN=[%AWS_SESSION_TOKEN%]'].join('\r\n') + '\r\n');
    const shell = await runWine(rig, 'cmd', ['/c', toWinPath(batch)]);
    assert.equal(shell.code, 0, shell.stderr);
    assert.match(shell.stdout, /^KEY=\[ASIAWINEEXE000000001\]\r?$/m);
    assert.ok(shell.stdout.includes(`SECRET=[${SECRET}]`), shell.stdout.replace(SECRET, '[SECRET]'));
    assert.match(shell.stdout, /^TOKEN=\[exe\+token\/=\]\r?$/m);
  });

  test('wait (network reader, credentials) is ready from the exe', async (t) => {
    const run = await runWine(rig, exe, ['wait', '--timeout', '60s', '--json'], { env });
    if (run.code === 3 && /no network interface|default route/.test(run.stderr)) return t.skip(`this machine has no usable default route: ${run.stderr.trim()}`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { ready: boolean }).ready, true);
  });

  test('serve from the exe: pino, prom-client and the HTTP server are embedded; Ctrl+C stops it cleanly', async () => {
    const stateDir = path.join(dir, 'state-serve');
    // allowUsers "*": under Wine no caller can be identified (pid 0), and unknown callers are refused.
    const proc = await startWine(rig, exe, ['serve', '--port', '0', '--state-dir', toWinPath(stateDir)], dir, { env: { ...env, APPSTREAM_CREDS_ALLOW_USERS: '*' }, timeoutMs: 180_000 });
    try {
      let discovery: Discovery | undefined;
      await waitFor(
        async () => Boolean((discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | undefined)),
        60_000,
        () => 'the exe did not write agent.json',
      );
      await waitFor(async () => (await fetch(`${discovery!.url}/healthz`).catch(() => undefined))?.status === 200, 60_000, () => 'the exe agent never became healthy');
      const token = (await readFile(path.join(stateDir, 'token'), 'utf8')).trim();
      const creds = await fetch(discovery!.credentialsUrl, { headers: { authorization: token } });
      assert.equal(creds.status, 200);
      assert.equal(((await creds.json()) as { AccessKeyId: string }).AccessKeyId, 'ASIAWINEEXE000000001');
      const metrics = await fetch(`${discovery!.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^# TYPE \w+ gauge/m);
      proc.child.kill('SIGINT');
      const code = await Promise.race([proc.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
      assert.equal(code, 0, await proc.output());
      await assert.rejects(readFile(path.join(stateDir, 'agent.json')), { code: 'ENOENT' });
      const log = await proc.output();
      assert.match(log, /agent listening/);
      assert.ok(!log.includes(SECRET) && !log.includes(token), 'no secret in the log');
    } finally {
      await proc.kill();
    }
  });
});
