import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forgetSandbox, registerSandbox } from './leakScan.js';

/**
 * A fresh temp folder per test, removed afterwards. It is registered with the secret scan, so
 * whatever profile, simulator generation or agent token appears in it is checked in the output
 * of every process the test starts.
 */
export async function withSandbox<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = await makeSandbox();
  try {
    return await fn(dir);
  } finally {
    await cleanup();
  }
}

export async function makeSandbox(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'as2creds-'));
  registerSandbox(dir);
  return {
    dir,
    cleanup: async () => {
      forgetSandbox(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
