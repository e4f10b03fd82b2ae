/**
 * `env` output for hostile values (issue 8, point 5): each format is evaluated by its real shell
 * (bash, dash, fish, cmd under Wine; dotenv sourced by dash and read by python-dotenv; PowerShell
 * by a parse check of its verbatim-string grammar, as no PowerShell runs here). Every value must
 * come back exactly and no command in it may run: each command in the token touches a marker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, runProgram } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';
import { hasCommand, staticProfileEnv } from '../helpers/envProfile.js';

const KEY = 'ASIAENVHOSTILETEST01';
const SECRET = 'EnvHostileSecret/With+Base64Chars01234ab';
const NAMES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/** Quotes of every kind, substitutions, cmd/PowerShell/fish metacharacters, a trailing backslash. */
function hostileToken(marker: string, ascii = false): string {
  return [
    `tok'single"double\`back\`${ascii ? '' : '‘left’right‚low‛rev“dq”'}`,
    `$(touch ${marker}-dollar)`,
    `\`touch ${marker}-backtick\``,
    `%PATH%%%^^&echo x>${marker}-amp&|;!HOME!`,
    `"&touch ${marker}-quote&"`,
    `(sub) <in >out ; $HOME $env:PATH {a,b} *?[x] ~ #hash`,
    `a\\b\\\\c end\\`,
  ].join(' ');
}

const profile = (dir: string, token: string): Promise<Record<string, string>> => staticProfileEnv(dir, { key: KEY, secret: SECRET, token });

async function printed(dir: string, format: string, token: string): Promise<string> {
  const env = await profile(dir, token);
  const run = await runCli(['env', '--format', format], { env });
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
}

/** `NAME=value` lines with NUL-free values printed one per line by the shell under test. */
const parseLines = (text: string): Record<string, string> =>
  Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

function assertExact(vars: Record<string, string | undefined>, token: string, shell: string): void {
  assert.equal(vars.AWS_ACCESS_KEY_ID, KEY, shell);
  assert.equal(vars.AWS_SECRET_ACCESS_KEY, SECRET, shell);
  assert.equal(vars.AWS_SESSION_TOKEN, token, `${shell} changed the session token`);
}

function assertNothingRan(dir: string, marker: string, shell: string): void {
  for (const suffix of ['dollar', 'backtick', 'amp', 'quote']) assert.ok(!existsSync(`${marker}-${suffix}`), `${shell} ran the command in the value (${suffix})`);
  assert.ok(!existsSync(path.join(dir, 'out')), `${shell} redirected output`);
}

const PRINT_POSIX = NAMES.map((n) => `printf '%s=%s\\n' ${n} "$${n}"`).join('\n');

