import type { DeploymentConfig } from '#shared/config/schema.ts';
import type { DrillMirrorTiming } from './mirror-timing.ts';
import type { CheckResult, TargetResult } from './recorder.ts';
import type { Scenario } from './scenarios.ts';

export interface DrillSummary {
  ok: boolean;
  /** The setup: `active-passive` or `active-active`. */
  mode: DeploymentConfig['mode'];
  /** MirrorMaker 2's replication policy the deployment runs with: with `default`, failback copies back. */
  policy: DeploymentConfig['replicationPolicy'];
  /** MirrorMaker 2's timing on the harness: `best` (1 s intervals, exact offsets) or `production` (its defaults). */
  mirrorTiming: DrillMirrorTiming;
  scenario: Scenario;
  detectionWindowSeconds: number;
  detectionSeconds: number | null;
  switchSeconds: number | null;
  clientFollowSeconds: number | null;
  rtoSeconds: number | null;
  ackedOnPrimary: number;
  missingAfterFailover: number;
  duplicatesConsumed: number;
  /** The duplicates by the epoch under which the consumer read them (0 before failover, 1 after, 2-3 failback). */
  duplicatesByEpoch: Record<string, number>;
  failback: { ok: boolean; salvaged: number; lost: number; duplicates: number } | null;
  /**
   * The epochs the active parameter moved through during the failover (from SSM's parameter history, once
   * failover settled; a no-failover row: by the end of the run): 1 is one switch. Null when not read.
   */
  switches: number | null;
  /**
   * At the end of the run, the active parameter, its secret and the plain bootstrap parameter disagree (or one
   * is missing or unreadable): what a reader would have to wait out. Null when not read.
   */
  tornAtRest: boolean | null;
  /**
   * Records the primary acknowledged that the secondary did not hold when clients moved: the RPO. `planned`: the
   * switchover's own figure, from the fenced primary's ends and MM2's progress. A failover row (active-passive):
   * counted by the drill, the acknowledged numbers missing from the secondary's copy once failover settled (the
   * dead primary sends nothing more; failback's salvage recovers them). `writesStoppedMs`, `planned` only: how
   * long the application could not write, from its last record acknowledged by the primary to its first
   * acknowledged by the secondary.
   */
  rpoRecords?: number | null;
  writesStoppedMs?: number | null;
  /** Scenario-specific findings: which alarms fired, how many failovers, why the run failed. */
  checks: CheckResult[];
  /**
   * Speed targets, reported but not part of `ok`: a drill on a loaded machine is slower, not wrong. Whether a
   * fault lands early or late in a 10 s alarm period alone moves detection by 10 s.
   */
  targets: TargetResult[];
  epochs: number[];
  alarmsFired: string[];
  reportFile: string;
  logFile: string;
}

/**
 * The summary before anything happened: not ok, no figures. The checks and targets are the recorder's own
 * lists, so what is recorded is in the summary however the run ends.
 */
export function initialSummary(
  setup: {
    scenario: Scenario;
    mode: DeploymentConfig['mode'];
    policy: DeploymentConfig['replicationPolicy'];
    mirrorTiming: DrillMirrorTiming;
  },
  recorded: { checks: CheckResult[]; targets: TargetResult[] },
  files: { reportFile: string; logFile: string },
): DrillSummary {
  return {
    ok: false,
    scenario: setup.scenario,
    detectionWindowSeconds: 0,
    detectionSeconds: null,
    switchSeconds: null,
    clientFollowSeconds: null,
    rtoSeconds: null,
    ackedOnPrimary: 0,
    missingAfterFailover: 0,
    duplicatesConsumed: 0,
    duplicatesByEpoch: {},
    failback: null,
    switches: null,
    tornAtRest: null,
    checks: recorded.checks,
    targets: recorded.targets,
    epochs: [],
    alarmsFired: [],
    reportFile: files.reportFile,
    logFile: files.logFile,
    // After the fields summary.json has always had, so that readers of its order keep working.
    mode: setup.mode,
    policy: setup.policy,
    mirrorTiming: setup.mirrorTiming,
  };
}

/**
 * The failover's times from the fault: detection (fault to the first failover invocation, the probe's direct
 * trigger or the composite alarm), switch (that invocation to the active
 * configuration written), client follow (switch to the first record the secondary acknowledged) and the RTO
 * (fault to that record). A moment that never came leaves its figures null.
 */
export function failoverTimes(at: {
  faultMs: number;
  detectedMs: number | undefined;
  switchedMs: number | undefined;
  followedMs: number;
}): Pick<DrillSummary, 'detectionSeconds' | 'switchSeconds' | 'clientFollowSeconds' | 'rtoSeconds'> {
  const { faultMs, detectedMs, switchedMs, followedMs } = at;
  return {
    detectionSeconds: detectedMs === undefined ? null : (detectedMs - faultMs) / 1000,
    switchSeconds:
      switchedMs === undefined || detectedMs === undefined ? null : (switchedMs - detectedMs) / 1000,
    clientFollowSeconds: switchedMs === undefined ? null : Math.max(0, (followedMs - switchedMs) / 1000),
    rtoSeconds: (followedMs - faultMs) / 1000,
  };
}

/** The RTO target: the detection window plus 15 s for the switch and the clients. */
export function rtoTarget(
  summary: Pick<DrillSummary, 'rtoSeconds' | 'detectionWindowSeconds'>,
): TargetResult {
  const limit = summary.detectionWindowSeconds + 15;
  return {
    name: 'RTO within the detection window + 15 s',
    met: summary.rtoSeconds !== null && summary.rtoSeconds <= limit,
    detail: `${summary.rtoSeconds} s against ${limit} s`,
  };
}

/** The figures the report's table shows: the summary without its checks. */
export function reportFigures(summary: DrillSummary): Record<string, unknown> {
  return Object.fromEntries(Object.entries(summary).filter(([k]) => k !== 'checks'));
}
