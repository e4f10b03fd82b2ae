import type { Clock } from '../clock.js';
import { pollUntil } from '../pollUntil.js';
import { evaluateEni, type EniCriteria } from './evaluateEni.js';
import type { EniVerdict, ReadNetwork } from './types.js';

export interface WaitForNetworkInit {
  readNetwork: ReadNetwork;
  criteria: EniCriteria;
  clock: Clock;
  deadline: number;
  signal?: AbortSignal;
  /** Progress: called when the reason changes and periodically while waiting. */
  onProgress?: (verdict: EniVerdict, elapsedMs: number) => void;
}

/** Waits for the customer ENI; resolves with the last verdict (ready or the reason it is not). */
export async function waitForNetwork(init: WaitForNetworkInit): Promise<EniVerdict> {
  let last: EniVerdict = { ready: false, reason: 'not checked yet' };
  const ready = await pollUntil({
    clock: init.clock,
    deadline: init.deadline,
    signal: init.signal,
    // A cheap reader is polled at its fixed interval; others back off to 1 s.
    ...(init.readNetwork.pollIntervalMs ? { initialDelayMs: init.readNetwork.pollIntervalMs, maxDelayMs: init.readNetwork.pollIntervalMs } : { maxDelayMs: 1_000 }),
    attempt: async () => {
      try {
        last = evaluateEni(await init.readNetwork(), init.criteria);
      } catch (error) {
        last = { ready: false, reason: `cannot read the network interfaces (${(error as Error).message})` };
      }
      return last.ready ? last : undefined;
    },
    onWait: (elapsed) => init.onProgress?.(last, elapsed),
  });
  return ready ?? last;
}
