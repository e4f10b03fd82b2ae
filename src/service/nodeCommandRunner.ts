import { spawn } from 'node:child_process';
import type { CommandRunner } from './managerTypes.js';

const TIMEOUT_MS = 120_000;
/**
 * After the program exits, how long its output may still take to arrive. Not until the pipes
 * close: a process it started may hold them open long after (under Wine, the first GUI-linked
 * program after an idle spell, nssm.exe, starts `explorer.exe /desktop`, which inherits them
 * and lives on; waiting for EOF cost each upgrade 120 s, this runner's timeout).
 */
const DRAIN_MS = 500;
const MAX_OUTPUT = 4 * 1024 * 1024;

/**
 * The real runner: no shell (arguments reach the program as given), no console window on
 * Windows, and a missing program reported as exit code 127 rather than thrown.
 */
export const nodeCommandRunner: CommandRunner = {
  run(command, args) {
    return new Promise((resolve) => {
      const child = spawn(command, [...args], { windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = { stdout: '', stderr: '' };
      for (const name of ['stdout', 'stderr'] as const) {
        child[name].setEncoding('utf8').on('data', (chunk: string) => {
          if (out[name].length < MAX_OUTPUT) out[name] += chunk;
        });
      }
      let settled = false;
      const finish = (code: number, stderr?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, stdout: out.stdout, stderr: stderr ?? out.stderr });
      };
      const timer = setTimeout(() => {
        child.kill();
        finish(1, `${out.stderr}${command}: no exit within ${TIMEOUT_MS / 1000} s, killed`);
      }, TIMEOUT_MS);
      child.on('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ENOENT' ? 127 : 1, error.code === 'ENOENT' ? `${command}: command not found` : out.stderr || error.message));
      child.on('close', (code) => finish(code ?? 1));
      child.on('exit', (code) => {
        setTimeout(() => finish(code ?? 1), DRAIN_MS);
      });
    });
  },
};
