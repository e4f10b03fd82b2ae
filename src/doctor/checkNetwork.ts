import { finding, type Finding } from '../findings.js';
import { eniCriteria, evaluateEni } from '../network/evaluateEni.js';
import type { DoctorContext, DoctorDeps } from './types.js';

/**
 * What went wrong, from an SDK or network error: its name and message, then the causes under it
 * (ECONNREFUSED, a proxy's refusal). AWS error messages carry no secret; bounded anyway.
 */
export function errorCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    const text = [current.name !== 'Error' ? current.name : '', code && !current.message.includes(code) ? code : '', current.message].filter(Boolean).join(': ');
    if (text && !parts.some((p) => p.includes(current instanceof Error ? current.message : ''))) parts.push(text);
    current = current.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined);
  }
  return (parts.join(' <- ') || String(error)).replace(/\s+/g, ' ');
}

/**
 * Error text with secrets masked: any piece (6+ characters) of a known secret, and any run of
 * 40+ base64 characters (the length of a secret key). AWS error names (InvalidClientTokenId)
 * and key ids stay readable. Bounded, one line, no control characters.
 */
export function maskSecrets(text: string, known: readonly string[]): string {
  const secrets = known.filter((s) => s.length >= 6);
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/[A-Za-z0-9/+=]+/g, (run) => (run.length >= 40 || (run.length >= 6 && secrets.some((s) => s.includes(run))) ? '[masked]' : run))
    .slice(0, 400);
}

const SKEW_ERROR_MS = 5 * 60_000; // SigV4 rejects requests more than 5 minutes off
const SKEW_WARNING_MS = 60_000;

/** The ENI and default route, then (when they allow) STS identity and clock skew. */
export async function checkNetwork(deps: DoctorDeps, context: DoctorContext): Promise<Finding[]> {
  const { settings } = deps;
  let verdict;
  try {
    verdict = evaluateEni(await deps.readNetwork(), eniCriteria(settings));
  } catch (error) {
    verdict = { ready: false, reason: `cannot read the interfaces (${(error as Error).message})` };
  }
  if (!verdict.ready || !verdict.eni) {
    return [
      finding('error', 'no-eni', 'eni', verdict.reason, 'the customer VPC interface is not up yet: wait for it (`appstream-creds wait`), or check the fleet\'s VPC subnet and security groups; set `interface` if the ENI has an unusual name'),
    ];
  }
  const findings: Finding[] = [finding('info', 'ok', 'eni', `${verdict.eni.name} ${verdict.eni.address} carries the default route`, 'none needed')];

  const date = await deps.stsDate().catch(() => undefined);
  if (!date) {
    findings.push(finding('warning', 'sts-unreachable', 'clock', 'could not reach the STS endpoint to compare clocks', 'allow HTTPS to STS (a VPC endpoint for sts, or a NAT gateway), or set AWS_ENDPOINT_URL_STS'));
  } else {
    const skew = deps.clock.now() - date.getTime();
    const seconds = Math.round(skew / 1000);
    if (Math.abs(skew) > SKEW_ERROR_MS) findings.push(finding('error', 'clock-skew', 'clock', `local clock is ${seconds}s off STS's`, 'sync the clock (Windows Time / chrony); AWS rejects signatures more than 5 minutes off'));
    else if (Math.abs(skew) > SKEW_WARNING_MS) findings.push(finding('warning', 'clock-skew', 'clock', `local clock is ${seconds}s off STS's`, 'sync the clock (Windows Time / chrony) before it drifts past 5 minutes'));
    else findings.push(finding('info', 'ok', 'clock', `within ${Math.abs(seconds)}s of STS`, 'none needed'));
  }

  if (context.credentials) {
    try {
      const identity = await deps.identity(context.credentials);
      findings.push(finding('info', 'ok', 'sts', `GetCallerIdentity: ${identity.arn ?? 'unknown identity'}`, 'none needed'));
    } catch (error) {
      const known = [context.credentials.secretAccessKey, context.credentials.sessionToken ?? ''];
      findings.push(finding('error', 'sts-failed', 'sts', `GetCallerIdentity failed: ${maskSecrets(errorCause(error), known)}`, 'check the network path to STS (and a proxy: HTTPS_PROXY/NO_PROXY) and that the fleet role still exists and trusts appstream.amazonaws.com'));
    }
  }
  return findings;
}
