import type { Clock } from '../clock.js';
import { credentialDigest as digestOf, maskKeyId, type CredentialSource, type SourcedCredentials, type Verification } from '../credentials.js';
import { AgentError, ExitCode } from '../errors.js';
import type { Logger } from '../log/createLogger.js';
import type { VerifyCredentials } from '../aws/fromStsVerification.js';

export interface VerifiedSourceInit {
  source: CredentialSource;
  verify: VerifyCredentials;
  /** The setting verifyNewCredentials: auto = on when STS answers the first check. */
  setting: 'auto' | boolean;
  clock: Clock;
  logger?: Logger | undefined;
}

/** For status: the setting, whether new sets are checked now and why, and the counts. */
export interface VerificationReport {
  setting: 'auto' | 'on' | 'off';
  active: boolean;
  detail: string;
  /** New sets STS accepted, refused (torn or bad, never served) and could not judge (served on the settle rule). */
  verified: number;
  refused: number;
  unverified: number;
  lastRefusal: { code: string; keyId: string; at: string } | null;
}

/** Sets remembered with their verdict, so a set is checked once however often it is re-read. */
const REMEMBERED = 16;
/** A refused set read again is refused from memory for this long, then asked about once more. */
export const REASK_REFUSED_MS = 60_000;

/**
 * The verification stage between a source and the tracker: each new set is signed into one
 * STS GetCallerIdentity before it is handed on. STS refusing it (SignatureDoesNotMatch,
 * InvalidClientTokenId) is a source failure, so the tracker keeps serving the last good set and
 * the refresher reads again; no answer from STS hands the set on unverified (the source's
 * settle rule already held it until quiet). It runs in the refresher, never on a request.
 */
export function verifiedSource(init: VerifiedSourceInit): { resolve: CredentialSource; report(): VerificationReport } {
  const known = new Map<string, Verification>();
  const refused = new Map<string, number>();
  const counts = { verified: 0, refused: 0, unverified: 0 };
  let lastRefusal: VerificationReport['lastRefusal'] = null;
  // auto decides on the first check's answer; until then it counts as on.
  let active = init.setting !== false;
  let decided = init.setting !== 'auto';
  let detail = init.setting === false ? 'off (verifyNewCredentials false): new sets are served once settled' : init.setting === true ? 'on (verifyNewCredentials true)' : 'auto: decided by the first check';
  // The re-ask period on the clock that never steps: a wall clock set back must not stretch it.
  const monotonic = (): number => init.clock.monotonic?.() ?? init.clock.now();
  const remember = (digest: string, verification: Verification): void => {
    known.set(digest, verification);
    if (known.size > REMEMBERED) known.delete(known.keys().next().value!);
  };

  const resolve: CredentialSource = async () => {
    const sourced = await init.source();
    if (!active) return withVerification(sourced, { verified: false, detail: `verification ${detail}` });
    const digest = digestOf(sourced.credentials);
    const remembered = known.get(digest);
    if (remembered) return withVerification(sourced, remembered);
    const keyId = maskKeyId(sourced.credentials.accessKeyId);
    const refusedAt = refused.get(digest);
    if (refusedAt !== undefined && monotonic() - refusedAt < REASK_REFUSED_MS) throw refusal(keyId, lastRefusal?.code ?? 'refused');

    const verdict = await init.verify(sourced.credentials);
    if (!decided) {
      decided = true;
      if (verdict.outcome === 'unverified' && !verdict.answered) {
        active = false;
        detail = `off: auto, and ${verdict.reason} at the first check; new sets are served once settled`;
        init.logger?.warn({ verifyNewCredentials: 'auto' }, `verifyNewCredentials: ${verdict.reason}; verification is off for this run (new sets are served once settleTime has passed)`);
        return withVerification(sourced, { verified: false, detail: `verification ${detail}` });
      }
      detail = 'on: auto, and STS answered the first check';
      init.logger?.info({ verifyNewCredentials: 'auto' }, 'verifyNewCredentials: STS answered; each new set is verified before it is served');
    }
    if (verdict.outcome === 'verified') {
      counts.verified += 1;
      refused.delete(digest);
      const verification = { verified: true, detail: 'STS GetCallerIdentity accepted it' };
      remember(digest, verification);
      init.logger?.debug({ keyId }, 'new set verified with STS');
      return withVerification(sourced, verification);
    }
    if (verdict.outcome === 'refused') {
      counts.refused += 1;
      refused.set(digest, monotonic());
      if (refused.size > REMEMBERED) refused.delete(refused.keys().next().value!);
      lastRefusal = { code: verdict.code, keyId, at: new Date(init.clock.now()).toISOString() };
      throw refusal(keyId, verdict.code);
    }
    // STS gave no verdict: this generation is served on the settle rule alone, and not asked about again.
    counts.unverified += 1;
    const verification = { verified: false, detail: `not verified: ${verdict.reason}` };
    remember(digest, verification);
    init.logger?.warn({ keyId }, `new set not verified (${verdict.reason}); served on the settle rule`);
    return withVerification(sourced, verification);
  };

  return {
    resolve,
    report: () => ({ setting: init.setting === 'auto' ? 'auto' : init.setting ? 'on' : 'off', active, detail, ...counts, lastRefusal }),
  };
}

/** The tracker logs a failure once per distinct message: one line per refused set. */
function refusal(keyId: string, code: string): AgentError {
  return new AgentError(`STS refused the set read with key ${keyId} (${code}): a torn or bad set, not served; keeping the last good set and reading again`, {
    exitCode: ExitCode.credentialsUnavailable,
    code: 'sts-refused',
    transient: true,
  });
}

const withVerification = (sourced: SourcedCredentials, verification: Verification): SourcedCredentials => ({ ...sourced, verification });
