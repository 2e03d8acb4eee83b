import type { Harness } from '#harness/harness.ts';
import type { ActiveRead } from '#shared/store/active-config.ts';
import type { AtRest } from '#shared/switch/at-rest.ts';
import type { Detection } from './detection.ts';
import type { DrillFunctions } from './functions.ts';
import type { DrillRecorder } from './recorder.ts';
import type { FaultContext } from './scenarios.ts';
import type { DrillSummary } from './summary.ts';
import { sleep } from './wait.ts';
import type { Workload } from './workload.ts';

/**
 * What a scenario runs on once the stage is set: the deployment provisioned, detection running, the application
 * producing and consuming in a steady state.
 */
export interface DrillStage {
  harness: Harness;
  record: DrillRecorder;
  summary: DrillSummary;
  functions: DrillFunctions;
  detection: Detection;
  workload: Workload;
  /** Active-active: the secondary's own application (the same consumer group, its numbers apart). */
  secondaryWorkload?: Workload;
  /** The active configuration, read once as a client reads it. */
  readActive(): Promise<ActiveRead>;
  /** What the active configuration's parameter, secret and plain parameter hold, read leniently. */
  atRest(): Promise<AtRest>;
  /** Every epoch the active parameter held, oldest first (SSM's parameter history). */
  activeEpochHistory(): Promise<number[]>;
}

/** What a scenario row's fault injection gets of the stage. */
export function faultContext(stage: Pick<DrillStage, 'harness' | 'record'>): FaultContext {
  return { harness: stage.harness, mark: (label, atMs) => stage.record.mark(label, atMs), sleep };
}

/** The epoch of a consistent read; undefined when absent or torn. */
export function epochOf(read: ActiveRead): number | undefined {
  return read.kind === 'consistent' ? read.config.epoch : undefined;
}
