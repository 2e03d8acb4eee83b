import type { HarnessControl } from '#harness/harness-control.ts';
import type { AlarmSpec } from '#shared/alarms/specs.ts';
import type { DrillMirrorTiming } from './mirror-timing.ts';

/**
 * The drill's scenarios, one row each: how the stage is set (optional), how the fault is injected and undone and
 * what is expected, which decides the checks: a failover row runs failoverChecks (checks.ts) and the RTO target,
 * plus the at-rest checks when it asks for them; a no-failover row its alarm's check if it names one, its
 * observations' checks, then "no failover" and "consumer read every acknowledged record". The steps that run a
 * row live in failover-scenario.ts and no-failover-scenario.ts: a new row that expects one of those outcomes is
 * all a new scenario needs. This module has no runtime imports, so the CLI can list the names cheaply.
 */

/** The harness controls a row may use to inject and undo its fault. */
type FaultControls = Pick<
  HarnessControl,
  'kill' | 'hang' | 'resume' | 'restart' | 'stopMirror' | 'startMirror' | 'awsFaults'
>;

/** How a row's stage differs from the default: one broker per cluster, AWS straight to moto. */
export interface StageSetup {
  /** Brokers per cluster; with 3 the deployment expects 3 (`expectedBrokers`) and the topic has 3 replicas. */
  brokers?: 1 | 3;
  /**
   * The functions and the application reach AWS through the harness's AWS fault proxy, so that the faults the row
   * sets with `awsFaults` reach them; the drill's own reads (its checks) still go straight to moto.
   */
  awsThroughFaultProxy?: boolean;
}

export interface FaultContext {
  harness: FaultControls;
  /** A moment of the drill's timeline (a progress line), at `atMs` or now. */
  mark(label: string, atMs?: number): void;
  sleep(ms: number): Promise<void>;
}

/** An alarm the fault must raise: the alert the operator gets although nothing fails over. */
interface ExpectedAlarm {
  /** The check's name in the progress lines and the summary. */
  check: string;
  /** What is awaited, for the line printed if it does not come. */
  what: string;
  /** The check passes when any of these fired. */
  anyOf: readonly AlarmSpec['id'][];
  /** How long to wait for it once the fault is in, given the detection window. */
  waitSeconds(detectionWindowSeconds: number): number;
}

/**
 * What a no-failover row watches for while its fault holds, each judged as a check at the end of the watch (by
 * kind: no-failover-scenario.ts does the watching).
 */
export type Observation =
  /** The probe, as the status function reports it, judges the cluster `degraded` and never `down`. */
  | { kind: 'degraded-not-down'; cluster: 'primary' | 'secondary' }
  /** Every partition of the application's topic on the cluster has a leader, and none is the dead broker. */
  | { kind: 'leaders-moved'; cluster: 'primary' | 'secondary'; broker: number };

export type Expectation =
  /**
   * One failover; the clients follow; failback (every phase, purge confirmed) returns them with nothing lost.
   * `checkAtRest`: also judge that the active parameter moved through exactly one epoch during the failover (its
   * SSM history) and that nothing is torn at rest at the end (inspectAtRest).
   */
  | { outcome: 'failover'; checkAtRest?: boolean }
  /**
   * No fault: the operator's planned switchover (`failover --planned`) with both clusters up; the clients follow
   * with nothing left behind (RPO 0); failback returns them as after a failover.
   */
  | { outcome: 'planned' }
  | {
      outcome: 'no-failover';
      alarm?: ExpectedAlarm;
      observe?: readonly Observation[];
      /**
       * How long the drill watches for a failover that must not come, counted from the fault or from the end
       * of its injection (for a fault that takes a while to inject).
       */
      watch: { from: 'fault' | 'injected'; seconds(detectionWindowSeconds: number): number };
      /** The probe must have seen the cluster down (ClusterUp = 0) and this alarm must never have fired. */
      seenDown?: { cluster: 'primary' | 'secondary'; alarmNeverFired: AlarmSpec['id'] };
    };

