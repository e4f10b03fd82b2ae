import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import type { EniVerdict, NetworkSnapshot } from './types.js';

export interface EniCriteria {
  excludeCidrs: readonly string[];
  /** Interface name or MAC address to insist on. */
  match?: string;
}

/** The ENI criteria a command's settings describe. */
export const eniCriteria = (settings: { excludeCidrs: readonly string[]; interface?: string }): EniCriteria => ({
  excludeCidrs: settings.excludeCidrs,
  ...(settings.interface ? { match: settings.interface } : {}),
});

const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;

/**
 * The customer ENI is an interface that is up, holds an IPv4 address outside the excluded
 * ranges (the 198.19.0.0/16 management network, link-local, loopback) and carries the
 * default route. Pure, so every rule is unit-tested without a network.
 */
export function evaluateEni(snapshot: NetworkSnapshot, criteria: EniCriteria): EniVerdict {
  const excluded = criteria.excludeCidrs.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const match = criteria.match?.trim().toLowerCase();
  // Only a MAC has its dashes normalised; interface names may contain dashes (br-vpc).
  const mac = match && MAC.test(match) ? match.replace(/-/g, ':') : undefined;
  const wanted = snapshot.interfaces.filter((i) => !match || (mac ? i.mac === mac : i.name.toLowerCase() === match));
  if (wanted.length === 0) {
    return { ready: false, reason: match ? `no interface named or with MAC ${criteria.match}` : 'no network interface besides loopback' };
  }
  const withAddress = wanted
    .map((i) => ({ iface: i, address: i.ipv4.find((a) => !excluded.some((c) => cidrContains(c, a))) }))
    .filter((c) => c.address !== undefined && !c.iface.internal);
  if (withAddress.length === 0) {
    return { ready: false, reason: `no interface with an IPv4 address outside ${criteria.excludeCidrs.join(', ')}` };
  }
  const up = withAddress.filter((c) => c.iface.operstate === 'up' || c.iface.operstate === 'unknown');
  if (up.length === 0) {
    return { ready: false, reason: `interface ${withAddress.map((c) => c.iface.name).join(', ')} has an address but is not up` };
  }
  const routed = up.find((c) => c.iface.name === snapshot.defaultRouteInterface);
  if (!routed) {
    return { ready: false, reason: `interface ${up.map((c) => c.iface.name).join(', ')} is up but carries no default route` };
  }
  return { ready: true, eni: { name: routed.iface.name, mac: routed.iface.mac, address: routed.address! }, reason: 'ready' };
}
