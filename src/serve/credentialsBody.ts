import type { Generation } from '../tracker/types.js';

export interface PreparedBody {
  readonly body: Buffer;
  /** Flat [name, value, …] list: writeHead's cheapest form. */
  readonly headers: readonly string[];
}

const cache = new WeakMap<Generation, PreparedBody>();

/**
 * The container-provider JSON, serialized once per generation: the hot path only looks the
 * buffer up. A generation object is immutable, so its body never goes stale.
 */
export function containerBody(generation: Generation): PreparedBody {
  let prepared = cache.get(generation);
  if (!prepared) {
    const c = generation.credentials;
    const body = Buffer.from(
      JSON.stringify({
        AccessKeyId: c.accessKeyId,
        SecretAccessKey: c.secretAccessKey,
        Token: c.sessionToken ?? '',
        Expiration: c.expiration.toISOString(),
        ...(c.accountId ? { AccountId: c.accountId } : {}),
        ...(c.roleArn ? { RoleArn: c.roleArn } : {}),
      }),
    );
    prepared = { body, headers: jsonHeaders(body) };
    cache.set(generation, prepared);
  }
  return prepared;
}

const imdsCache = new WeakMap<Generation, PreparedBody>();

/** The EC2 instance-metadata credentials document, also once per generation. */
export function imdsBody(generation: Generation): PreparedBody {
  let prepared = imdsCache.get(generation);
  if (!prepared) {
    const c = generation.credentials;
    const body = Buffer.from(
      JSON.stringify({
        Code: 'Success',
        LastUpdated: new Date(generation.firstSeenAt).toISOString(),
        Type: 'AWS-HMAC',
        AccessKeyId: c.accessKeyId,
        SecretAccessKey: c.secretAccessKey,
        Token: c.sessionToken ?? '',
        Expiration: c.expiration.toISOString(),
      }),
    );
    prepared = { body, headers: jsonHeaders(body) };
    imdsCache.set(generation, prepared);
  }
  return prepared;
}

export function jsonHeaders(body: Buffer): string[] {
  return ['content-type', 'application/json', 'content-length', String(body.length), 'cache-control', 'no-store'];
}
