import type { Clock } from '../clock.js';
import type { SourcedCredentials } from '../credentials.js';
import type { Logger } from '../log/createLogger.js';
import { Tracker } from './Tracker.js';
import type { AgentState, Generation, TrackerTimings, TrackerView } from './types.js';

/** One reading of a source: the credentials, or why there were none. */
export type Reading = { sourced: SourcedCredentials } | { failure: { code: string; message: string } };

export interface ClassifiedReading {
  /** The generation the reading became, expired or not; undefined after a failure. */
  observed: Generation | undefined;
  /** The servable generation: never an expired one. */
  current: Generation | undefined;
  state: AgentState;
  /** For describeTracker (the status report). */
  view: TrackerView;
}

/**
 * Judges a single reading exactly as the daemon judges each of its readings (same timings,
 * same states), for the one-shot commands: credential-process, env, exec, status and doctor.
 * The network counts as ready: these commands read the profile directly.
 */
type ClassifyInit = { clock: Clock; timings: TrackerTimings; logger?: Logger | undefined };
export function classifyReading(reading: { sourced: SourcedCredentials }, init: ClassifyInit): ClassifiedReading & { observed: Generation };
export function classifyReading(reading: Reading, init: ClassifyInit): ClassifiedReading;
export function classifyReading(reading: Reading, init: ClassifyInit): ClassifiedReading {
  const tracker = new Tracker({ clock: init.clock, timings: init.timings, logger: init.logger, networkReady: true });
  let observed: Generation | undefined;
  if ('sourced' in reading) observed = tracker.observe(reading.sourced);
  else tracker.reportFailure(reading.failure);
  return { observed, current: tracker.current(), state: tracker.state(), view: tracker };
}
