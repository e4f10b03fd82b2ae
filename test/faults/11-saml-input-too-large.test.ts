/**
 * Fault 11: `saml check` on a 50 MB document (51 s, then out of memory). Must be: inputs over
 * the documented limit (1 MiB; SAML responses are tens of KB) are refused at once with exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { cliPath, runCli, runProgram } from '../helpers/cli.js';
import { withSandbox } from '../helpers/sandbox.js';

test('fault 11: saml check on a 50 MB document (file or stdin) -> refused at once with exit 2, naming the 1 MiB limit', async () => {
  await withSandbox(async (dir) => {
    const big = `<samlp:Response>${'A'.repeat(50 * 1024 * 1024)}</samlp:Response>`;
    await writeFile(`${dir}/big.xml`, big);
    const fromFile = await runCli(['saml', 'check', `${dir}/big.xml`], { timeoutMs: 60_000 });
    assert.equal(fromFile.signal, null, 'saml check did not finish (hang guard: 60 s)');
    assert.equal(fromFile.code, 2, fromFile.stderr);
    assert.match(fromFile.stderr, /SAML response .*big\.xml is \d+ bytes, over the 1048576-byte limit for this input; refused/);
    assert.doesNotMatch(fromFile.stderr, /heap|internal error/);

    // 50 MB piped in: refused at the first byte past the limit (the writer then gets EPIPE).
    const fromStdin = await runProgram('sh', ['-c', `yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA | head -c 50000000 | "${process.execPath}" "${cliPath}" saml check -`], { timeoutMs: 60_000 });
    assert.equal(fromStdin.signal, null, 'saml check - did not finish (hang guard: 60 s)');
    assert.equal(fromStdin.code, 2, fromStdin.stderr);
    assert.match(fromStdin.stderr, /SAML response \(stdin\) is more than 1048576 bytes/);

    // Metadata is bounded the same way.
    await writeFile(`${dir}/small.txt`, 'PHNhbWxwOlJlc3BvbnNlLz4=');
    const meta = await runCli(['saml', 'check', `${dir}/small.txt`, '--idp-metadata', `${dir}/big.xml`], { timeoutMs: 60_000 });
    assert.equal(meta.code, 2, meta.stderr);
    assert.match(meta.stderr, /--idp-metadata .*over the 1048576-byte limit/);
  });
});
