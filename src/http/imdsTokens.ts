import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';

/**
 * IMDSv2 session tokens: random, with the TTL the caller asked for, in a bounded store so
 * a flood of PUTs cannot grow memory. When full, expired tokens go first, then the oldest.
 */
export class ImdsTokenStore {
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly maxTokens = 1024,
  ) {}

  issue(ttlSeconds: number): string {
    const now = this.clock.now();
    if (this.tokens.size >= this.maxTokens) {
      for (const [token, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(token);
      while (this.tokens.size >= this.maxTokens) {
        const oldest = this.tokens.keys().next().value as string;
        this.tokens.delete(oldest);
      }
    }
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, now + ttlSeconds * 1000);
    return token;
  }

  valid(token: string | string[] | undefined): boolean {
    if (typeof token !== 'string') return false;
    const expiresAt = this.tokens.get(token);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.clock.now()) {
      this.tokens.delete(token);
      return false;
    }
    return true;
  }

  get size(): number {
    return this.tokens.size;
  }
}
