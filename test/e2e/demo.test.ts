import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repoRoot, runProgram } from '../helpers/cli.js';

// The README's first quick-start command runs this script after the build.
test('npm run demo: a script follows at least one rotation through the agent and the demo exits 0 by itself', async (t) => {
  const started = Date.now();
  const run = await runProgram(process.execPath, [path.join(repoRoot, 'scripts', 'demo.mjs')], { timeoutMs: 90_000 });
  const { code } = run;
  const output = run.stdout + run.stderr;
  t.diagnostic(`demo took ${Date.now() - started} ms`);
  assert.equal(code, 0, output);
  const match = /the script saw (\d+) generations/.exec(output);
  assert.ok(match, output);
  assert.ok(Number(match[1]) >= 2, `expected at least one rotation: ${output}`);
  assert.match(output, /agent ready at http:\/\/127\.0\.0\.1:\d+\/v1\/credentials/);
});
