import { describe, expect, it } from 'vitest';
import type { ClusterRole } from '#shared/config/schema.ts';
import {
  type PreflightDeps,
  type PreflightInput,
  type ProbeOutcome,
  preflight,
  type ReplicationLag,
} from '#shared/failover/preflight.ts';
import { FakeClock, testConfig } from './fakes.ts';

const down: ProbeOutcome = { verdict: 'down', reasons: ['connection refused'] };
const up: ProbeOutcome = { verdict: 'up', reasons: [] };
const goodLag: ReplicationLag = {
  measuredAt: '2026-11-21T11:59:50.000Z',
  backlogRecords: 5,
  lagSeconds: 2,
  topics: [],
};

function setup(
  opts: {
    primary?: ProbeOutcome[];
    secondary?: ProbeOutcome | Error;
    lag?: ReplicationLag | undefined | Error;
    trigger?: 'alarm' | 'manual';
    force?: boolean;
    lastSwitchAt?: string;
    config?: Parameters<typeof testConfig>[0];
  } = {},
) {
  const clock = new FakeClock();
  const calls: ClusterRole[] = [];
  const primary = [...(opts.primary ?? [down, down, down])];
  const deps: PreflightDeps = {
    reprobe: async (role) => {
      calls.push(role);
      if (role === 'secondary') {
        if (opts.secondary instanceof Error) throw opts.secondary;
        return opts.secondary ?? up;
      }
      return primary.shift() ?? down;
    },
    readLag: async () => {
      if (opts.lag instanceof Error) throw opts.lag;
      return 'lag' in opts ? opts.lag : goodLag;
    },
    sleep: clock.sleep,
  };
  const input: PreflightInput = {
    request: { trigger: opts.trigger ?? 'alarm', force: opts.force ?? false },
    config: testConfig(opts.config),
    now: clock.now(),
    ...(opts.lastSwitchAt ? { lastSwitchAt: opts.lastSwitchAt } : {}),
  };
  return { deps, input, calls, clock };
}

const codes = (r: { refusals: Array<{ code: string }> }) => r.refusals.map((f) => f.code);

