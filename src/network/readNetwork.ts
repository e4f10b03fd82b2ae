import os from 'node:os';
import type { NetworkSnapshot } from './types.js';

/**
 * Reads interfaces and the default route through systeminformation (loaded lazily: it is
 * large and only the network stage needs it). os.networkInterfaces adds every IPv4 address,
 * since systeminformation reports one per interface.
 */
export async function readNetworkWithSysinfo(): Promise<NetworkSnapshot> {
  const si = await import('systeminformation');
  // Linux has its own reader (readLinuxNetwork) and Windows its own: this serves the rest (macOS).
  const defaultRoute = si.networkInterfaceDefault().catch(() => '');
  const [interfaces, defaultName] = await Promise.all([si.networkInterfaces(), defaultRoute]);
  const list = Array.isArray(interfaces) ? interfaces : [interfaces];
  const addresses = os.networkInterfaces();
  return {
    interfaces: list.map((iface) => ({
      name: iface.iface,
      mac: (iface.mac ?? '').toLowerCase(),
      operstate: iface.operstate ?? 'unknown',
      ipv4: [
        ...new Set([
          ...(iface.ip4 ? [iface.ip4] : []),
          ...(addresses[iface.iface] ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address),
        ]),
      ],
      internal: Boolean(iface.internal),
    })),
    defaultRouteInterface: defaultName || undefined,
  };
}
