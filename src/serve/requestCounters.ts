/**
 * Per-route, per-status request counts kept as plain numbers: the hot path does one Map
 * lookup and an increment; /metrics turns them into Prometheus text on scrape.
 */
export class RequestCounters {
  private readonly counts = new Map<string, number>();

  inc(route: string, status: number): void {
    const key = `${route} ${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  entries(): Array<{ route: string; status: string; count: number }> {
    return [...this.counts].map(([key, count]) => {
      const [route = '', status = ''] = key.split(' ');
      return { route, status, count };
    });
  }
}