describe('preflight', () => {
  it('passes when every confirmation probe says down, the secondary is up and the lag is in budget', async () => {
    const { deps, input, calls, clock } = setup();

    const report = await preflight(input, deps);

    expect(report.ok).toBe(true);
    expect(report.refusals).toEqual([]);
    expect(report.primaryProbes).toHaveLength(3);
    expect(calls.filter((c) => c === 'primary')).toHaveLength(3);
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it('refuses with primary-not-down when the first re-probe finds the primary up', async () => {
    const { deps, input } = setup({ primary: [up] });

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['primary-not-down']);
    expect(report.primaryProbes).toHaveLength(1);
  });

  it('refuses with primary-not-down when a later re-probe finds it degraded (a flapping primary)', async () => {
    const { deps, input } = setup({ primary: [down, { verdict: 'degraded', reasons: ['1 of 3 brokers'] }] });

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['primary-not-down']);
    expect(report.refusals[0]?.message).toContain("re-probe 2 of 3 says 'degraded' (1 of 3 brokers)");
  });

  it('does not count a probe that throws as a confirmation of down', async () => {
    const { deps, input } = setup();
    deps.reprobe = async (role) => {
      if (role === 'primary') throw new Error('bug in the probe');
      return up;
    };

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['primary-not-down']);
  });

  it('refuses with secondary-unhealthy when the secondary is down', async () => {
    const { deps, input } = setup({ secondary: { verdict: 'down', reasons: ['timeout'] } });

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['secondary-unhealthy']);
    expect(report.refusals[0]?.message).toBe('the secondary is down (timeout)');
  });

  it('refuses with secondary-unhealthy when the secondary probe itself fails', async () => {
    const { deps, input } = setup({ secondary: new Error('no route') });

    expect(codes(await preflight(input, deps))).toEqual(['secondary-unhealthy']);
  });

  it('only warns about a degraded secondary', async () => {
    const { deps, input } = setup({ secondary: { verdict: 'degraded', reasons: ['2 of 3 brokers'] } });

    const report = await preflight(input, deps);

    expect(report.ok).toBe(true);
    expect(report.warnings.map((w) => w.code)).toEqual(['secondary-degraded']);
  });

  it('only warns about a down secondary when the config does not require a healthy one', async () => {
    const { deps, input } = setup({
      secondary: { verdict: 'down', reasons: [] },
      config: { safety: { requireHealthySecondary: false } },
    });

    const report = await preflight(input, deps);

    expect(report.ok).toBe(true);
    expect(report.warnings.map((w) => w.code)).toEqual(['secondary-unhealthy']);
  });

  it('refuses with lag-records when the last backlog exceeds maxLagRecords', async () => {
    const { deps, input } = setup({ lag: { ...goodLag, backlogRecords: 10_001 } });

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['lag-records']);
    expect(report.refusals[0]?.message).toContain('10001 records');
  });

  it('refuses with lag-seconds when the last lag exceeds maxLagSeconds', async () => {
    const { deps, input } = setup({ lag: { ...goodLag, lagSeconds: 61 } });

    expect(codes(await preflight(input, deps))).toEqual(['lag-seconds']);
  });

  it('refuses with lag-unknown when no lag was ever measured', async () => {
    const { deps, input } = setup({ lag: undefined });

    expect(codes(await preflight(input, deps))).toEqual(['lag-unknown']);
  });

  it('refuses with lag-unknown when only the backlog was measured, naming the missing figure', async () => {
    const { deps, input } = setup({ lag: { measuredAt: goodLag.measuredAt, backlogRecords: 3, topics: [] } });

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['lag-unknown']);
    expect(report.refusals[0]?.message).toContain('replication lag (seconds) unknown');
  });

  it('refuses with lag-unknown and warns when the measurement cannot be read', async () => {
    const { deps, input } = setup({ lag: new Error('SSM throttled') });

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['lag-unknown']);
    expect(report.warnings.map((w) => w.code)).toEqual(['lag-read-failed']);
  });

  it('refuses an automatic failover with cooldown within cooldownMinutes of the last switch', async () => {
    const { deps, input } = setup({ lastSwitchAt: '2026-11-21T11:45:00.000Z' });

    const report = await preflight(input, deps);

    expect(codes(report)).toEqual(['cooldown']);
    expect(report.refusals[0]?.message).toContain('900 s ago, within the 30 min cooldown');
  });

  it('lets an automatic failover through once the cooldown has passed', async () => {
    const { deps, input } = setup({ lastSwitchAt: '2026-11-21T11:29:59.000Z' });

    expect((await preflight(input, deps)).ok).toBe(true);
  });

  it('applies no cooldown to a manual failover', async () => {
    const { deps, input } = setup({ trigger: 'manual', lastSwitchAt: '2026-11-21T11:59:00.000Z' });

    expect((await preflight(input, deps)).ok).toBe(true);
  });

  it('lists every reason at once when several checks fail', async () => {
    const { deps, input } = setup({
      primary: [up],
      secondary: { verdict: 'down', reasons: [] },
      lag: { ...goodLag, backlogRecords: 50_000, lagSeconds: 600 },
      lastSwitchAt: '2026-11-21T11:59:00.000Z',
    });

    expect(codes(await preflight(input, deps))).toEqual([
      'cooldown',
      'primary-not-down',
      'secondary-unhealthy',
      'lag-seconds',
      'lag-records',
    ]);
  });

  it('skips the confirmation, the lag budget and the healthy-secondary rule when forced by hand', async () => {
    const { deps, input, calls } = setup({
      trigger: 'manual',
      force: true,
      primary: [up],
      secondary: { verdict: 'down', reasons: [] },
      lag: { ...goodLag, backlogRecords: 50_000 },
    });

    const report = await preflight(input, deps);

    expect(report.ok).toBe(true);
    expect(calls).toEqual(['secondary']);
    expect(report.warnings.map((w) => w.code)).toEqual(['forced', 'secondary-unhealthy', 'lag-records']);
  });

  it('ignores force on an alarm trigger', async () => {
    const { deps, input } = setup({ trigger: 'alarm', force: true, primary: [up] });

    expect(codes(await preflight(input, deps))).toEqual(['primary-not-down']);
  });
});

