import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../../src/cli/program.js';
import type { CliContext } from '../../src/cli/context.js';
import { withSandbox } from '../helpers/sandbox.js';

/** The credential_process line `simulate --form process` writes, run from `context`. */
async function emitLine(dir: string, context: Partial<CliContext>): Promise<string> {
  let stderr = '';
  const ctx: CliContext = {
    io: { stdout: () => undefined, stderr: (t) => void (stderr += t) },
    env: {},
    cwd: dir,
    selfScript: '/opt/agent/dist/appstream-creds.cjs',
    onSignal: () => () => undefined,
    exit: () => undefined,
    isTTY: false,
    stderrIsTTY: false,
    platform: process.platform,
    execPath: '/usr/bin/node',
    uid: process.getuid?.(),
    homeDir: '/nonexistent-home',
    ...context,
  };
  const sim = path.join(dir, `sim-${context.selfExe ? 'exe' : 'bundle'}`);
  const code = await runCli(['simulate', '--dir', sim, '--form', 'process', '--rotations', '1'], ctx);
  assert.equal(code, 0, stderr);
  const files = readdirSync(sim, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  const line = files.map((entry) => readFileSync(path.join(entry.parentPath ?? entry.path, entry.name), 'utf8')).join('\n').match(/^credential_process\s*=\s*(.*)$/m);
  assert.ok(line, 'the process form names a credential_process');
  return line[1]!.trim();
}

test('simulate --form process names a command that runs this CLI: node + bundle, or the exe alone', async () => {
  await withSandbox(async (dir) => {
    assert.match(await emitLine(dir, {}), /^"\/usr\/bin\/node" "\/opt\/agent\/dist\/appstream-creds\.cjs" simulate --emit --dir "/);
    // A single executable's argv[1] is the exe itself: "exe" "exe" simulate would be an unknown command.
    const exe = 'C:\\Program Files\\AppStreamCreds\\bin\\appstream-creds.exe';
    assert.match(await emitLine(dir, { selfExe: exe, execPath: exe }), /^"C:\\Program Files\\AppStreamCreds\\bin\\appstream-creds\.exe" simulate --emit --dir "/);
  });
});
