import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileRefused, readRegularFile, readRegularFileSync } from '../../src/readRegularFile.js';

const posix = process.platform === 'win32' ? 'FIFOs and /dev/zero are POSIX' : false;

test('a regular file is read whole, up to exactly the limit; one byte more is refused by size', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rrf-'));
  try {
    const file = path.join(dir, 'f');
    await writeFile(file, 'x'.repeat(100));
    assert.equal(readRegularFileSync(file, 100).toString(), 'x'.repeat(100));
    assert.equal((await readRegularFile(file, 100)).toString(), 'x'.repeat(100));
    await writeFile(file, '');
    assert.equal(readRegularFileSync(file, 100).length, 0);
    await writeFile(file, 'x'.repeat(101));
    for (const read of [() => Promise.resolve().then(() => readRegularFileSync(file, 100)), () => readRegularFile(file, 100)]) {
      await assert.rejects(read(), (e: unknown) => e instanceof FileRefused && /it is 101 bytes, over the 100-byte limit/.test(e.message));
    }
    assert.throws(() => readRegularFileSync(path.join(dir, 'missing')), { code: 'ENOENT' });
    assert.throws(() => readRegularFileSync(dir), (e: unknown) => e instanceof FileRefused && /it is a directory/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a FIFO is refused without waiting for a writer, /dev/zero without reading it', { skip: posix }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rrf-'));
  try {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readRegularFileSync(fifo), (e: unknown) => e instanceof FileRefused && /it is a fifo, not a regular file/.test(e.message));
    await assert.rejects(readRegularFile(fifo), /it is a fifo/);
    assert.throws(() => readRegularFileSync('/dev/zero'), /it is a character device, not a regular file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