for (const shell of ['bash', 'dash']) {
  test(`env --format bash evaluated by ${shell}: exact values, nothing run`, { skip: hasCommand(shell) ? undefined : `${shell} is not installed` }, () =>
    withSandbox(async (dir) => {
      const marker = path.join(dir, 'ran');
      const token = hostileToken(marker);
      const out = await printed(dir, 'bash', token);
      const result = execFileSync(shell, ['-c', `${out}\n${PRINT_POSIX}`], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
      assertExact(parseLines(result), token, shell);
      assertNothingRan(dir, marker, shell);
    }));
}

test('env --format fish evaluated by fish (source): exact values, nothing run', { skip: hasCommand('fish') ? undefined : 'fish is not installed (.ci/run installs it as root)' }, () =>
  withSandbox(async (dir) => {
    const marker = path.join(dir, 'ran');
    const token = hostileToken(marker);
    const out = await printed(dir, 'fish', token);
    await writeFile(path.join(dir, 'vars.fish'), out);
    const print = NAMES.map((n) => `printf '%s=%s\\n' ${n} $${n}`).join('\n');
    const result = execFileSync('fish', ['--no-config', '-c', `source vars.fish\n${print}`], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
    assertExact(parseLines(result), token, 'fish');
    assertNothingRan(dir, marker, 'fish');
  }));

test('env --format dotenv: sourced by dash with set -a, and read by python-dotenv: exact values, nothing run', () =>
  withSandbox(async (dir) => {
    const marker = path.join(dir, 'ran');
    const token = hostileToken(marker);
    const out = await printed(dir, 'dotenv', token);
    await writeFile(path.join(dir, '.env'), out);
    const result = execFileSync('dash', ['-c', `set -a; . ./.env; set +a\n${PRINT_POSIX}`], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
    assertExact(parseLines(result), token, 'dash (dotenv)');
    assertNothingRan(dir, marker, 'dash (dotenv)');
    // python-dotenv reads single quotes with \\ and \' as escapes, so it gets the exact value of
    // everything real credentials hold (base64: no quote, no backslash).
    const plain = 'IQoJb3JpZ2luX2VjEOr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc==';
    const plainOut = await printed(dir, 'dotenv', plain);
    await writeFile(path.join(dir, '.env'), plainOut);
    const python = await runProgram('python3', ['-c', 'import json, dotenv; print(json.dumps(dotenv.dotenv_values(".env")))'], { cwd: dir, credentialsOnStdout: true });
    if (python.code !== 0 && /No module named 'dotenv'/.test(python.stderr)) return;
    assert.equal(python.code, 0, python.stderr);
    assertExact(JSON.parse(python.stdout) as Record<string, string>, plain, 'python-dotenv');
  }));

test("env --format cmd run as a batch file by Wine's cmd.exe: exact values, nothing run", { skip: hasCommand('wine') ? undefined : 'wine is not installed (.ci/run installs wine64 as root)' }, () =>
  withSandbox(async (dir) => {
    const marker = path.join(dir, 'ran');
    // cmd reads a batch file in the console's code page (chcp 65001 for UTF-8), so the token is
    // ASCII here: every cmd metacharacter is.
    const token = hostileToken(`Z:${marker.replaceAll('/', '\\')}`, true);
    const out = await printed(dir, 'cmd', token);
    const script = path.join(dir, 'env.cmd');
    const result = path.join(dir, 'result.txt');
    const print = NAMES.map((n, i) => `set ${n}${i === 0 ? '>' : '>>'}"Z:${result.replaceAll('/', '\\')}"`);
    // Wine programs write unreliably to pipes: the script writes its result to a file.
    await writeFile(script, ['@echo off', ...out.trimEnd().split('\n'), ...print, ''].join('\r\n'));
    const wine = await runProgram('wine', ['cmd', '/c', `Z:${script.replaceAll('/', '\\')}`], { cwd: dir, timeoutMs: 120_000, env: { WINEDEBUG: '-all' } });
    assert.equal(wine.code, 0, `wine cmd failed: ${wine.stderr}`);
    const vars = parseLines(await readFile(result, 'utf8'));
    assertExact(vars, token, 'cmd');
    for (const suffix of ['amp', 'quote']) assert.ok(!existsSync(`${marker}-${suffix}`), `cmd ran the command in the value (${suffix})`);
  }));

/**
 * PowerShell's verbatim string literal (language spec, 2.3.5.2): delimited by any of ' U+2018
 * U+2019 U+201A U+201B; two of them in a row stand for one. Returns the value and what follows.
 */
function readVerbatimString(text: string): { value: string; rest: string } {
  const QUOTES = `'\u2018\u2019\u201a\u201b`;
  assert.ok(QUOTES.includes(text[0]!), `not a verbatim string: ${text}`);
  let value = '';
  for (let i = 1; i < text.length; i += 1) {
    const c = text[i]!;
    if (!QUOTES.includes(c)) value += c;
    else if (i + 1 < text.length && QUOTES.includes(text[i + 1]!)) value += text[++i];
    else return { value, rest: text.slice(i + 1) };
  }
  assert.fail(`unterminated string: ${text}`);
}

test('env --format powershell: each line is one assignment of one verbatim string that holds the exact value (parse check)', () =>
  withSandbox(async (dir) => {
    const token = hostileToken('ran');
    const vars: Record<string, string> = {};
    for (const line of (await printed(dir, 'powershell', token)).trimEnd().split('\n')) {
      const head = /^\$Env:([A-Za-z_][A-Za-z0-9_]*) = /.exec(line);
      assert.ok(head, line);
      const { value, rest } = readVerbatimString(line.slice(head[0].length));
      assert.equal(rest, '', `something after the string would run: ${line}`);
      vars[head[1]!] = value;
    }
    assertExact(vars, token, 'powershell');
  }));

test('env refuses a value with a control character (exit 2) for every format, and prints nothing of it', () =>
  withSandbox(async (dir) => {
    const env = await profile(dir, 'IQoJb3JpZ2lu\u001b]0;owned\u0007\u001b[2Jtail');
    for (const format of ['bash', 'powershell', 'cmd', 'fish', 'dotenv']) {
      const run = await runCli(['env', '--format', format], { env });
      assert.equal(run.code, 2, `${format}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stdout, '', format);
      assert.match(run.stderr, /AWS_SESSION_TOKEN holds a control character \(U\+001B\)/);
      assert.doesNotMatch(run.stderr, /IQoJ|\u001b/, 'the value is not echoed');
    }
  }));
