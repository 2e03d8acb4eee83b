import { describe, expect, it } from 'vitest';
import {
  alarmFired,
  alarmNeverFired,
  atRestChecks,
  consumerReadEverything,
  duplicatesWithinBudget,
  type FailoverObserved,
  failoverChecks,
  isTorn,
  noFailover,
  probeSawDown,
  switchesSince,
} from '#drill/checks.ts';
import type { AtRest } from '#shared/switch/at-rest.ts';

const clean: FailoverObserved = {
  failoverInvocations: 1,
  switches: 1,
  epochAfterFailover: 1,
  finalCluster: 'primary',
  reported: {
    active: { cluster: 'primary', epoch: 3 },
    failover: { status: 'completed' },
    failback: { status: 'completed' },
  },
  lost: [],
  acknowledged: 1_667,
  unseen: 0,
};

const judged = (observed: FailoverObserved) =>
  Object.fromEntries(failoverChecks.map((c) => [c.name, c.judge(observed)]));

describe('drill checks', () => {
  it('reports the failover checks in the order the drill has always printed them', () => {
    expect(failoverChecks.map((c) => c.name)).toEqual([
      'exactly one failover switch',
      'failback returned clients to the primary',
      'status function reports the end state',
      'no acknowledged record lost',
      'consumer read every acknowledged record',
    ]);
  });

  it('passes a clean failover and failback', () => {
    expect(Object.values(judged(clean)).every((v) => v.ok)).toBe(true);
    expect(judged(clean)['no acknowledged record lost']?.detail).toBe('0 lost of 1667');
  });

  it('fails a second failover even when it ended at epoch 1', () => {
    const v = judged({ ...clean, failoverInvocations: 2, switches: 2 })['exactly one failover switch'];

    expect(v).toEqual({ ok: false, detail: '2 switch(es) of 2 failover invocation(s), epoch 1 after it' });
  });

  it("passes the probe's trigger and the alarm both invoking when only one of them switched", () => {
    const v = judged({ ...clean, failoverInvocations: 2, switches: 1 })['exactly one failover switch'];

    expect(v).toEqual({ ok: true, detail: '1 switch(es) of 2 failover invocation(s), epoch 1 after it' });
  });

  it('fails a run whose duplicates exceed its budget, and passes one at the budget', () => {
    expect(duplicatesWithinBudget.judge({ duplicates: 970, budget: 250 })).toEqual({
      ok: false,
      detail: '970 consumed twice, budget 250',
    });
    expect(duplicatesWithinBudget.judge({ duplicates: 250, budget: 250 }).ok).toBe(true);
  });

  it('fails a flapping run whose probe never saw the primary down, or whose PrimaryDown fired', () => {
    expect(probeSawDown.judge({ cluster: 'primary', downDatapoints: 0 })).toEqual({
      ok: false,
      detail: '0 ClusterUp = 0 datapoint(s) for the primary',
    });
    expect(probeSawDown.judge({ cluster: 'primary', downDatapoints: 7 }).ok).toBe(true);
    const never = alarmNeverFired('PrimaryDown never in ALARM', 'PrimaryDown');
    expect(never.judge({ fired: new Set(['PrimaryDown']) })).toEqual({
      ok: false,
      detail: 'fired: PrimaryDown',
    });
    expect(never.judge({ fired: new Set() })).toEqual({ ok: true, detail: 'fired: none' });
  });

  it('fails when clients end on the secondary or the read was torn', () => {
    expect(
      judged({ ...clean, finalCluster: 'secondary' })['failback returned clients to the primary']?.ok,
    ).toBe(false);
    expect(judged({ ...clean, finalCluster: 'torn' })['failback returned clients to the primary']).toEqual({
      ok: false,
      detail: 'active: torn',
    });
  });

  it('fails when the status function still shows a failback in progress', () => {
    const v = judged({ ...clean, reported: { ...clean.reported, failback: { status: 'in-progress' } } })[
      'status function reports the end state'
    ];

    expect(v).toEqual({
      ok: false,
      detail: 'active primary epoch 3, failover completed, failback in-progress',
    });
  });

  it('names at most ten lost records', () => {
    const lost = Array.from({ length: 12 }, (_, i) => i);

    const v = judged({ ...clean, lost })['no acknowledged record lost'];

    expect(v).toEqual({ ok: false, detail: '12 lost of 1667: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9' });
  });

  it('fails a fault that must not fail over when failover was invoked or the epoch moved', () => {
    expect(noFailover.judge({ failoverInvocations: 0, finalEpoch: 0 }).ok).toBe(true);
    expect(noFailover.judge({ failoverInvocations: 1, finalEpoch: 0 }).ok).toBe(false);
    expect(noFailover.judge({ failoverInvocations: 0, finalEpoch: undefined })).toEqual({
      ok: false,
      detail: '0 failover invocations, epoch undefined',
    });
  });

  it('passes an expected alarm when any of its ids fired, listing every alarm that did', () => {
    const lag = alarmFired('lag alarm fired', ['ReplicationLagWarning', 'ReplicationLagCritical']);

    expect(lag.judge({ fired: new Set(['ReplicationLagCritical', 'SecondaryDown']) })).toEqual({
      ok: true,
      detail: 'ReplicationLagCritical, SecondaryDown',
    });
    expect(lag.judge({ fired: new Set() })).toEqual({ ok: false, detail: 'none' });
  });

  it('counts unseen records', () => {
    expect(consumerReadEverything.judge({ unseen: 3 })).toEqual({ ok: false, detail: '3 unseen' });
  });

  it('counts the epochs the parameter moved through after the fault, each once', () => {
    expect(switchesSince([0, 1], 0)).toBe(1);
    expect(switchesSince([0, 1, 1, 1], 0)).toBe(1);
    expect(switchesSince([0, 1, 2], 0)).toBe(2);
    expect(switchesSince([0], 0)).toBe(0);
  });

  it('judges at rest torn when the halves disagree, one is unreadable, or the plain parameter differs', () => {
    const agree: AtRest = {
      parameter: { state: 'ok', epoch: 1, cluster: 'secondary' },
      secret: { state: 'ok', epoch: 1, cluster: 'secondary' },
      plainMatches: true,
    };

    expect(isTorn(agree)).toBe(false);
    expect(isTorn({ ...agree, secret: { state: 'ok', epoch: 2, cluster: 'secondary' } })).toBe(true);
    expect(isTorn({ ...agree, secret: { state: 'ok', epoch: 1, cluster: 'primary' } })).toBe(true);
    expect(isTorn({ ...agree, parameter: { state: 'corrupt' } })).toBe(true);
    expect(isTorn({ ...agree, secret: { state: 'absent' } })).toBe(true);
    expect(isTorn({ ...agree, plainMatches: false })).toBe(true);
  });

  it('passes the at-rest checks only for one switch and nothing torn', () => {
    const judge = (o: { switches: number | null; tornAtRest: boolean | null }) =>
      atRestChecks.map((c) => ({ name: c.name, ...c.judge(o) }));

    expect(judge({ switches: 1, tornAtRest: false }).every((v) => v.ok)).toBe(true);
    expect(judge({ switches: 2, tornAtRest: false })[0]).toEqual({
      name: "exactly one switch in the active parameter's history",
      ok: false,
      detail: '2 epoch(s) moved through',
    });
    expect(judge({ switches: 1, tornAtRest: true })[1]).toMatchObject({ ok: false });
    expect(judge({ switches: null, tornAtRest: null }).map((v) => v.ok)).toEqual([false, false]);
  });
});
