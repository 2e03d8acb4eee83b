import { type Clock, systemClock } from '../clock.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { type ProbeCycleDeps, runProbeCycle } from './probe-cycle.ts';
import type { ProbeResult, Verdict } from './probe-result.ts';

/**
 * The probe function's body: cycles every `detection.probeIntervalSeconds` (measured start to start) for as
 * long as the invocation has time. A cycle starts only if a whole cycle deadline, plus `marginMs`, still fits in
 * the remaining time, so the invocation never runs past its Lambda timeout.
 */
export interface ProbeLoopInput {
  config: DeploymentConfig;
  /** Kept free at the end of the invocation (default 2,000 ms). */
  marginMs?: number;
  /** Stop after this many cycles (tests, the drill). */
  maxCycles?: number;
}

/** A check with its own cadence, started after a cycle and run beside the next ones (the readiness audit). */
export interface AfterCycleCheck {
  /** Starts the check when it is due and fits in `remainingMs`; the promise never rejects. */
  afterCycle(result: ProbeResult, remainingMs: number): Promise<void> | undefined;
}

export interface ProbeLoopDeps extends ProbeCycleDeps {
  /** Milliseconds the invocation has left (`context.getRemainingTimeInMillis`). */
  remainingMs: () => number;
  sleep?: Clock['sleep'];
  /** The standby readiness audit (shared/readiness/probe-readiness.ts); absent: none. */
  readiness?: AfterCycleCheck;
}

export interface ProbeRunSummary {
  cycles: number;
  /** Verdicts of every cycle of this invocation, in order. */
  verdicts: { primary: Verdict[]; secondary: Verdict[] };
  /** The last cycle's full result. */
  last?: ProbeResult;
}

export async function runProbeLoop(input: ProbeLoopInput, deps: ProbeLoopDeps): Promise<ProbeRunSummary> {
  const { config } = input;
  const clock = deps.clock ?? systemClock;
  const sleep = deps.sleep ?? systemClock.sleep;
  const margin = input.marginMs ?? 2_000;
  const cycleMs = config.detection.cycleDeadlineMs;
  const intervalMs = config.detection.probeIntervalSeconds * 1000;
  const summary: ProbeRunSummary = { cycles: 0, verdicts: { primary: [], secondary: [] } };
  // Checks run beside the cycles, so a slow audit never delays a cycle; the invocation waits for them at its end.
  const checks: Promise<void>[] = [];

  for (;;) {
    if (input.maxCycles !== undefined && summary.cycles >= input.maxCycles) break;
    if (deps.remainingMs() - margin < cycleMs) break;
    const started = clock.now();
    const result = await runProbeCycle({ config }, deps);
    summary.cycles += 1;
    summary.last = result;
    summary.verdicts.primary.push(result.clusters.primary.verdict);
    summary.verdicts.secondary.push(result.clusters.secondary.verdict);
    const check = deps.readiness?.afterCycle(result, deps.remainingMs() - margin);
    if (check) checks.push(check);

    if (input.maxCycles !== undefined && summary.cycles >= input.maxCycles) break;
    const wait = Math.max(0, started + intervalMs - clock.now());
    // Waiting only makes sense if a whole cycle still fits after it.
    if (deps.remainingMs() - margin - wait < cycleMs) break;
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(checks);
  return summary;
}
