import type { Generation } from '../tracker/types.js';

export interface PreparedBody {
  readonly body: Buffer;
  /** Flat [name, value, …] list: writeHead's cheapest form. */
  readonly headers: readonly string[];
}

/**
 * A body serialized once per generation: the hot path only looks the buffer up. A generation
 * object is immutable, so its body never goes stale, and the WeakMap lets old ones go.
 */
function oncePerGeneration(render: (generation: Generation) => Record<string, unknown>): (generation: Generation) => PreparedBody {
  const cache = new WeakMap<Generation, PreparedBody>();
  return (generation) => {
    let prepared = cache.get(generation);
    if (!prepared) {
      const body = Buffer.from(JSON.stringify(render(generation)));
      prepared = { body, headers: jsonHeaders(body) };
      cache.set(generation, prepared);
    }
    return prepared;
  };
}

/** The container-provider JSON (AWS_CONTAINER_CREDENTIALS_FULL_URI). */
export const containerBody = oncePerGeneration(({ credentials: c }) => ({
  AccessKeyId: c.accessKeyId,
  SecretAccessKey: c.secretAccessKey,
  Token: c.sessionToken ?? '',
  Expiration: c.expiration.toISOString(),
  ...(c.accountId ? { AccountId: c.accountId } : {}),
  ...(c.roleArn ? { RoleArn: c.roleArn } : {}),
}));

/** The EC2 instance-metadata credentials document. */
export const imdsBody = oncePerGeneration(({ credentials: c, firstSeenAt }) => ({
  Code: 'Success',
  LastUpdated: new Date(firstSeenAt).toISOString(),
  Type: 'AWS-HMAC',
  AccessKeyId: c.accessKeyId,
  SecretAccessKey: c.secretAccessKey,
  Token: c.sessionToken ?? '',
  Expiration: c.expiration.toISOString(),
}));

export function jsonHeaders(body: Buffer): string[] {
  return ['content-type', 'application/json', 'content-length', String(body.length), 'cache-control', 'no-store'];
}
