import type { HarnessControl } from '#harness/harness-control.ts';
import type { AlarmSpec } from '#shared/alarms/specs.ts';

/**
 * The drill's scenarios, one row each: how the fault is injected and undone and what is expected, which decides
 * the checks: a failover row runs failoverChecks (checks.ts) and the RTO target; a no-failover row its alarm's
 * check if it names one, then "no failover" and "consumer read every acknowledged record". The steps that run a
 * row live in failover-scenario.ts and no-failover-scenario.ts: a new row that expects one of those outcomes is
 * all a new scenario needs. This module has no runtime imports, so the CLI can list the names cheaply.
 */

/** The harness controls a row may use to inject and undo its fault. */
type FaultControls = Pick<
  HarnessControl,
  'kill' | 'hang' | 'resume' | 'restart' | 'stopMirror' | 'startMirror'
>;

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

export type Expectation =
  /** One failover; the clients follow; failback (every phase, purge confirmed) returns them with nothing lost. */
  | { outcome: 'failover' }
  | {
      outcome: 'no-failover';
      alarm?: ExpectedAlarm;
      /**
       * How long the drill watches for a failover that must not come, counted from the fault or from the end
       * of its injection (for a fault that takes a while to inject).
       */
      watch: { from: 'fault' | 'injected'; seconds(detectionWindowSeconds: number): number };
    };

export interface ScenarioRow {
  inject(context: FaultContext): Promise<void>;
  /** For a failover row, undone after the failover and before failback; otherwise after the watch. */
  undo(context: FaultContext): Promise<void>;
  expect: Expectation;
}

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
    expect: { outcome: 'no-failover', watch: { from: 'injected', seconds: (window) => window } },
  },
} satisfies Record<string, ScenarioRow>;

export type Scenario = keyof typeof table;

/** The names, in the table's order (the order the usage text lists them). */
export const scenarios: readonly Scenario[] = Object.keys(table) as Scenario[];

export function scenarioRow(scenario: Scenario): ScenarioRow {
  return table[scenario];
}
