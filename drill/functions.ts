import type { StatusView } from './checks.ts';

/** What the drill reads of a failover answer. */
export interface FailoverAnswer {
  status: string;
  epoch?: number;
  /** A refusal's reasons (`secondary-unhealthy`, `lock-held`, ...). */
  reasons?: Array<{ code: string }>;
}

/** What the drill reads of a planned switchover's answer. */
export interface PlannedAnswer extends FailoverAnswer {
  rpoRecords?: number;
  writesStoppedMs?: number;
  drain?: { waitedMs: number };
}

/** What the drill reads of a failback answer. */
export interface FailbackAnswer {
  status: string;
  currentPhase?: string;
  completedPhases?: string[];
}

/**
 * The deployment's four functions as the drill invokes them: the real handlers, in-process, each with the event
 * its trigger sends (the probe's schedule, the composite alarm's state change) or the operator's payload, and a
 * Lambda context with its function's timeout.
 */
export interface DrillFunctions {
  probe(): Promise<unknown>;
  /** As EventBridge invokes it when the composite alarm goes to ALARM, or with the probe's `event`. */
  failover(event?: unknown): Promise<FailoverAnswer>;
  /** As the operator invokes it: `mm2-failover failover --planned`. */
  plannedSwitchover(): Promise<PlannedAnswer>;
  failback(request: Record<string, unknown>): Promise<FailbackAnswer>;
  status(): Promise<StatusView>;
}
