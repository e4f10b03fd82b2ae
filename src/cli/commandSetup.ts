import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { loadSettings, type LoadSettingsInput, type RawSettings } from '../config/loadSettings.js';
import type { Settings } from '../config/settingsSchema.js';
import { globalFlags, type CommandDeps, type GlobalFlags } from './commandDeps.js';
import { createLogger, type Logger } from '../log/createLogger.js';
import { fromAppStreamProfile } from '../sources/fromAppStreamProfile.js';
import { profileLocations } from '../sources/profileLocations.js';
import { nodeFileSystem } from '../sources/fileSystem.js';
import { systemClock, type Clock } from '../clock.js';
import type { CredentialSource } from '../credentials.js';

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
      platform: process.platform,
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

export function directSource(settings: Settings, deps: CommandDeps, clock: Clock = systemClock): CredentialSource {
  return fromAppStreamProfile({
    profile: settings.profile,
    locations: profileLocations(settings, deps.ctx.env.HOME ?? deps.ctx.env.USERPROFILE ?? os.homedir()),
    fs: nodeFileSystem,
    clock,
    env: deps.ctx.env,
    processTimeoutMs: settings.processTimeout,
  });
}
