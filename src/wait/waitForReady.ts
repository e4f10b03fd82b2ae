import type { Clock } from '../clock.js';
import type { Settings } from '../config/settingsSchema.js';
import type { CredentialSource, SourcedCredentials } from '../credentials.js';
import { AgentError, ExitCode, isAgentError } from '../errors.js';
import { formatDuration } from '../config/duration.js';
import { pollUntil } from '../pollUntil.js';
import { waitForNetwork } from '../network/waitForNetwork.js';
import { eniCriteria } from '../network/evaluateEni.js';
import type { EniVerdict, ReadNetwork } from '../network/types.js';
import { stsEndpointUrl, stsProbe, tcpProbe, type ProbeResult } from '../network/probes.js';
import { classifyReading } from '../tracker/classifyReading.js';
import { maskKeyId } from '../credentials.js';

export interface WaitForReadyInit {
  settings: Settings;
  clock: Clock;
  readNetwork: ReadNetwork;
  source: CredentialSource;
  onProgress: (stage: string, reason: string, elapsedMs: number) => void;
  signal?: AbortSignal;
  /** The caller's environment, for the probe's HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ReadyReport {
  eni: NonNullable<EniVerdict['eni']>;
  sourced: SourcedCredentials;
  probe: ProbeResult | null;
  elapsedMs: number;
}

/**
 * The `wait` pipeline: ENI, then credentials, then the optional probe, all under one
 * deadline. A timeout names the condition that was not met, with the contract's exit code.
 */
export async function waitForReady(init: WaitForReadyInit): Promise<ReadyReport> {
  const { settings, clock } = init;
  const started = clock.now();
  const deadline = started + settings.waitTimeout;
  const budget = formatDuration(settings.waitTimeout);

  const verdict = await waitForNetwork({
    readNetwork: init.readNetwork,
    criteria: eniCriteria(settings),
    clock,
    deadline,
    signal: init.signal,
    onProgress: (v, elapsed) => init.onProgress('network', v.reason, elapsed),
  });
  if (!verdict.ready || !verdict.eni) {
    throw new AgentError(`timed out after ${budget} waiting for the network: ${verdict.reason}`, {
      exitCode: ExitCode.networkTimeout,
      code: 'network-timeout',
    });
  }

  let lastProblem = 'not read yet';
  // Set while the newest reading held only expired credentials (cleared by any other outcome).
  let expired = false;
  const sourced = await pollUntil({
    clock,
    deadline,
    signal: init.signal,
    maxDelayMs: 2_000,
    attempt: async () => {
      try {
        const result = await init.source();
        // Judged as credential-process and the agent judge them: static keys expire at the
        // file's time + validity, so an old file is expired here too, not "ready".
        const { observed, current } = classifyReading({ sourced: result }, { clock, timings: settings });
        expired = !current;
        if (!current) {
          lastProblem =
            `credentials for profile ${settings.profile} (key ${maskKeyId(observed.credentials.accessKeyId)}) expired at ${new Date(observed.expiresAt).toISOString()}` +
            (observed.expirySource === 'estimated' ? ` (estimated: file written + validity ${formatDuration(settings.validity)})` : '');
          return undefined;
        }
        return result;
      } catch (error) {
        // A usage error (recursion, bad setting) will not fix itself by waiting.
        if (isAgentError(error) && error.exitCode === ExitCode.usage) throw error;
        expired = false;
        lastProblem = error instanceof Error ? error.message : String(error);
        return undefined;
      }
    },
    onWait: (elapsed) => init.onProgress('credentials', lastProblem, elapsed),
  });
  if (!sourced) {
    // Expired credentials at the deadline are "expired or unavailable" (5), as credential-process
    // says for the same file; 4 is for credentials that never appeared.
    throw new AgentError(`timed out after ${budget} waiting for credentials: ${lastProblem}`, {
      exitCode: expired ? ExitCode.credentialsUnavailable : ExitCode.credentialsTimeout,
      code: expired ? 'expired' : 'credentials-timeout',
    });
  }

  let probe = null as ProbeResult | null; // assigned inside the poll; the cast stops narrowing to null
  if (settings.probe !== 'none') {
    const sts = { region: settings.region, endpoint: settings.stsEndpoint, env: init.env ?? {} };
    const url = stsEndpointUrl(sts);
    // `probe` always holds the latest attempt: the success, or the reason for a timeout.
    await pollUntil({
      clock,
      deadline,
      signal: init.signal,
      maxDelayMs: 2_000,
      attempt: async () => {
        const remaining = Math.max(500, Math.min(5_000, deadline - clock.now()));
        probe = settings.probe === 'tcp' ? await tcpProbe(url, remaining, init.env) : await stsProbe(sourced.credentials, sts, remaining);
        return probe.ok ? probe : undefined;
      },
      onWait: (elapsed) => init.onProgress(`the ${settings.probe} probe`, probe?.detail ?? 'not run yet', elapsed),
    });
    if (!probe?.ok) {
      throw new AgentError(`timed out after ${budget} waiting for the network: ${probe?.detail ?? 'probe did not run'}`, {
        exitCode: ExitCode.networkTimeout,
        code: 'probe-timeout',
      });
    }
  }
  return { eni: verdict.eni, sourced, probe, elapsedMs: clock.now() - started };
}
