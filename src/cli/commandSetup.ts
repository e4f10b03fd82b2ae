import { existsSync } from 'node:fs';
import { readRegularFileSync } from '../readRegularFile.js';
import type { Command } from 'commander';
import { loadSettings, type LoadSettingsInput, type RawSettings } from '../config/loadSettings.js';
import type { Settings } from '../config/settingsSchema.js';
import { globalFlags, type CommandDeps, type GlobalFlags } from './commandDeps.js';
import { createLogger, type Logger } from '../log/createLogger.js';
import { machineRoleSource } from '../sources/machineRoleSource.js';
import { procAncestors } from '../sources/recursionGuard.js';
import { systemClock, type Clock } from '../clock.js';
import type { WatchedSource } from '../credentials.js';
import { agentPolicy, daemonPolicy, ownerPolicy, windowsAclReader } from './trustSetup.js';
import { pathTrust, type CheckTrust } from '../trust/pathTrust.js';
import { checkPathTrustSync, refusalMessage, type TrustRefusal } from '../trust/checkPathTrust.js';
import { templateValues, type TemplateValues } from '../identity/templateIdentity.js';
import { assumedRoleSource } from '../sources/assumedRoleSource.js';
import { findRole, validateRoles } from '../sources/roleRequest.js';
import { APPSTREAM_VARIABLES, readAppStreamIdentity, type AppStreamIdentity } from '../identity/appStreamIdentity.js';

/** Settings for a command: global flags plus the command's own, validated once. */
export function commandSettings(command: Command, deps: CommandDeps, own: RawSettings = {}, flagNames?: LoadSettingsInput['flagNames']): Settings {
  return settingsFromFlags(globalFlags(command), deps, own, flagNames);
}

export function settingsFromFlags(flags: GlobalFlags, deps: CommandDeps, own: RawSettings = {}, flagNames?: LoadSettingsInput['flagNames']): Settings {
  const settings = loadSettings(
    {
      flags: { profile: flags.profile, stateDir: flags.stateDir, logLevel: flags.logLevel, ...own },
      ...(flagNames ? { flagNames } : {}),
      env: deps.ctx.env,
      platform: deps.ctx.platform,
      readFile: (path) => readRegularFileSync(path).toString('utf8'),
    },
    flags.config,
  );
  // Each role's templates must fill to a valid session name with the identity known now.
  if (settings.roles.size > 0) validateRoles(settings.roles, commandTemplateValues(settings, deps));
  if (settings.region) return settings;
  // No region configured anywhere: the instance's image ARN names the one it runs in.
  const imageRegion = commandIdentity(settings, deps).imageRegion;
  return imageRegion ? { ...settings, region: imageRegion, origins: { ...settings.origins, region: APPSTREAM_VARIABLES.imageArn } } : settings;
}

/** The AppStream_* variables as this command sees them: its environment, then the system file. */
export function commandIdentity(settings: Settings, deps: CommandDeps): AppStreamIdentity {
  return readAppStreamIdentity({
    env: deps.ctx.env,
    systemVarsFile: settings.systemVarsFile,
    readFile: (file) => {
      // The identity names the streaming user in role session names (CloudTrail) and picks the
      // region: a file another local user could have written is not read (strictPermissions).
      if (deps.ctx.platform !== 'win32' && existsSync(file)) {
        const policy = daemonPolicy(settings, deps.ctx);
        if (policy.strict && checkPathTrustSync(file, policy)) return undefined;
      }
      try {
        return readRegularFileSync(file).toString('utf8');
      } catch {
        return undefined;
      }
    },
  });
}

/** The values a role's `{user}`, `{session}`, `{resource}`, `{instance}` stand for, read now. */
export function commandTemplateValues(settings: Settings, deps: CommandDeps): TemplateValues {
  return templateValues(commandIdentity(settings, deps), deps.ctx.hostname);
}

/**
 * A named role assumed from the machine role (one-shot commands: read the profile, call STS).
 * An unknown name is a usage error (exit 2).
 */
export function commandRoleSource(settings: Settings, deps: CommandDeps, name: string): WatchedSource {
  const role = findRole(settings.roles, name);
  return assumedRoleSource(commandSource(settings, deps), {
    name,
    role,
    identity: () => commandTemplateValues(settings, deps),
    region: settings.region,
    endpoint: settings.stsEndpoint,
    env: deps.ctx.env,
  });
}

/** `--role NAME` given: that role; otherwise the machine role. */
export const commandSourceFor = (settings: Settings, deps: CommandDeps, role: string | undefined): WatchedSource =>
  role === undefined ? commandSource(settings, deps) : commandRoleSource(settings, deps, role);

/**
 * One-shot commands log only warnings unless asked, so credential-process and env stay quiet
 * (and never load pino); the daemon defaults to info.
 */
export async function commandLogger(settings: Settings, fallbackLevel: 'info' | 'warn'): Promise<Logger | undefined> {
  const level = settings.logLevel ?? fallbackLevel;
  if (level === 'silent' || (settings.logLevel === undefined && fallbackLevel === 'warn')) return undefined;
  return createLogger({ level });
}

/**
 * Refusals reach the user once each: commands print a warning line on stderr (the error itself,
 * when nothing else is found, carries the reason too); `serve` passes its logger's warn.
 */
export function onceEach(warn: (message: string) => void): OnRefused {
  const seen = new Set<string>();
  return (refusal, used) => {
    const message = `${refusalMessage(refusal)}; ${used ? 'used anyway because strictPermissions is false' : 'not used'} (fix: ${refusal.fix})`;
    if (seen.has(message)) return;
    seen.add(message);
    warn(message);
  };
}

const onlyUsed = (report: OnRefused): OnRefused => (refusal, used) => {
  if (used) report(refusal, used);
};

export type OnRefused = (refusal: TrustRefusal, used: boolean) => void;

/** The current user's home, as the AWS SDKs find it. */
export const currentHome = (deps: CommandDeps): string => deps.ctx.env.HOME ?? deps.ctx.env.USERPROFILE ?? deps.ctx.homeDir;

/**
 * The credential source commands read: the one place that chooses it, with the ownership rule
 * for profile files decided here once.
 */
export function commandSource(settings: Settings, deps: CommandDeps, clock: Clock = systemClock, onRefused?: OnRefused): WatchedSource {
  return machineRoleSource({
    settings,
    home: currentHome(deps),
    env: deps.ctx.env,
    clock,
    ancestors: procAncestors,
    trust: {
      check: pathTrust(deps.ctx.platform, ownerPolicy(settings, deps.ctx), windowsAclReader(deps.ctx.platform)),
      strict: settings.strictPermissions,
      // Commands warn only about a file used despite the rule; a refusal that leaves nothing to
      // use is the error itself, and one found elsewhere is doctor's to report.
      onRefused: onRefused ?? onlyUsed(onceEach((message) => deps.ctx.io.stderr(`appstream-creds: warning: ${message}\n`))),
    },
  });
}

/**
 * The rule clients apply to agent.json and the token file before asking the agent. With
 * strictPermissions off a refusal is a warning on stderr and the files are used.
 */
export function agentFileTrust(settings: Settings, deps: CommandDeps): CheckTrust {
  const check = pathTrust(deps.ctx.platform, agentPolicy(settings, deps.ctx), windowsAclReader(deps.ctx.platform));
  if (settings.strictPermissions) return check;
  const warn = onlyUsed(onceEach((message) => deps.ctx.io.stderr(`appstream-creds: warning: ${message}\n`)));
  return async (file) => {
    const refusal = await check(file);
    if (refusal) warn(refusal, true);
    return undefined;
  };
}
