import { ExitCode, isAgentError } from '../errors.js';
import type { CliContext, CommandResult } from './context.js';
import { printableLines } from '../terminalText.js';

/** Holds the exit code that the composition root will use; one per CLI invocation, never global. */
export interface ExitSlot {
  code: number;
}

/**
 * Wraps a command handler: user mistakes and runtime failures become one line on stderr and a
 * contract exit code; a stack trace is printed only for genuine bugs, and only at debug level.
 */
export function runAction<A extends unknown[]>(
  ctx: CliContext,
  slot: ExitSlot,
  handler: (...args: A) => CommandResult,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      slot.code = await handler(...args);
    } catch (error) {
      slot.code = reportError(ctx, error);
    }
  };
}

export function reportError(ctx: CliContext, error: unknown): number {
  if (isAgentError(error)) {
    // Messages name files and quote what was wrong in them: no control character gets through.
    ctx.io.stderr(`appstream-creds: ${printableLines(error.message)}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  ctx.io.stderr(`appstream-creds: internal error: ${printableLines(message)}\n`);
  if (ctx.env.APPSTREAM_CREDS_LOG_LEVEL === 'debug' && error instanceof Error && error.stack) {
    ctx.io.stderr(`${error.stack}\n`);
  }
  return ExitCode.runtime;
}
