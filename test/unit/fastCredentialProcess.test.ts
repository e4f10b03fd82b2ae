import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFastCredentialProcess } from '../../src/cli/fastCredentialProcess.js';
import { runCli } from '../helpers/cli.js';

test('the fast path takes exactly credential-process plus global options; anything else goes to commander', () => {
  assert.deepEqual(parseFastCredentialProcess(['credential-process']), {});
  assert.deepEqual(parseFastCredentialProcess(['credential-process', '--profile', 'p', '--state-dir=/s', '--config', 'c.json', '--log-level', 'debug']), {
    profile: 'p',
    stateDir: '/s',
    config: 'c.json',
    logLevel: 'debug',
  });
  assert.deepEqual(parseFastCredentialProcess(['credential-process', '--role', 'reporting', '--config=c.json']), { role: 'reporting', config: 'c.json' });
  for (const argv of [
    ['credential-process', '--role'],
    ['credential-process', '--help'],
    ['credential-process', '-h'],
    ['credential-process', '--profile'],
    ['credential-process', '--profile', '--state-dir', 'x'],
    ['credential-process', '--profile', 'a', '--profile', 'b'],
    ['credential-process', 'extra'],
    ['--profile', 'p', 'credential-process'],
    ['env'],
  ]) {
    assert.equal(parseFastCredentialProcess(argv), undefined, argv.join(' '));
  }
});

test('both routes behave the same: help, usage errors and missing profiles', async () => {
  const help = await runCli(['credential-process', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /credential_process = appstream-creds credential-process/);
  const typo = await runCli(['credential-process', '--profle', 'x']);
  assert.equal(typo.code, 2);
  const env = { AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config', APPSTREAM_CREDS_STATE_DIR: '/nonexistent/state' };
  const fast = await runCli(['credential-process', '--profile=nope'], { env });
  const slow = await runCli(['--profile', 'nope', 'credential-process'], { env });
  assert.equal(fast.code, 5);
  assert.equal(slow.code, 5);
  assert.equal(fast.stderr, slow.stderr);
});
