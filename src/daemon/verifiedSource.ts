import type { Clock } from '../clock.js';
import { credentialDigest as digestOf, maskKeyId, type CredentialSource, type SourcedCredentials, type Verification } from '../credentials.js';
import { AgentError, ExitCode } from '../errors.js';
import type { Logger } from '../log/createLogger.js';
import type { VerifyCredentials, VerifyOutcome } from '../aws/fromStsVerification.js';

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
  // auto decides on the first check's answer (the probe); until then sets are served on the settle rule.
  let active = init.setting !== false;
  let decided = init.setting !== 'auto';
  let probing = false;
  let detail = init.setting === false ? 'off (verifyNewCredentials false): new sets are served once settled' : init.setting === true ? 'on (verifyNewCredentials true)' : 'auto: decided by the first check';
  // The re-ask period on the clock that never steps: a wall clock set back must not stretch it.
  const monotonic = (): number => init.clock.monotonic?.() ?? init.clock.now();
  const remember = (digest: string, verification: Verification): void => {
    known.set(digest, verification);
    if (known.size > REMEMBERED) known.delete(known.keys().next().value!);
  };

  /** Counts a verdict and says what the set is: a Verification to hand on, or the refusal to throw. */
  const record = (digest: string, keyId: string, verdict: VerifyOutcome): Verification | AgentError => {
    if (verdict.outcome === 'verified') {
      counts.verified += 1;
      refused.delete(digest);
      const verification = { verified: true, detail: 'STS GetCallerIdentity accepted it' };
      remember(digest, verification);
      init.logger?.debug({ keyId }, 'new set verified with STS');
      return verification;
    }
    if (verdict.outcome === 'refused') {
      counts.refused += 1;
      known.delete(digest);
      refused.set(digest, init.clock.now());
      if (refused.size > REMEMBERED) refused.delete(refused.keys().next().value!);
      lastRefusal = { code: verdict.code, keyId, at: new Date(init.clock.now()).toISOString() };
      return refusal(keyId, verdict.code);
    }
    // STS gave no verdict: this generation is served on the settle rule alone, and not asked about again.
    counts.unverified += 1;
    const verification = { verified: false, detail: `not verified: ${verdict.reason}` };
    remember(digest, verification);
    init.logger?.warn({ keyId }, `new set not verified (${verdict.reason}); served on the settle rule`);
    return verification;
  };

  /**
   * auto's probe is the first check, run beside serving: the set it checks is handed on at once
   * on the settle rule (as with verification off), so an agent where STS cannot be reached is
   * ready as soon as without verification, not one check timeout later. STS's first answer
   * decides the run; a refusal there condemns that set from then on.
   */
  const probe = (sourced: SourcedCredentials): void => {
    const digest = digestOf(sourced.credentials);
    const keyId = maskKeyId(sourced.credentials.accessKeyId);
    void init
      .verify(sourced.credentials)
      .catch((error: Error): VerifyOutcome => ({ outcome: 'unverified', answered: false, reason: error.name }))
      .then((verdict) => {
        decided = true;
        if (verdict.outcome === 'unverified' && !verdict.answered) {
          active = false;
          detail = `off: auto, and ${verdict.reason} at the first check; new sets are served once settled`;
          init.logger?.warn({ verifyNewCredentials: 'auto' }, `verifyNewCredentials: ${verdict.reason}; verification is off for this run (new sets are served once settleTime has passed)`);
          return;
        }
        active = true;
        detail = 'on: auto, and STS answered the first check';
        init.logger?.info({ verifyNewCredentials: 'auto' }, 'verifyNewCredentials: STS answered; each new set is verified before it is served');
        if (record(digest, keyId, verdict) instanceof AgentError && verdict.outcome === 'refused') {
          init.logger?.warn(
            { keyId },
            `STS refused the set read with key ${keyId} (${verdict.code}) at the first check, after it had been served on the settle rule (STS had not answered yet): a torn or bad set; it is refused from now on and the next set STS accepts replaces it`,
          );
        }
      });
  };

  const resolve: CredentialSource = async () => {
    const sourced = await init.source();
    if (!decided) {
      if (!probing) {
        probing = true;
        // After this set reaches the tracker: loading the STS client takes tens of ms of the event loop.
        setImmediate(() => probe(sourced));
      }
      return withVerification(sourced, { verified: false, detail: 'not verified: STS has not answered the first check yet (auto); served on the settle rule' });
    }
    if (!active) return withVerification(sourced, { verified: false, detail: `verification ${detail}` });
    const digest = digestOf(sourced.credentials);
    const remembered = known.get(digest);
    if (remembered) return withVerification(sourced, remembered);
    const keyId = maskKeyId(sourced.credentials.accessKeyId);
    const refusedAt = refused.get(digest);
    if (refusedAt !== undefined && init.clock.now() - refusedAt < REASK_REFUSED_MS) throw refusal(keyId, lastRefusal?.code ?? 'refused');
    const outcome = record(digest, keyId, await init.verify(sourced.credentials));
    if (outcome instanceof AgentError) throw outcome;
    return withVerification(sourced, outcome);
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
