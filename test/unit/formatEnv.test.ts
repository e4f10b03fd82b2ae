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
