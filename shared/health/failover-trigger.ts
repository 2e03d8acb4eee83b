import type { DeploymentConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isFitTarget } from './detection-policy.ts';
import type { ProbeResult } from './probe-result.ts';
import type { ProbeTriggerRequest, TriggerEvidence } from './trigger-request.ts';

/**
 * The probe's direct failover trigger. The composite alarm needs CloudWatch to ingest the probe's datapoints and
 * evaluate whole periods, which in AWS adds its own delay on top of the window; the probe already holds the
 * results the alarm is computed from. So after each cycle it applies the alarm's rule to them — the primary down
 * for the whole window (`evaluationPeriods × alarmPeriodSeconds`), the secondary not down, the probe itself alive
 * (it is the one running) — and when the rule holds it asks the failover function to switch, with the cycles behind
 * it. The failover function's preflight and lock still decide, so the alarm arriving too makes one switch. The
 * rule demands every cycle of the window down (the alarm's M of N may tolerate one that is not): a flapping
 * primary never completes a streak here, and the alarm remains the backstop.
 *
 * A streak counts a down cycle as one interval of downtime, so it reaches the window on the cycle that starts
 * `window − interval` after the first down one: detection is at most the window plus one interval (the fault's
 * phase) plus that cycle's own duration, which is under the interval. Two down cycles further apart than
 * `maxGapMs` (one missed cycle plus a cycle's deadline) are not one streak: a probe that stopped for a while does
 * not count the silence as downtime. The streak is stored with the probe result, so a probe in a new container
 * continues it across the boundary between two invocations; a stored streak older than `maxGapMs` is stale and
 * ignored.
 */

export type DownStreak = NonNullable<ProbeResult['downStreak']>;

/** Asks the failover function to switch (asynchronously: the probe does not wait for the switch). */
export type AskForFailover = (request: ProbeTriggerRequest) => Promise<void>;

export interface FailoverTriggerDeps {
  /** Absent: the streak is counted and stored, nobody is asked (no failover function configured). */
  ask?: AskForFailover;
  /** The last stored probe result, read once per container to continue a streak another container began. */
  readLastProbe?: () => Promise<ProbeResult | undefined>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

type TriggerDetection = Pick<
  DeploymentConfig['detection'],
  'probeIntervalSeconds' | 'alarmPeriodSeconds' | 'evaluationPeriods' | 'cycleDeadlineMs' | 'directTrigger'
>;

/** At most this many down cycles travel as evidence: the latest, enough to cover any window the config allows. */
const MAX_EVIDENCE_CYCLES = 60;

interface Streak {
  since: number;
  lastAt: number;
  count: number;
  requested: boolean;
  cycles: TriggerEvidence['cycles'];
}

export class FailoverTrigger {
  readonly windowMs: number;
  readonly intervalMs: number;
  readonly maxGapMs: number;
  readonly #enabled: boolean;
  readonly #deps: FailoverTriggerDeps;
  #streak: Streak | undefined;
  #seeded = false;

  constructor(detection: TriggerDetection, deps: FailoverTriggerDeps) {
    this.windowMs = detection.evaluationPeriods * detection.alarmPeriodSeconds * 1000;
    this.intervalMs = detection.probeIntervalSeconds * 1000;
    this.maxGapMs = 2 * this.intervalMs + detection.cycleDeadlineMs;
    this.#enabled = detection.directTrigger;
    this.#deps = deps;
  }

  /** A cycle that failed as a whole observed nothing: the probe is not known alive, so the streak ends. */
  forget(): void {
    this.#streak = undefined;
  }

  /**
   * Counts the cycle into the streak, asks for the failover when the rule holds (once per streak), and returns
   * the streak to store with the result (undefined when the primary was not down).
   */
  async judge(result: ProbeResult): Promise<DownStreak | undefined> {
    const at = Date.parse(result.startedAt);
    const primary = result.clusters.primary;
    if (!this.#seeded) {
      this.#seeded = true;
      if (primary.verdict === 'down' && this.#streak === undefined) this.#streak = await this.#adopt(at);
    }
    if (primary.verdict !== 'down') {
      this.#streak = undefined;
      return undefined;
    }
    const previous = this.#streak;
    const streak: Streak =
      previous && at >= previous.lastAt && at - previous.lastAt <= this.maxGapMs
        ? previous
        : { since: at, lastAt: at, count: 0, requested: false, cycles: [] };
    streak.lastAt = at;
    streak.count += 1;
    streak.cycles = [
      ...streak.cycles,
      { cycle: result.cycle, startedAt: result.startedAt, reasons: primary.reasons.slice(0, 10) },
    ].slice(-MAX_EVIDENCE_CYCLES);
    this.#streak = streak;

    const downForMs = at - streak.since + this.intervalMs;
    const secondary = result.clusters.secondary;
    const holds =
      downForMs >= this.windowMs &&
      isFitTarget(secondary) &&
      // Already switched: a primary that stays down is the expected state, not a reason to ask again.
      result.active?.cluster !== 'secondary';
    if (holds && !streak.requested && this.#enabled && this.#deps.ask) {
      const evidence: TriggerEvidence = {
        downSince: new Date(streak.since).toISOString(),
        downForSeconds: downForMs / 1000,
        windowSeconds: Math.round(this.windowMs / 1000),
        cycles: streak.cycles,
        secondary: {
          verdict: secondary.verdict === 'up' ? 'up' : 'degraded',
          reasons: [...secondary.reasons],
        },
      };
      try {
        await this.#deps.ask({
          action: 'failover',
          trigger: 'probe',
          requestedBy: 'probe',
          reason: `the probe saw the primary down for ${evidence.downForSeconds.toFixed(0)} s (window ${evidence.windowSeconds} s, ${streak.count} cycles) and the secondary ${secondary.verdict}`,
          evidence,
        });
        streak.requested = true;
        this.#deps.logger.info('probe asked the failover function to switch', {
          downSince: evidence.downSince,
          downForSeconds: evidence.downForSeconds,
          cycles: streak.count,
        });
      } catch (e: unknown) {
        // The next cycle asks again; the alarm is the backstop meanwhile.
        this.#deps.logger.warn('probe could not ask the failover function to switch', {
          error: describeError(e),
        });
      }
    }
    return {
      since: new Date(streak.since).toISOString(),
      cycles: streak.count,
      ...(streak.requested ? { requested: true } : {}),
    };
  }

  /** The streak the last stored result carries, if it is recent enough to be this one's beginning. */
  async #adopt(at: number): Promise<Streak | undefined> {
    if (!this.#deps.readLastProbe) return undefined;
    let last: ProbeResult | undefined;
    try {
      last = await this.#deps.readLastProbe();
    } catch (e: unknown) {
      this.#deps.logger.warn('probe could not read the last stored result; the down streak starts afresh', {
        error: describeError(e),
      });
      return undefined;
    }
    const stored = last?.downStreak;
    if (!last || !stored) return undefined;
    const lastAt = Date.parse(last.startedAt);
    if (!(at >= lastAt && at - lastAt <= this.maxGapMs)) return undefined;
    return {
      since: Date.parse(stored.since),
      lastAt,
      count: stored.cycles,
      requested: stored.requested ?? false,
      cycles: [],
    };
  }
}
