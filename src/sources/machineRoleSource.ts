import type { Clock } from '../clock.js';
import type { Settings } from '../config/settingsSchema.js';
import type { WatchedSource } from '../credentials.js';
import { nodeFileSystem, type FileSystem } from './fileSystem.js';
import { fromAppStreamProfile, type ProfileTrust } from './fromAppStreamProfile.js';
import { profileLocations } from './profileLocations.js';

export interface MachineRoleSourceInit {
  settings: Pick<Settings, 'profile' | 'processTimeout' | 'credentialsFile' | 'configFile' | 'homeDirs'>;
  /** The current user's home, searched first. */
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  fs?: FileSystem;
  /** The ownership rule for profile files (see fromAppStreamProfile). */
  trust?: ProfileTrust;
}

/** The machine-role profile AppStream writes, in whichever file the settings locate, and those files to watch. */
export function machineRoleSource(init: MachineRoleSourceInit): WatchedSource {
  const locations = profileLocations(init.settings, init.home);
  return {
    resolve: fromAppStreamProfile({
      profile: init.settings.profile,
      locations,
      fs: init.fs ?? nodeFileSystem,
      clock: init.clock,
      env: init.env,
      processTimeoutMs: init.settings.processTimeout,
      ...(init.trust ? { trust: init.trust } : {}),
    }),
    watch: { files: locations.map((location) => location.path) },
  };
}
