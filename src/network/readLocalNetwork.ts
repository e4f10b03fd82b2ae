import { linuxNetworkReader } from './readLinuxNetwork.js';
import { readNetworkWithSysinfo } from './readNetwork.js';
import { createWindowsNetworkReader } from './readWindowsNetwork.js';
import type { ReadNetwork } from './types.js';

/**
 * The network reader for a platform, chosen once: Windows needs no PowerShell for it; Linux
 * reads the kernel's files (cheap, polled every 50 ms while waiting); others systeminformation.
 */
export function networkReaderFor(platform: NodeJS.Platform): ReadNetwork {
  if (platform === 'win32') return createWindowsNetworkReader();
  return platform === 'linux' ? linuxNetworkReader : readNetworkWithSysinfo;
}
