import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { cleanEnv, repoRoot } from '../helpers/cli.js';

// The README's first quick-start command runs this script after the build.
test('npm run demo: a script follows at least one rotation through the agent and the demo exits 0 by itself', async (t) => {
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'demo.mjs')], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, output });
    });
  });
  t.diagnostic(`demo took ${Date.now() - started} ms`);
  assert.equal(code, 0, output);
  const match = /the script saw (\d+) generations/.exec(output);
  assert.ok(match, output);
  assert.ok(Number(match[1]) >= 2, `expected at least one rotation: ${output}`);
  assert.match(output, /agent ready at http:\/\/127\.0\.0\.1:\d+\/v1\/credentials/);
});
