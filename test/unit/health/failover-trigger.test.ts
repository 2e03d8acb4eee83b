import { describe, expect, it, vi } from 'vitest';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { FailoverTrigger, type FailoverTriggerDeps } from '#shared/health/failover-trigger.ts';
import type { ProbeResult, Verdict } from '#shared/health/probe-result.ts';
import type { ProbeTriggerRequest } from '#shared/health/trigger-request.ts';
import { sampleResult } from './fixtures.ts';

// The drill's detection: a 20 s window (2 × 10 s periods) probed every 2 s.
const detection = deploymentConfigSchema.shape.detection.parse({
  probeIntervalSeconds: 2,
  alarmPeriodSeconds: 10,
  evaluationPeriods: 2,
  datapointsToAlarm: 2,
  cycleDeadlineMs: 1_900,
});
const T0 = Date.parse('2026-11-21T12:00:00.000Z');

function cycle(
  n: number,
  primary: Verdict,
  options: { at?: number; secondary?: Verdict; active?: ProbeResult['active'] } = {},
): ProbeResult {
  const r = sampleResult();
  r.cycle = n;
  r.startedAt = new Date(options.at ?? T0 + n * 2_000).toISOString();
  r.clusters.primary.verdict = primary;
  r.clusters.primary.reasons = primary === 'down' ? ['connect-refused'] : [];
  r.clusters.secondary.verdict = options.secondary ?? 'up';
  if (options.active) r.active = options.active;
  return r;
}

function trigger(overrides: Partial<FailoverTriggerDeps> = {}, enabled = true) {
  const asks: ProbeTriggerRequest[] = [];
  const deps: FailoverTriggerDeps = {
    ask: async (request) => {
      asks.push(request);
    },
    logger: { info: vi.fn(), warn: vi.fn() },
    ...overrides,
  };
  return { asks, trigger: new FailoverTrigger({ ...detection, directTrigger: enabled }, deps) };
}

/** Feeds the verdicts as consecutive cycles, one every 2 s; returns the cycle numbers on which it asked. */
async function feed(t: FailoverTrigger, asks: unknown[], verdicts: Verdict[], first = 0): Promise<number[]> {
  const askedOn: number[] = [];
  for (const [i, v] of verdicts.entries()) {
    const before = asks.length;
    await t.judge(cycle(first + i, v));
    if (asks.length > before) askedOn.push(first + i);
  }
  return askedOn;
}

