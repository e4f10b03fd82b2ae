const RTF_UP = 0x1;

/**
 * The interface of the best IPv4 default route in /proc/net/route (the current namespace's
 * table). systeminformation's Linux default-route lookup guesses the first interface when
 * there is no default route and misreads `default dev X scope link`, so Linux reads this.
 */
export function parseProcNetRoute(text: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const [iface, destination, , flags, , , metric, mask] = line.trim().split(/\s+/);
    if (!iface || destination !== '00000000' || mask !== '00000000') continue;
    if ((parseInt(flags ?? '0', 16) & RTF_UP) === 0) continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}
