import type { Command } from 'commander';
import type { CliContext } from './context.js';
import type { ExitSlot } from './runAction.js';

/** What program.ts hands each command module's register function. */
export interface CommandDeps {
  ctx: CliContext;
  slot: ExitSlot;
}

/** Global options, declared once on the root program (see program.ts). */
export interface GlobalFlags {
  config?: string;
  profile?: string;
  stateDir?: string;
  logLevel?: string;
}

export const globalFlags = (command: Command): GlobalFlags => command.optsWithGlobals() as GlobalFlags;