export interface ScenarioRow {
  stage?: StageSetup;
  inject(context: FaultContext): Promise<void>;
  /** For a failover row, undone after the failover and before failback; otherwise after the watch. */
  undo(context: FaultContext): Promise<void>;
  expect: Expectation;
  /** Duplicates the consumer may read in the whole run (`duplicatesConsumed`); more fails the drill. */
  duplicatesBudget: number;
  /**
   * The same with MM2 at its production timing (`--mirror-timing production`), reasoned from its intervals. A row
   * without one was not reasoned for that timing and is held to `duplicatesBudget`.
   */
  productionTimingDuplicatesBudget?: number;
}

/** The broker of the primary that `broker-down` kills: an index into the harness's brokers (node id 2). */
const DEAD_BROKER = 1;

/** `aws-degraded`'s faults, seeded (the same draws on every run), each with its own seed so they do not move together. */
const degradedAws = [
  { kind: 'latency', ms: 500, probability: 0.3, seed: 11 },
  { kind: 'throttle', probability: 0.15, seed: 12 },
  { kind: 'server-error', status: 503, probability: 0.1, seed: 13 },
] as const;

const table = {
  kill: {
    inject: async ({ harness, mark }) => {
      const at = Date.now();
      await harness.kill('primary');
      mark('primary killed (SIGKILL)', at);
    },
    undo: async ({ harness, mark }) => {
      await harness.restart('primary');
      mark('primary restarted with its data');
    },
    expect: { outcome: 'failover' },
    // 12 in the last recorded run; a few hundred leaves room for the clients' rewinds, not for a regression.
    duplicatesBudget: 250,
    // At failover consumers resume on the secondary from the group's last checkpoint, translated at offset-sync
    // granularity: checkpoints every 60 s at the drill's ~20 records/s (1,200), the committed offset a checkpoint
    // carries lags the consumer by kafkajs' 5 s auto-commit (100), and offset.lag.max 100 rounds the translation
    // down by up to 100 per partition (3 partitions: 300): 1,600. At failback the reverse mirror (its configuration
    // copied from the forward one, so the same timing) emits its first checkpoint 60 s after it starts, later than
    // the drill's switch: the switch finds none (`skipped: no-checkpoints`) and consumers resume on the primary from
    // their pre-failover offsets in what the reverse mirror copied back: at most everything the secondary held at
    // the switch, the drill's ~300 s until then at 20 records/s: 6,000 (measured 1,199, 2,196 and 3,111 on 2026-12-03).
    // Plus the best case's 250: 7,850. A switch that waited for that first checkpoint would bring failback's share
    // down to failover's 1,600 (docs/failback.md, Limits).
    productionTimingDuplicatesBudget: 7_850,
  },
  hang: {
    inject: async ({ harness, mark }) => {
      const at = Date.now();
      await harness.hang('primary');
      mark('primary hung (SIGSTOP: TCP accepted, nothing answered)', at);
    },
    undo: async ({ harness, mark }) => {
      await harness.resume('primary');
      mark('primary resumed (SIGCONT)');
    },
    expect: { outcome: 'failover' },
    // 116 in the last recorded run (most at failover: the hung primary acknowledged late).
    duplicatesBudget: 250,
  },
  'mm2-down': {
    inject: async ({ harness, mark }) => {
      await harness.stopMirror();
      mark('MirrorMaker 2 stopped');
    },
    undo: async ({ harness, mark }) => {
      await harness.startMirror();
      mark('MirrorMaker 2 started again');
    },
    expect: {
      outcome: 'no-failover',
      alarm: {
        check: 'lag alarm fired',
        what: 'a replication lag alarm',
        anyOf: ['ReplicationLagWarning', 'ReplicationLagCritical'],
        waitSeconds: () => 120,
      },
      watch: { from: 'fault', seconds: (window) => window + 25 },
    },
    // No switch: nothing should be read twice beyond a producer retry.
    duplicatesBudget: 50,
  },
  'secondary-down': {
    inject: async ({ harness, mark }) => {
      await harness.kill('secondary');
      mark('secondary killed (SIGKILL)');
    },
    undo: async ({ harness, mark }) => {
      await harness.restart('secondary');
      mark('secondary restarted');
    },
    expect: {
      outcome: 'no-failover',
      alarm: {
        check: 'SecondaryDown alarm fired (the alert)',
        what: 'the SecondaryDown alarm',
        anyOf: ['SecondaryDown'],
        waitSeconds: (window) => window + 25,
      },
      watch: { from: 'fault', seconds: (window) => window + 25 },
    },
    duplicatesBudget: 50,
  },
  flapping: {
    // Never down for a whole 2-of-2 window of 10 s periods: no PrimaryDown, so no failover.
    inject: async ({ harness, mark, sleep }) => {
      for (let i = 1; i <= 4; i++) {
        await harness.hang('primary');
        mark(`primary hung (flap ${i}/4)`);
        await sleep(5_000);
        await harness.resume('primary');
        mark(`primary resumed (flap ${i}/4)`);
        await sleep(7_000);
      }
    },
    undo: async () => {},
    expect: {
      outcome: 'no-failover',
      watch: { from: 'injected', seconds: (window) => window },
      seenDown: { cluster: 'primary', alarmNeverFired: 'PrimaryDown' },
    },
    // Producer retries across the hangs may write a record twice.
    duplicatesBudget: 50,
  },
  'aws-degraded': {
    stage: { awsThroughFaultProxy: true },
    // AWS in a bad hour for every call the functions and the application make: some slow, some throttled, some
    // failing. Each attempt fails with a chance of about one in six, so the SDK's three attempts absorb nearly
    // all of it; a call that fails all three fails its invocation, which Lambda retries (detection.ts).
    inject: async ({ harness, mark, sleep }) => {
      await harness.awsFaults.set(degradedAws);
      mark('AWS degraded: 30% of calls +0.5 s, 15% throttled, 10% answered 503 (SDK retries included)');
      await sleep(5_000);
      const at = Date.now();
      await harness.kill('primary');
      mark('primary killed (SIGKILL) while AWS is degraded', at);
    },
    undo: async ({ harness, mark }) => {
      const { seen, faulted } = await harness.awsFaults.counts();
      await harness.awsFaults.clear();
      const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
      mark(`AWS healthy again (${total(faulted)} of ${total(seen)} calls were faulted)`);
      await harness.restart('primary');
      mark('primary restarted with its data');
    },
    expect: { outcome: 'failover', checkAtRest: true },
    duplicatesBudget: 250,
  },
  'broker-down': {
    stage: { brokers: 3 },
    inject: async ({ harness, mark }) => {
      const at = Date.now();
      await harness.kill('primary', DEAD_BROKER);
      mark(`one of the primary's three brokers killed (SIGKILL, broker ${DEAD_BROKER})`, at);
    },
    undo: async ({ harness, mark }) => {
      await harness.restart('primary', DEAD_BROKER);
      mark(`broker ${DEAD_BROKER} of the primary restarted with its data`);
    },
    expect: {
      outcome: 'no-failover',
      observe: [
        { kind: 'degraded-not-down', cluster: 'primary' },
        { kind: 'leaders-moved', cluster: 'primary', broker: DEAD_BROKER },
      ],
      // Fenced after 6 s without a heartbeat; the watch spans the detection window twice over.
      watch: { from: 'fault', seconds: (window) => window + 25 },
    },
    duplicatesBudget: 50,
  },
  planned: {
    inject: async ({ mark }) => {
      mark('no fault: both clusters up; the operator runs a planned switchover');
    },
    undo: async () => {},
    expect: { outcome: 'planned' },
    // Consumers re-read the last 10 s before the switch on the secondary (the client library's rewind margin,
    // `switchRewindMarginMs`), about 20 records a second at the drill's load, plus what the drain overlapped:
    // measured 111 and 290 on 2026-12-03.
    duplicatesBudget: 400,
  },
} satisfies Record<string, ScenarioRow>;

export type Scenario = keyof typeof table;

/** The names, in the table's order (the order the usage text lists them). */
export const scenarios: readonly Scenario[] = Object.keys(table) as Scenario[];

export function scenarioRow(scenario: Scenario): ScenarioRow {
  return table[scenario];
}

/** The duplicates a row may cost at MM2's timing: its production budget where it has one. */
export function duplicatesBudget(row: ScenarioRow, timing: DrillMirrorTiming): number {
  return timing === 'production'
    ? (row.productionTimingDuplicatesBudget ?? row.duplicatesBudget)
    : row.duplicatesBudget;
}
