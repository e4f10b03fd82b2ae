import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import type { NetworkSnapshot, ReadNetwork } from './types.js';
import { parseProcNetRoute } from './parseProcNetRoute.js';

const ARPHRD_LOOPBACK = '772';
const sysfs = (name: string, file: string): Promise<string> => readFile(`/sys/class/net/${name}/${file}`, 'utf8').then((t) => t.trim(), () => '');

/**
 * Linux interfaces and default route from the kernel's own files: /sys/class/net (names, MAC,
 * operstate, type), getifaddrs (os.networkInterfaces: IPv4 addresses) and /proc/net/route.
 * A read costs well under a millisecond and spawns nothing, so `wait` and the agent can poll
 * it every 50 ms (pollIntervalMs) and see an ENI within that, instead of a backed-off poll.
 */
export async function readLinuxNetwork(): Promise<NetworkSnapshot> {
  const [names, route] = await Promise.all([readdir('/sys/class/net').catch(() => [] as string[]), readFile('/proc/net/route', 'utf8').catch(() => '')]);
  const addresses = os.networkInterfaces();
  const interfaces = await Promise.all(
    [...new Set([...names, ...Object.keys(addresses)])].map(async (name) => {
      const [mac, operstate, type] = await Promise.all([sysfs(name, 'address'), sysfs(name, 'operstate'), sysfs(name, 'type')]);
      const own = addresses[name] ?? [];
      return {
        name,
        mac: (mac || own[0]?.mac || '').toLowerCase(),
        operstate: operstate || 'unknown',
        ipv4: own.filter((a) => a.family === 'IPv4').map((a) => a.address),
        internal: type === ARPHRD_LOOPBACK || own.some((a) => a.internal),
      };
    }),
  );
  return { interfaces, defaultRouteInterface: parseProcNetRoute(route) };
}

/** How often the agent and `wait` read while waiting for the ENI (fixed: the read is cheap). */
export const LINUX_NETWORK_POLL_MS = 50;

export const linuxNetworkReader: ReadNetwork = Object.assign(() => readLinuxNetwork(), { pollIntervalMs: LINUX_NETWORK_POLL_MS });
