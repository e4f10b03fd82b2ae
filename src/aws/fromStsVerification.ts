import type { Credentials } from '../credentials.js';
import { serviceEndpointUrl, viaProxy, type AwsClientSettings } from './awsClientConfig.js';
import { withStsClient } from './stsClient.js';

/** What STS said of one credential set. */
export type VerifyOutcome =
  | { outcome: 'verified' }
  /** STS rejected the set itself: a mix of two sets (torn write) or a bad one. */
  | { outcome: 'refused'; code: string }
  /**
   * No verdict on the set: `answered` when STS gave some other answer (throttled, 5xx), false
   * when it gave none (no route, proxy down, timeout). Never carries a secret.
   */
  | { outcome: 'unverified'; answered: boolean; reason: string };

export type VerifyCredentials = (credentials: Credentials) => Promise<VerifyOutcome>;

/** The answers that condemn the set: the signature or the token does not belong to the key id. */
export const REFUSAL_CODES: ReadonlySet<string> = new Set(['SignatureDoesNotMatch', 'InvalidClientTokenId']);

/** Per check, connection included: a new set waits at most this long for STS before the settle rule decides alone. */
export const VERIFY_TIMEOUT_MS = 3_000;

export interface StsVerificationInit extends AwsClientSettings {
  timeoutMs?: number;
}

/**
 * Verifies a credential set by signing one GetCallerIdentity with it (it needs no permission),
 * through the shared STS client: the same endpoint, region, proxy and NO_PROXY rules as every
 * other STS call. Never throws: every failure is an outcome.
 */
export function fromStsVerification(init: StsVerificationInit): VerifyCredentials {
  const timeoutMs = init.timeoutMs ?? VERIFY_TIMEOUT_MS;
  const where = `${serviceEndpointUrl('sts', init).host}${viaProxy('sts', init)}`;
  return async (credentials) => {
    try {
      await withStsClient({ ...init, connectionTimeoutMs: timeoutMs, credentials }, (client, { GetCallerIdentityCommand }) =>
        client.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) }),
      );
      return { outcome: 'verified' };
    } catch (error) {
      const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      const name = e.name ?? 'Error';
      if (status !== undefined && REFUSAL_CODES.has(name)) return { outcome: 'refused', code: name };
      if (status !== undefined) return { outcome: 'unverified', answered: true, reason: `STS at ${where} answered ${name} (HTTP ${status})` };
      // Only the error's code or name: an SDK message may quote the request.
      const why = name === 'AbortError' || name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.code ?? name);
      return { outcome: 'unverified', answered: false, reason: `STS at ${where} did not answer (${why})` };
    }
  };
}
