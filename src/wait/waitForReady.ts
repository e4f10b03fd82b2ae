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

export interface WaitForReadyInit {
  settings: Settings;
  clock: Clock;
  readNetwork: ReadNetwork;
  source: CredentialSource;
  onProgress: (stage: string, reason: string, elapsedMs: number) => void;
  signal?: AbortSignal;
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
  const sourced = await pollUntil({
    clock,
    deadline,
    signal: init.signal,
    maxDelayMs: 2_000,
    attempt: async () => {
      try {
        const result = await init.source();
        const expiresAt = result.credentials.expiration?.getTime();
        if (expiresAt !== undefined && expiresAt <= clock.now()) {
          lastProblem = 'the profile holds expired credentials';
          return undefined;
        }
        return result;
      } catch (error) {
        // A usage error (recursion, bad setting) will not fix itself by waiting.
        if (isAgentError(error) && error.exitCode === ExitCode.usage) throw error;
        lastProblem = error instanceof Error ? error.message : String(error);
        return undefined;
      }
    },
    onWait: (elapsed) => init.onProgress('credentials', lastProblem, elapsed),
  });
  if (!sourced) {
    throw new AgentError(`timed out after ${budget} waiting for credentials: ${lastProblem}`, {
      exitCode: ExitCode.credentialsTimeout,
      code: 'credentials-timeout',
    });
  }

  let probe = null as ProbeResult | null; // assigned inside the poll; the cast stops narrowing to null
  if (settings.probe !== 'none') {
    const url = stsEndpointUrl(settings.region, settings.stsEndpoint);
    // `probe` always holds the latest attempt: the success, or the reason for a timeout.
    await pollUntil({
      clock,
      deadline,
      signal: init.signal,
      maxDelayMs: 2_000,
      attempt: async () => {
        const remaining = Math.max(500, Math.min(5_000, deadline - clock.now()));
        probe = settings.probe === 'tcp' ? await tcpProbe(url, remaining) : await stsProbe(sourced.credentials, settings.region, settings.stsEndpoint, remaining);
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
