import { execFile } from 'node:child_process';
import os from 'node:os';
import { parseIpconfig } from './parseIpconfig.js';
import type { NetworkSnapshot, ReadNetwork } from './types.js';

export interface WindowsNetworkDeps {
  /** os.networkInterfaces(): on Windows libuv lists only adapters that are operationally up. */
  interfaces: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** The text of `ipconfig /all`. */
  ipconfig: () => Promise<string>;
}

const runIpconfig = (): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile('ipconfig', ['/all'], { windowsHide: true, timeout: 10_000, maxBuffer: 4 * 1024 * 1024, encoding: 'latin1' }, (error, stdout) =>
      error ? reject(new Error(`ipconfig /all failed: ${error.message}`)) : resolve(stdout),
    );
  });

const defaultDeps: WindowsNetworkDeps = { interfaces: () => os.networkInterfaces(), ipconfig: runIpconfig };

/**
 * Windows without PowerShell: interfaces and addresses from Node itself, the default route
 * from `ipconfig /all` (the adapter that has an IPv4 default gateway). systeminformation
 * starts PowerShell for the same answer, which costs a second or more per check on Windows
 * and is a stub under Wine. The adapter is matched by MAC, else by connection name.
 */
export function createWindowsNetworkReader(deps: WindowsNetworkDeps = defaultDeps): ReadNetwork {
  return async (): Promise<NetworkSnapshot> => {
    const adapters = parseIpconfig(await deps.ipconfig());
    const found = deps.interfaces();
    const interfaces = Object.entries(found).map(([name, entries = []]) => ({
      name,
      mac: (entries[0]?.mac ?? '').toLowerCase(),
      operstate: 'up',
      ipv4: entries.filter((e) => e.family === 'IPv4').map((e) => e.address),
      internal: entries.every((e) => e.internal),
    }));
    const routed = adapters.find((a) => a.gateways.length > 0 && interfaces.some((i) => matches(i, a)));
    const iface = routed && (interfaces.find((i) => routed.mac && i.mac === routed.mac && i.mac !== '00:00:00:00:00:00') ?? interfaces.find((i) => i.name === routed.name));
    return { interfaces, defaultRouteInterface: iface?.name };
  };
}

const matches = (i: { name: string; mac: string }, a: { name: string; mac: string | undefined }): boolean =>
  (a.mac !== undefined && i.mac === a.mac && i.mac !== '00:00:00:00:00:00') || i.name === a.name;
