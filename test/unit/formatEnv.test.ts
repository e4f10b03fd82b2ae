import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectEnvFormat, formatEnv } from '../../src/client/formatEnv.js';

test('detectEnvFormat on Windows: PowerShell when PSModulePath is set (PowerShell sets it), cmd otherwise', () => {
  assert.equal(detectEnvFormat({ PSModulePath: 'C:\\Program Files\\WindowsPowerShell\\Modules' }, 'win32'), 'powershell');
  assert.equal(detectEnvFormat({ ComSpec: 'C:\\Windows\\system32\\cmd.exe' }, 'win32'), 'cmd');
  // $SHELL means nothing on Windows (Git Bash sets it, but scripts there run under cmd/PowerShell).
  assert.equal(detectEnvFormat({ SHELL: '/usr/bin/fish' }, 'win32'), 'cmd');
});

test('detectEnvFormat elsewhere: fish only for a fish $SHELL, bash for anything else or nothing', () => {
  assert.equal(detectEnvFormat({ SHELL: '/usr/local/bin/fish' }, 'linux'), 'fish');
  assert.equal(detectEnvFormat({ SHELL: '/bin/zsh' }, 'darwin'), 'bash');
  assert.equal(detectEnvFormat({ PSModulePath: 'x' }, 'linux'), 'bash');
  assert.equal(detectEnvFormat({}, 'linux'), 'bash');
});

test('formatEnv fish escapes backslashes and quotes (fish reads both as escapes inside single quotes)', () => {
  assert.equal(formatEnv({ A: `x'y\\z\\` }, 'fish'), `set -gx A 'x\\'y\\\\z\\\\'\n`);
});

test('formatEnv cmd: % doubled; metacharacters escaped with ^ only where an embedded quote leaves cmd outside quotes', () => {
  assert.equal(formatEnv({ A: '50%&x' }, 'cmd'), 'set "A=50%%&x"\n');
  assert.equal(formatEnv({ A: 'a"&b^"c&' }, 'cmd'), 'set "A=a"^&b^^"c&"\n');
});

test('formatEnv powershell doubles every single-quote character PowerShell accepts, typographic ones included', () => {
  assert.equal(formatEnv({ A: `it's ‘x’` }, 'powershell'), `$Env:A = 'it''s ‘‘x’’'\n`);
});

test('formatEnv refuses control characters and bad names with a usage error that does not echo the value', () => {
  for (const value of ['a\nb', 'a\tb', 'x\u001b[2J', 'del\u007f', 'c1\u009b']) {
    assert.throws(() => formatEnv({ AWS_SESSION_TOKEN: value }, 'bash'), (error: Error & { exitCode?: number }) => {
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /^AWS_SESSION_TOKEN holds a control character \(U\+00[0-9A-F]{2}\)/);
      assert.ok(!error.message.includes(value));
      return true;
    });
  }
  assert.throws(() => formatEnv({ 'A;rm': 'x' }, 'bash'), /not a variable name/);
});