describe('FailoverTrigger', () => {
  it('takes the window from the alarm (evaluationPeriods × alarmPeriodSeconds)', () => {
    const { trigger: t } = trigger();
    expect([t.windowMs, t.intervalMs, t.maxGapMs]).toEqual([20_000, 2_000, 5_900]);
  });

  it('asks once, on the cycle that completes the window, with the down cycles as evidence', async () => {
    const { trigger: t, asks } = trigger();

    // Cycle 0 up; the fault lands before cycle 1; 10 down cycles (1..10) cover 20 s.
    const askedOn = await feed(t, asks, ['up', ...Array<Verdict>(14).fill('down')]);

    expect(askedOn).toEqual([10]);
    const [ask] = asks;
    expect(ask).toMatchObject({ action: 'failover', trigger: 'probe', requestedBy: 'probe' });
    expect(ask?.evidence).toMatchObject({
      downSince: new Date(T0 + 2_000).toISOString(),
      downForSeconds: 20,
      windowSeconds: 20,
      secondary: { verdict: 'up', reasons: [] },
    });
    expect(ask?.evidence.cycles.map((c) => c.cycle)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ask?.evidence.cycles[0]?.reasons).toEqual(['connect-refused']);
  });

  it('never asks for a flapping primary: every answer in between starts the window again', async () => {
    const { trigger: t, asks } = trigger();
    const flapping: Verdict[] = [];
    for (let i = 0; i < 6; i++) flapping.push(...Array<Verdict>(9).fill('down'), 'up');

    expect(await feed(t, asks, flapping)).toEqual([]);
    expect(await feed(t, asks, [...Array<Verdict>(9).fill('down'), 'degraded'], 60)).toEqual([]);
  });

  it('does not ask while the secondary is down, and asks once it is fit again', async () => {
    const { trigger: t, asks } = trigger();
    for (let n = 0; n < 12; n++) await t.judge(cycle(n, 'down', { secondary: 'down' }));
    expect(asks).toEqual([]);

    await t.judge(cycle(12, 'down', { secondary: 'degraded' }));
    expect(asks).toHaveLength(1);
    expect(asks[0]?.evidence.secondary.verdict).toBe('degraded');
  });

  it('does not ask when the secondary is already the active cluster', async () => {
    const { trigger: t, asks } = trigger();
    for (let n = 0; n < 12; n++)
      await t.judge(cycle(n, 'down', { active: { state: 'ok', epoch: 1, cluster: 'secondary' } }));
    expect(asks).toEqual([]);
  });

  it('counts and returns the streak but asks nobody when the direct trigger is off', async () => {
    const { trigger: t, asks } = trigger({}, false);
    let streak: Awaited<ReturnType<FailoverTrigger['judge']>>;
    for (let n = 0; n < 12; n++) streak = await t.judge(cycle(n, 'down'));

    expect(asks).toEqual([]);
    expect(streak).toEqual({ since: new Date(T0).toISOString(), cycles: 12 });
  });

  it('does not bridge a gap longer than a missed cycle: the silence is not counted as downtime', async () => {
    const { trigger: t, asks } = trigger();
    for (let n = 0; n < 5; n++) await t.judge(cycle(n, 'down'));
    // The probe was silent for 6 s (over 5.9 s) before the next cycle.
    const streak = await t.judge(cycle(5, 'down', { at: T0 + 4 * 2_000 + 6_000 }));

    expect(streak).toMatchObject({ cycles: 1, since: new Date(T0 + 14_000).toISOString() });
    expect(asks).toEqual([]);
  });

  it('asks again on the next cycle when the ask failed', async () => {
    let fail = true;
    const asks: ProbeTriggerRequest[] = [];
    const { trigger: t } = trigger({
      ask: async (r) => {
        if (fail) throw new Error('Lambda throttled');
        asks.push(r);
      },
    });
    for (let n = 0; n < 10; n++) await t.judge(cycle(n, 'down'));
    expect(asks).toEqual([]);
    fail = false;

    const streak = await t.judge(cycle(10, 'down'));

    expect(asks).toHaveLength(1);
    expect(streak).toMatchObject({ cycles: 11, requested: true });
  });

  it('ends the streak on a failed cycle: a probe that observed nothing is not known alive', async () => {
    const { trigger: t, asks } = trigger();
    for (let n = 0; n < 9; n++) await t.judge(cycle(n, 'down'));
    t.forget();

    expect(await feed(t, asks, ['down', 'down'], 10)).toEqual([]);
  });

  describe('across invocations and containers', () => {
    function stored(startedAt: number, downStreak: ProbeResult['downStreak']): ProbeResult {
      const r = cycle(0, 'down', { at: startedAt });
      if (downStreak) r.downStreak = downStreak;
      return r;
    }

    it('keeps the streak of the same container across the boundary between two invocations', async () => {
      const { trigger: t, asks } = trigger();
      await feed(t, asks, Array<Verdict>(8).fill('down'));
      // The next invocation's first cycle starts 4 s after the last one (within one missed cycle).
      await t.judge(cycle(8, 'down', { at: T0 + 7 * 2_000 + 4_000 }));

      expect(asks).toHaveLength(1);
      expect(asks[0]?.evidence.downForSeconds).toBe(20);
    });

    it('continues a streak another container stored when its last cycle is recent', async () => {
      const last = stored(T0 + 16_000, { since: new Date(T0).toISOString(), cycles: 9 });
      const { trigger: t, asks } = trigger({ readLastProbe: async () => last });

      const streak = await t.judge(cycle(9, 'down', { at: T0 + 18_000 }));

      expect(asks).toHaveLength(1);
      expect(asks[0]?.evidence).toMatchObject({ downSince: new Date(T0).toISOString(), downForSeconds: 20 });
      // Only what this container saw travels as its own cycles.
      expect(asks[0]?.evidence.cycles.map((c) => c.cycle)).toEqual([9]);
      expect(streak).toEqual({ since: new Date(T0).toISOString(), cycles: 10, requested: true });
    });

    it('does not trigger on stale evidence: a restarted probe starts its own window', async () => {
      // The stored streak covered the window, but its last cycle is a minute old.
      const last = stored(T0, { since: new Date(T0 - 60_000).toISOString(), cycles: 30 });
      const { trigger: t, asks } = trigger({ readLastProbe: async () => last });

      const askedOn = await feed(t, asks, Array<Verdict>(12).fill('down'), 30);

      expect(askedOn).toEqual([39]);
    });

    it('does not ask again for a streak another container already asked for', async () => {
      const last = stored(T0 + 18_000, { since: new Date(T0).toISOString(), cycles: 10, requested: true });
      const { trigger: t, asks } = trigger({ readLastProbe: async () => last });

      expect(await feed(t, asks, ['down', 'down'], 10)).toEqual([]);
    });

    it('starts afresh when the stored result cannot be read', async () => {
      const { trigger: t, asks } = trigger({
        readLastProbe: async () => {
          throw new Error('SSM throttled');
        },
      });

      expect(await t.judge(cycle(5, 'down'))).toEqual({
        since: new Date(T0 + 10_000).toISOString(),
        cycles: 1,
      });
      expect(asks).toEqual([]);
    });
  });
});
