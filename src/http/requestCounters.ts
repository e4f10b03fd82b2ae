/**
 * Per-route, per-status request counts kept as plain numbers: the hot path does one Map
 * lookup and an increment; /metrics turns them into Prometheus text on scrape.
 */
export class RequestCounters {
  private readonly counts = new Map<string, Map<number, number>>();

  inc(route: string, status: number): void {
    let byStatus = this.counts.get(route);
    if (!byStatus) this.counts.set(route, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  entries(): Array<{ route: string; status: string; count: number }> {
    return [...this.counts].flatMap(([route, byStatus]) => [...byStatus].map(([status, count]) => ({ route, status: String(status), count })));
  }

  /** All requests answered with one of these statuses, on any route. */
  total(statuses: readonly number[]): number {
    let sum = 0;
    for (const byStatus of this.counts.values()) for (const status of statuses) sum += byStatus.get(status) ?? 0;
    return sum;
  }
}
