import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';

const VERSION = 1;
const MAC_BYTES = 24;

/**
 * IMDSv2 session tokens without a store: a token is its expiry plus an HMAC of it under a key
 * made at start. Nothing is kept per token, so a flood of PUTs cannot fill or evict anything,
 * and a restart (new key) invalidates every token; SDKs then ask for a new one, as they do when
 * a real IMDS token expires.
 */
export class ImdsTokens {
  private readonly key: Buffer;

  constructor(
    private readonly clock: Clock,
    key: Buffer = randomBytes(32),
  ) {
    this.key = key;
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, MAC_BYTES);
  }

  issue(ttlSeconds: number): string {
    const payload = Buffer.alloc(9);
    payload.writeUInt8(VERSION, 0);
    payload.writeBigUInt64BE(BigInt(this.clock.now() + ttlSeconds * 1000), 1);
    return Buffer.concat([payload, this.mac(payload)]).toString('base64url');
  }

  valid(token: string | string[] | undefined): boolean {
    if (typeof token !== 'string' || token.length > 64) return false;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== 9 + MAC_BYTES || raw[0] !== VERSION) return false;
    const payload = raw.subarray(0, 9);
    if (!timingSafeEqual(raw.subarray(9), this.mac(payload))) return false;
    return Number(payload.readBigUInt64BE(1)) > this.clock.now();
  }
}
