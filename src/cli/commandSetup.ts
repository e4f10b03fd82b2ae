import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadSettings, type LoadSettingsInput, type RawSettings } from '../config/loadSettings.js';
import type { Settings } from '../config/settingsSchema.js';
import { globalFlags, type CommandDeps, type GlobalFlags } from './commandDeps.js';
import { createLogger, type Logger } from '../log/createLogger.js';
import { machineRoleSource } from '../sources/machineRoleSource.js';
import { systemClock, type Clock } from '../clock.js';
import type { WatchedSource } from '../credentials.js';

/** Settings for a command: global flags plus the command's own, validated once. */
export function commandSettings(command: Command, deps: CommandDeps, own: RawSettings = {}, flagNames?: LoadSettingsInput['flagNames']): Settings {
  return settingsFromFlags(globalFlags(command), deps, own, flagNames);
}

export function settingsFromFlags(flags: GlobalFlags, deps: CommandDeps, own: RawSettings = {}, flagNames?: LoadSettingsInput['flagNames']): Settings {
  return loadSettings(
    {
      flags: { profile: flags.profile, stateDir: flags.stateDir, logLevel: flags.logLevel, ...own },
      ...(flagNames ? { flagNames } : {}),
      env: deps.ctx.env,
      platform: deps.ctx.platform,
      readFile: (path) => readFileSync(path, 'utf8'),
    },
    flags.config,
  );
}

/**
 * One-shot commands log only warnings unless asked, so credential-process and env stay quiet
 * (and never load pino); the daemon defaults to info.
 */
export async function commandLogger(settings: Settings, fallbackLevel: 'info' | 'warn'): Promise<Logger | undefined> {
  const level = settings.logLevel ?? fallbackLevel;
  if (level === 'silent' || (settings.logLevel === undefined && fallbackLevel === 'warn')) return undefined;
  return createLogger({ level });
}

/** The current user's home, as the AWS SDKs find it. */
export const currentHome = (deps: CommandDeps): string => deps.ctx.env.HOME ?? deps.ctx.env.USERPROFILE ?? deps.ctx.homeDir;

/** The credential source commands read: the one place that chooses it. */
export function commandSource(settings: Settings, deps: CommandDeps, clock: Clock = systemClock): WatchedSource {
  return machineRoleSource({ settings, home: currentHome(deps), env: deps.ctx.env, clock });
}
