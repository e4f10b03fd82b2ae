import { readNetworkWithSysinfo } from './readNetwork.js';
import { createWindowsNetworkReader } from './readWindowsNetwork.js';
import type { ReadNetwork } from './types.js';

/** The network reader for a platform, chosen once: Windows needs no PowerShell for it. */
export function networkReaderFor(platform: NodeJS.Platform): ReadNetwork {
  return platform === 'win32' ? createWindowsNetworkReader() : readNetworkWithSysinfo;
}