describe('preflight: a probe trigger whose evidence is fresh', () => {
  // testConfig: confirmProbes 3, probes every 10 s with a 7 s cycle deadline, so the evidence is fresh for 17 s.
  const now = Date.parse('2026-11-21T12:00:00.000Z');
  const cycle = (n: number, secondsAgo: number) => ({
    cycle: n,
    startedAt: new Date(now - secondsAgo * 1000).toISOString(),
    reasons: ['request timed out'],
  });
  const evidenceOf = (cycles: ReturnType<typeof cycle>[]) => ({
    downSince: cycles[0]?.startedAt ?? new Date(now).toISOString(),
    downForSeconds: 30,
    windowSeconds: 20,
    cycles,
    secondary: { verdict: 'up' as const, reasons: [] },
  });
  const probeSetup = (cycles: ReturnType<typeof cycle>[]) => {
    const s = setup({ primary: [up, up, up] });
    s.input.request = { trigger: 'probe', force: false, evidence: evidenceOf(cycles) };
    return s;
  };

  it('takes its last down cycles as the confirmation and does not re-probe the primary', async () => {
    const { deps, input, calls, clock } = probeSetup([cycle(7, 25), cycle(8, 15), cycle(9, 5)]);

    const report = await preflight(input, deps);

    expect(report.ok).toBe(true);
    expect(report.confirmedBy).toBe('probe-evidence');
    expect(report.primaryProbes.map((p) => p.verdict)).toEqual(['down', 'down', 'down']);
    expect(report.primaryProbes[2]?.reasons[0]).toBe(`probe cycle 9 at ${cycle(9, 5).startedAt}`);
    expect(calls).toEqual(['secondary']);
    expect(clock.sleeps).toEqual([]);
  });

  it('re-probes when the newest cycle is older than one interval plus one cycle deadline', async () => {
    const { deps, input, calls } = probeSetup([cycle(7, 38), cycle(8, 28), cycle(9, 18)]);

    const report = await preflight(input, deps);

    expect(report.confirmedBy).toBe('reprobe');
    expect(calls.filter((c) => c === 'primary')).toHaveLength(1);
    expect(codes(report)).toEqual(['primary-not-down']);
  });

  it('re-probes when the evidence holds fewer down cycles than confirmProbes', async () => {
    const { deps, input, calls } = probeSetup([cycle(8, 15), cycle(9, 5)]);

    const report = await preflight(input, deps);

    expect(report.confirmedBy).toBe('reprobe');
    expect(calls).toContain('primary');
    expect(report.ok).toBe(false);
  });

  it('re-probes when the last cycles are not consecutive (a cycle in between is missing)', async () => {
    const { deps, input, calls } = probeSetup([cycle(6, 25), cycle(8, 15), cycle(9, 5)]);

    const report = await preflight(input, deps);

    expect(report.confirmedBy).toBe('reprobe');
    expect(calls).toContain('primary');
  });

  it('re-probes when the evidence is dated in the future beyond a second of clock skew', async () => {
    const { deps, input, calls } = probeSetup([cycle(7, 20), cycle(8, 10), cycle(9, -5)]);

    const report = await preflight(input, deps);

    expect(report.confirmedBy).toBe('reprobe');
    expect(calls).toContain('primary');
  });
});
