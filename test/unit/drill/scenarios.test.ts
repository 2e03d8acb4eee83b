import { describe, expect, it } from 'vitest';
import { drillConfig } from '#drill/drill-config.ts';
import { duplicatesBudget, type Scenario, scenarioRow, scenarios } from '#drill/scenarios.ts';
import { alarmSpecs } from '#shared/alarms/specs.ts';
import { harnessInfo, recordingFaults } from './fakes.ts';

async function injectAndUndo(scenario: Scenario): Promise<{ injected: string[]; undone: string[] }> {
  const row = scenarioRow(scenario);
  const { context, log } = recordingFaults();
  await row.inject(context);
  const injected = log.splice(0);
  await row.undo(context);
  return { injected, undone: log };
}

describe('drill scenario table', () => {
  it('has a row for each scenario the CLI offers, kill first', () => {
    expect(scenarios).toEqual([
      'kill',
      'hang',
      'mm2-down',
      'secondary-down',
      'flapping',
      'aws-degraded',
      'broker-down',
      'planned',
    ]);
    for (const s of scenarios) expect(scenarioRow(s).expect.outcome).toMatch(/^((no-)?failover|planned)$/);
    expect(scenarioRow('planned').expect.outcome).toBe('planned');
  });

  it('states a duplicates budget for every row, tighter where nothing switches', () => {
    const budgets = Object.fromEntries(scenarios.map((s) => [s, scenarioRow(s).duplicatesBudget]));

    expect(budgets).toEqual({
      kill: 250,
      hang: 250,
      'mm2-down': 50,
      'secondary-down': 50,
      flapping: 50,
      'aws-degraded': 250,
      'broker-down': 50,
      planned: 400,
    });
  });

  it("holds kill to a budget reasoned from MM2's production timing only under that timing, other rows to their own", () => {
    const kill = scenarioRow('kill');

    expect(duplicatesBudget(kill, 'best')).toBe(250);
    expect(duplicatesBudget(kill, 'production')).toBe(7_850);
    expect(duplicatesBudget(scenarioRow('hang'), 'production')).toBe(250);
  });

  it('makes flapping prove the probe saw the hangs and PrimaryDown stayed OK', () => {
    expect(scenarioRow('flapping').expect).toMatchObject({
      seenDown: { cluster: 'primary', alarmNeverFired: 'PrimaryDown' },
    });
  });

  it('expects a failover exactly when the primary dies or hangs for good, AWS degraded or not', () => {
    const failingOver = scenarios.filter((s) => scenarioRow(s).expect.outcome === 'failover');

    expect(failingOver).toEqual(['kill', 'hang', 'aws-degraded']);
  });

  it('degrades AWS for the functions and the application, kills the primary, then heals both', async () => {
    const row = scenarioRow('aws-degraded');
    const { injected, undone } = await injectAndUndo('aws-degraded');

    expect(row.stage).toEqual({ awsThroughFaultProxy: true });
    expect(row.expect).toEqual({ outcome: 'failover', checkAtRest: true });
    expect(injected).toEqual([
      `awsFaults.set ${JSON.stringify([
        { kind: 'latency', ms: 500, probability: 0.3, seed: 11 },
        { kind: 'throttle', probability: 0.15, seed: 12 },
        { kind: 'server-error', status: 503, probability: 0.1, seed: 13 },
      ])}`,
      'mark: AWS degraded: 30% of calls +0.5 s, 15% throttled, 10% answered 503 (SDK retries included)',
      'sleep 5000',
      'kill primary',
      'mark: primary killed (SIGKILL) while AWS is degraded',
    ]);
    expect(undone).toEqual([
      'awsFaults.clear',
      'mark: AWS healthy again (7 of 50 calls were faulted)',
      'restart primary',
      'mark: primary restarted with its data',
    ]);
  });

  it("kills one of the primary's three brokers, watches it degrade with leaders moved, and restarts that broker", async () => {
    const row = scenarioRow('broker-down');
    const { injected, undone } = await injectAndUndo('broker-down');

    expect(row.stage).toEqual({ brokers: 3 });
    expect(injected).toEqual([
      'kill primary 1',
      "mark: one of the primary's three brokers killed (SIGKILL, broker 1)",
    ]);
    expect(undone).toEqual(['restart primary 1', 'mark: broker 1 of the primary restarted with its data']);
    expect(row.expect).toMatchObject({
      outcome: 'no-failover',
      observe: [
        { kind: 'degraded-not-down', cluster: 'primary' },
        { kind: 'leaders-moved', cluster: 'primary', broker: 1 },
      ],
    });
  });

  it('kills the primary and restarts it with its data', async () => {
    const { injected, undone } = await injectAndUndo('kill');

    expect(injected).toEqual(['kill primary', 'mark: primary killed (SIGKILL)']);
    expect(undone).toEqual(['restart primary', 'mark: primary restarted with its data']);
  });

  it('hangs the primary and resumes it', async () => {
    const { injected, undone } = await injectAndUndo('hang');

    expect(injected).toEqual([
      'hang primary',
      'mark: primary hung (SIGSTOP: TCP accepted, nothing answered)',
    ]);
    expect(undone).toEqual(['resume primary', 'mark: primary resumed (SIGCONT)']);
  });

  it('stops MirrorMaker 2 and starts it again', async () => {
    const { injected, undone } = await injectAndUndo('mm2-down');

    expect(injected).toEqual(['stopMirror', 'mark: MirrorMaker 2 stopped']);
    expect(undone).toEqual(['startMirror', 'mark: MirrorMaker 2 started again']);
  });

  it('kills the secondary and restarts it', async () => {
    const { injected, undone } = await injectAndUndo('secondary-down');

    expect(injected).toEqual(['kill secondary', 'mark: secondary killed (SIGKILL)']);
    expect(undone).toEqual(['restart secondary', 'mark: secondary restarted']);
  });

  it('flaps the primary four times, each hang shorter than an alarm period, and leaves it running', async () => {
    const { injected, undone } = await injectAndUndo('flapping');

    const flap = (i: number) => [
      'hang primary',
      `mark: primary hung (flap ${i}/4)`,
      'sleep 5000',
      'resume primary',
      `mark: primary resumed (flap ${i}/4)`,
      'sleep 7000',
    ];
    expect(injected).toEqual([1, 2, 3, 4].flatMap(flap));
    expect(undone).toEqual([]);
  });

  it('stamps a primary fault at the moment it was injected, not when the harness answered', async () => {
    const { context } = recordingFaults();
    const stamps: Array<number | undefined> = [];
    const before = Date.now();

    await scenarioRow('kill').inject({ ...context, mark: (_label, atMs) => stamps.push(atMs) });

    expect(stamps).toHaveLength(1);
    expect(stamps[0]).toBeGreaterThanOrEqual(before);
    expect(stamps[0]).toBeLessThanOrEqual(Date.now());
  });

  it('names only alarms the stack deploys, and watches past the detection window', () => {
    const config = drillConfig(harnessInfo());
    const deployed = new Set<string>(alarmSpecs(config).map((s) => s.id));
    const window = config.detection.alarmPeriodSeconds * config.detection.evaluationPeriods;

    for (const s of scenarios) {
      const expectation = scenarioRow(s).expect;
      if (expectation.outcome !== 'no-failover') continue;
      for (const id of expectation.alarm?.anyOf ?? []) expect(deployed, `${s}: ${id}`).toContain(id);
      expect(expectation.watch.seconds(window), s).toBeGreaterThanOrEqual(window);
    }
  });

  it('waits for the alarm each alerting row expects', () => {
    const alarms = Object.fromEntries(
      scenarios.map((s) => {
        const e = scenarioRow(s).expect;
        return [s, e.outcome === 'no-failover' ? e.alarm?.anyOf : undefined];
      }),
    );

    expect(alarms).toEqual({
      kill: undefined,
      hang: undefined,
      'mm2-down': ['ReplicationLagWarning', 'ReplicationLagCritical'],
      'secondary-down': ['SecondaryDown'],
      flapping: undefined,
      'aws-degraded': undefined,
      'broker-down': undefined,
    });
  });
});
