/**
 * NSSM's parameters in one `reg import` (issue 21 lane time: one process instead of twelve
 * `nssm set`): the .reg file holds the same values with the same registry types as NSSM 2.23
 * writes itself. test/fixtures/nssm-set-export.reg is `reg export` of a service after, under Wine:
 *   nssm install s21x C:\svc\app.exe
 *   nssm set s21x Application "C:\Program Files\X Y\bin\appstream-creds.exe"
 *   nssm set s21x AppParameters "--config \"C:\a b\c.json\" serve"
 *   nssm set s21x AppDirectory C:\ProgramData\S
 *   nssm set s21x AppEnvironmentExtra A=1 "B=C:\x y"
 *   nssm set s21x AppStdout C:\ProgramData\S\logs\out.log
 *   nssm set s21x AppRotateFiles 1 / AppRotateOnline 1 / AppRotateBytes 10485760
 *   nssm set s21x AppStopMethodConsole 10000 / AppExit Default Restart / AppRestartDelay 1000
 * The Wine lane (test/windows/service.test.ts) then shows NSSM running the agent from them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { nssmParametersKey, nssmParametersReg } from '../../src/service/nssmParametersReg.js';
import { parseRegFile } from './fakes.js';
import { repoRoot } from '../helpers/cli.js';

const spec = {
  executable: 'C:\\Program Files\\X Y\\bin\\appstream-creds.exe',
  args: ['--config', 'C:\\a b\\c.json', 'serve'],
  env: [['A', '1'], ['B', 'C:\\x y']] as const,
  workingDirectory: 'C:\\ProgramData\\S',
  stdoutLog: 'C:\\ProgramData\\S\\logs\\out.log',
  stderrLog: 'C:\\ProgramData\\S\\logs\\err.log',
  rotateBytes: 10_485_760,
};

test('the .reg file is UTF-16LE with a BOM and a version 5 header, as reg export writes it', () => {
  const bytes = nssmParametersReg(spec, 's21x');
  assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe]);
  assert.ok(bytes.subarray(2).toString('utf16le').startsWith('Windows Registry Editor Version 5.00\r\n\r\n['));
});

test('every value NSSM wrote with `nssm set` is in the .reg file with the same type and content', async () => {
  const exported = parseRegFile((await readFile(path.join(repoRoot, 'test', 'fixtures', 'nssm-set-export.reg'))).toString('utf16le'));
  const ours = parseRegFile(nssmParametersReg(spec, 's21x').toString('utf16le'));
  const key = nssmParametersKey('s21x');
  for (const name of [key, `${key}\\AppExit`]) {
    const theirs = exported.get(name);
    assert.ok(theirs && theirs.size > 0, `the export has ${name}`);
    for (const [value, data] of theirs) assert.deepEqual(ours.get(name)?.get(value), data, `${name} ${value}`);
  }
  // The one value the recorded commands left out.
  assert.deepEqual(ours.get(key)?.get('AppStderr'), { type: 'expand', value: [spec.stderrLog] });
  assert.deepEqual([...ours.keys()], [key, `${key}\\AppExit`], 'nothing outside NSSM\'s Parameters key');
});
