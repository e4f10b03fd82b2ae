import type { CliContext } from './context.js';
import type { GlobalFlags } from './commandDeps.js';
import { printCredentialProcess } from './printCredentialProcess.js';
import { reportError } from './runAction.js';
import { settingsFromFlags } from './commandSetup.js';

/** Global options plus the command's own --role. */
export type FastFlags = GlobalFlags & { role?: string };

const FLAGS: Record<string, keyof FastFlags> = {
  '--role': 'role',
  '--profile': 'profile',
  '--state-dir': 'stateDir',
  '--config': 'config',
  '--log-level': 'logLevel',
};

/**
 * `credential-process` is run by SDKs and the CLI on every refresh, so its start-up time is
 * the product's. When the argument list is exactly that command plus global options, it runs
 * without building the commander program; anything else (--help, a typo) takes the normal route.
 */
export function parseFastCredentialProcess(argv: readonly string[]): FastFlags | undefined {
  if (argv[0] !== 'credential-process') return undefined;
  const flags: FastFlags = {};
  for (let i = 1; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const key = FLAGS[name];
    if (!key || flags[key] !== undefined) return undefined;
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    flags[key] = value;
  }
  return flags;
}

export async function runFastCredentialProcess(ctx: CliContext, flags: FastFlags): Promise<number> {
  const deps = { ctx, slot: { code: 0 } };
  const { role, ...global } = flags;
  try {
    return await printCredentialProcess(settingsFromFlags(global, deps), deps, role);
  } catch (error) {
    return reportError(ctx, error);
  }
}
