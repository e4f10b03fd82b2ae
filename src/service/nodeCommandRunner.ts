import { execFile } from 'node:child_process';
import type { CommandRunner } from './managerTypes.js';

/**
 * The real runner: no shell (arguments reach the program as given), no console window on
 * Windows, and a missing program reported as exit code 127 rather than thrown.
 */
export const nodeCommandRunner: CommandRunner = {
  run(command, args) {
    return new Promise((resolve) => {
      execFile(command, [...args], { windowsHide: true, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        const errno = error as NodeJS.ErrnoException & { code?: string | number };
        if (typeof errno.code === 'number') return resolve({ code: errno.code, stdout, stderr });
        if (errno.code === 'ENOENT') return resolve({ code: 127, stdout, stderr: `${command}: command not found` });
        resolve({ code: 1, stdout, stderr: stderr || error.message });
      });
    });
  },
};
