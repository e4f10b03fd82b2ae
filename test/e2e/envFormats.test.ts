/**
 * `env` output evaluated by the real shells it is written for: fish (Debian's fish), cmd
 * (Wine's cmd.exe), and the automatic choice from $SHELL. The values are the profile's own,
 * including a session token with the characters each shell's quoting must survive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, runProgram } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';
import { hasCommand, staticProfileEnv } from '../helpers/envProfile.js';

const KEY = 'ASIAENVFORMATSTEST01';
const SECRET = 'EnvFormatSecret/With+Base64Chars0123456a';

/** A static profile whose token holds `token`; returns the env that points the CLI at it. */
const profile = (dir: string, token: string): Promise<Record<string, string>> => staticProfileEnv(dir, { key: KEY, secret: SECRET, token });

/** Runs fish on `script` and returns the AWS_* variables it ends up with. */
function fishVars(script: string): Record<string, string> {
  const printed = execFileSync('fish', ['--no-config', '-c', `${script}\nfor v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION; printf '%s=%s\\n' $v $$v; end`], { encoding: 'utf8', env: {} });
  return Object.fromEntries(printed.trimEnd().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

test('env --format fish: fish sets every variable to the exact value, quotes and backslashes included', { skip: hasCommand('fish') ? undefined : 'fish is not installed (.ci/run installs it as root)' }, async () => {
  await withSandbox(async (dir) => {
    const token = `IQoJb3JpZ2luX2Vj'quote\\back\\\\slash$HOME trailing\\`;
    const env = await profile(dir, token);
    const run = await runCli(['env', '--format', 'fish'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^set -gx AWS_ACCESS_KEY_ID 'ASIAENVFORMATSTEST01'$/m);
    const vars = fishVars(run.stdout);
    assert.equal(vars.AWS_ACCESS_KEY_ID, KEY);
    assert.equal(vars.AWS_SECRET_ACCESS_KEY, SECRET);
    assert.equal(vars.AWS_SESSION_TOKEN, token);
    assert.ok(Date.parse(vars.AWS_CREDENTIAL_EXPIRATION!) > Date.now(), vars.AWS_CREDENTIAL_EXPIRATION);
  });
});

test('env --format cmd: Wine\'s cmd.exe sets every variable to the exact value', { skip: hasCommand('wine') ? undefined : 'wine is not installed (.ci/run installs wine64 as root)' }, async () => {
  await withSandbox(async (dir) => {
    // cmd has no quoting inside `set "N=V"`; real tokens are base64, which it carries as is.
    const token = 'IQoJb3JpZ2luX2VjEOr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc==';
    const env = await profile(dir, token);
    const run = await runCli(['env', '--format', 'cmd'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^set "AWS_ACCESS_KEY_ID=ASIAENVFORMATSTEST01"$/m);
    // Wine programs write unreliably to pipes: the script writes its result to a file.
    const script = path.join(dir, 'env.cmd');
    const out = path.join(dir, 'out.txt');
    await writeFile(script, `@echo off\r\n${run.stdout.trimEnd().split('\n').join('\r\n')}\r\nset AWS_>"Z:${out.replaceAll('/', '\\')}"\r\n`);
    const wine = await runProgram('wine', ['cmd', '/c', `Z:${script.replaceAll('/', '\\')}`], { timeoutMs: 120_000, env: { WINEDEBUG: '-all' } });
    assert.equal(wine.code, 0, `wine cmd failed: ${wine.stderr}`);
    const lines = (await readFile(out, 'utf8')).split(/\r?\n/).filter(Boolean);
    const vars = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    assert.equal(vars.AWS_ACCESS_KEY_ID, KEY);
    assert.equal(vars.AWS_SECRET_ACCESS_KEY, SECRET);
    assert.equal(vars.AWS_SESSION_TOKEN, token);
    assert.match(vars.AWS_CREDENTIAL_EXPIRATION ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

test('env without --format picks the syntax from $SHELL: fish for a fish login shell, bash otherwise', async () => {
  await withSandbox(async (dir) => {
    const env = await profile(dir, 'IQoJb3JpZ2luX2VjEOr/plain+token==');
    const asFish = await runCli(['env'], { env: { ...env, SHELL: '/usr/bin/fish' } });
    assert.equal(asFish.code, 0, asFish.stderr);
    assert.match(asFish.stdout, /^set -gx AWS_ACCESS_KEY_ID 'ASIAENVFORMATSTEST01'$/m);
    assert.doesNotMatch(asFish.stdout, /^export /m);
    for (const shell of ['/bin/bash', '/bin/zsh', undefined]) {
      const run = await runCli(['env'], { env: { ...env, SHELL: shell } });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^export AWS_ACCESS_KEY_ID='ASIAENVFORMATSTEST01'$/m, `SHELL=${shell}`);
      const echoed = execFileSync('bash', ['-c', `${run.stdout}\nprintf '%s' "$AWS_SECRET_ACCESS_KEY"`], { encoding: 'utf8' });
      assert.equal(echoed, SECRET);
    }
  });
});
