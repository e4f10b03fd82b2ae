import type { Clock } from '../clock.js';
import type { Settings } from '../config/settingsSchema.js';
import type { WatchedSource } from '../credentials.js';
import { nodeFileSystem, type FileSystem } from './fileSystem.js';
import { fromAppStreamProfile, type ProfileTrust } from './fromAppStreamProfile.js';
import { profileLocations } from './profileLocations.js';
import type { AncestorReader } from './recursionGuard.js';
import { WORKSPACES_PROFILE } from '../agent/contract.js';

export interface MachineRoleSourceInit {
  settings: Pick<Settings, 'profile' | 'processTimeout' | 'settleTime' | 'credentialsFile' | 'configFile' | 'homeDirs' | 'origins'>;
  /** The current user's home, searched first. */
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  fs?: FileSystem;
  /** The ownership rule for profile files (see fromAppStreamProfile). */
  trust?: ProfileTrust;
  /** Ancestors' command lines, for the recursion guard (commands pass procAncestors). */
  ancestors?: AncestorReader;
}

/**
 * WorkSpaces Pools writes workspaces_machine_role where AppStream writes appstream_machine_role:
 * read it when the default profile is absent, but never in place of a profile the user named.
 */
export const fallbackProfile = (settings: Pick<Settings, 'origins'>): string | undefined => (settings.origins?.profile === 'default' ? WORKSPACES_PROFILE : undefined);

/** The machine-role profile AppStream writes, in whichever file the settings locate, and those files to watch. */
export function machineRoleSource(init: MachineRoleSourceInit): WatchedSource {
  const locations = profileLocations(init.settings, init.home);
  return {
    resolve: fromAppStreamProfile({
      profile: init.settings.profile,
      fallbackProfile: fallbackProfile(init.settings),
      locations,
      fs: init.fs ?? nodeFileSystem,
      clock: init.clock,
      env: init.env,
      processTimeoutMs: init.settings.processTimeout,
      ...(init.settings.settleTime !== undefined ? { settleMs: init.settings.settleTime } : {}),
      ...(init.trust ? { trust: init.trust } : {}),
      ...(init.ancestors ? { ancestors: init.ancestors } : {}),
    }),
    watch: { files: locations.map((location) => location.path) },
  };
}
