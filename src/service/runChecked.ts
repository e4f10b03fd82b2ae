import { AgentError, ExitCode } from '../errors.js';
import type { CommandRunner } from './managerTypes.js';

/** A command line as a person would type it, for progress lines and error messages. */
export const describeCommand = (command: string, args: readonly string[]): string =>
  [command, ...args].map((part) => (/^[\w@%+=:,./\\*()-]+$/.test(part) ? part : `"${part.replace(/"/g, '\\"')}"`)).join(' ');

const firstLine = (text: string): string => text.trim().split(/\r?\n/)[0] ?? '';

/** Runs a command and turns a non-zero exit into one clear AgentError (exit code 1). */
export async function runChecked(runner: CommandRunner, command: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await runner.run(command, args);
  if (result.code !== 0) {
    const reason = firstLine(result.stderr) || firstLine(result.stdout) || 'no output';
    throw new AgentError(`\`${describeCommand(command, args)}\` failed with exit code ${result.code}: ${reason}`, {
      exitCode: ExitCode.runtime,
      code: 'service-command-failed',
    });
  }
  return { stdout: result.stdout, stderr: result.stderr };
}
