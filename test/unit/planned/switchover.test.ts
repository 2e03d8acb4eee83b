import { describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { FailoverInvocation } from '#shared/failover/failover.ts';
import type { DrainMeasure } from '#shared/planned/backlog-drain.ts';
import { chooseSwitch } from '#shared/planned/switch-request.ts';
import { type PlannedDeps, runPlannedSwitchover } from '#shared/planned/switchover.ts';
import type { TopicOverrides, WriteFence } from '#shared/planned/write-fence.ts';
import { readActiveOnce, writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FakeJournal, failoverHarness, type Harness, PRIMARY_CREDS } from '../failover/fakes.ts';

const paths = deploymentPaths('orders-dr');
const up = { verdict: 'up' as const, reasons: [] };

function request(overrides: Partial<FailoverInvocation> = {}): FailoverInvocation {
  return {
    trigger: 'manual',
    reason: 'primary maintenance',
    requestedBy: 'alice',
    dryRun: false,
    force: false,
    planned: true,
    invocationId: 'req-1',
    ...overrides,
  };
}

/** The broker's topic configs: what is fenced now, and every raise and lower in order. */
class FakeFence implements WriteFence {
  readonly overrides = new Map<string, Record<string, string>>([
    ['orders', { 'retention.ms': '86400000' }],
    ['payments', {}],
  ]);
  readonly calls: string[] = [];
  failLower = false;
  async read(topics: readonly string[]): Promise<TopicOverrides[]> {
    return topics.map((topic) => {
      const { 'max.message.bytes': _fence, ...rest } = this.overrides.get(topic) ?? {};
      return { topic, overrides: rest };
    });
  }
  async raise(before: readonly TopicOverrides[]): Promise<void> {
    this.calls.push('raise');
    for (const t of before) this.overrides.set(t.topic, { ...t.overrides, 'max.message.bytes': '0' });
  }
  async lower(before: readonly TopicOverrides[]): Promise<void> {
    this.calls.push('lower');
    if (this.failLower) throw new Error('broker unreachable');
    for (const t of before) this.overrides.set(t.topic, { ...t.overrides });
  }
  async fenced(topics: readonly string[]): Promise<string[]> {
    return topics.filter((t) => this.overrides.get(t)?.['max.message.bytes'] === '0');
  }
  isUp(): boolean {
    return [...this.overrides.values()].some((o) => o['max.message.bytes'] === '0');
  }
}

function measure(recordsBehind: number, groupsBehind = 0, at = '2026-11-21T12:00:01.000Z'): DrainMeasure {
  return {
    measuredAt: at,
    partitions: [
      {
        topic: 'orders',
        partition: 0,
        primaryEnd: 500,
        secondaryEnd: 480 - recordsBehind,
        sync: { upstream: 400, downstream: 380 },
        copiedThrough: 500 - recordsBehind,
        behind: recordsBehind,
      },
    ],
    groups: [
      { group: 'billing', topic: 'orders', partition: 0, committed: 500, checkpointed: 500 - groupsBehind },
    ],
    recordsBehind,
    groupsBehind: groupsBehind > 0 ? 1 : 0,
  };
}

interface Planned {
  h: Harness;
  fence: FakeFence;
  journal: FakeJournal;
  /** Backlog per measurement, in order; the last one repeats. */
  backlog: number[];
  measured: number;
  /** Whether the fence was up at each measurement. */
  fencedWhenMeasured: boolean[];
  deps: PlannedDeps;
}

async function plannedHarness(): Promise<Planned> {
  const h = failoverHarness();
  h.probes.primary = [up];
  const fence = new FakeFence();
  const p: Omit<Planned, 'deps'> = {
    h,
    fence,
    journal: new FakeJournal(h.lock, h.clock),
    backlog: [40, 12, 0],
    measured: 0,
    fencedWhenMeasured: [],
  };
  const planned = p as Planned;
  planned.deps = {
    ...h.deps,
    journal: p.journal,
    fence,
    secondaryFence: new FakeFence(),
    measureDrain: async () => {
      planned.fencedWhenMeasured.push(fence.isUp());
      const behind = planned.backlog[Math.min(planned.measured++, planned.backlog.length - 1)] ?? 0;
      return measure(behind, 0, new Date(h.clock.now()).toISOString());
    },
    drainIntervalMs: 500,
  };
  await primaryActive(h, 3);
  return planned;
}

async function primaryActive(h: Harness, epoch: number) {
  const definition = JSON.parse(h.stores.params.get(paths.clusterParameter('primary'))?.value ?? '{}');
  await writeActive(
    h.stores,
    paths,
    {
      epoch,
      cluster: 'primary',
      alias: 'primary',
      bootstrapServers: definition.bootstrapServers.split(','),
      securityProtocol: 'SSL',
      credentialsSecret: paths.activeCredentialsSecret,
      topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
      switchedAt: '2026-11-20T00:00:00.000Z',
      reason: 'initial',
    },
    new Redacted(PRIMARY_CREDS),
  );
  h.stores.writes.length = 0;
}

async function activeEpochAndCluster(h: Harness) {
  const read = await readActiveOnce(h.stores, paths);
  if (read.kind !== 'consistent')
    throw new Error(`expected a consistent active configuration, got ${read.kind}`);
  return { epoch: read.config.epoch, cluster: read.config.cluster };
}

class Crash extends Error {}

describe('runPlannedSwitchover', () => {
  it('fences the primary, waits for the backlog to drain, switches with RPO 0 and lifts the fence', async () => {
    const p = await plannedHarness();

    const result = await runPlannedSwitchover(request(), p.deps);

    expect(result).toMatchObject({
      status: 'switched',
      planned: true,
      epoch: 4,
      rpoRecords: 0,
      fenceLifted: true,
      drain: { measure: { recordsBehind: 0, groupsBehind: 0 } },
    });
    expect(p.fencedWhenMeasured).toEqual([true, true, true]);
    expect(p.fence.calls).toEqual(['raise', 'lower']);
    expect(p.fence.overrides.get('orders')).toEqual({ 'retention.ms': '86400000' });
    expect(await activeEpochAndCluster(p.h)).toEqual({ epoch: 4, cluster: 'secondary' });
    expect((await p.h.authority.read())?.writer).toEqual({ kind: 'failover', runId: 'planned-0000000004' });
    const run = p.journal.entries.get('planned-0000000004');
    expect(run?.status).toBe('completed');
    expect(run?.steps.map((s) => s.name)).toEqual([
      'fence',
      'drain',
      'offsets',
      'claim',
      'secret',
      'parameter',
      'plain-parameters',
      'notify',
      'lift',
    ]);
  });

  it('reports writes stopped from the fence to the switch, including the drain wait', async () => {
    const p = await plannedHarness();

    const result = await runPlannedSwitchover(request(), p.deps);

    // Two waits of 500 ms between the three measurements; the fake clock moves only while sleeping.
    expect(result).toMatchObject({ status: 'switched', writesStoppedMs: 1_000, drain: { waitedMs: 1_000 } });
  });

  it('refuses when the backlog does not drain in time, lowers the fence and leaves the primary active', async () => {
    const p = await plannedHarness();
    p.backlog = [40, 30, 25];

    const result = await runPlannedSwitchover(request(), p.deps);

    expect(result).toMatchObject({
      status: 'refused',
      reasons: [
        {
          code: 'backlog-not-drained',
          message: expect.stringContaining('25 record(s) not on the secondary'),
        },
      ],
      fenceLowered: true,
      drain: { measure: { recordsBehind: 25 } },
    });
    expect(p.fence.isUp()).toBe(false);
    expect(p.fence.overrides.get('orders')).toEqual({ 'retention.ms': '86400000' });
    expect(await activeEpochAndCluster(p.h)).toEqual({ epoch: 3, cluster: 'primary' });
    expect(await p.h.authority.read()).toBeUndefined();
    expect(p.journal.entries.get('planned-0000000004')?.status).toBe('abandoned');
    // Default safety.plannedDrainTimeoutSeconds: 30 s of waiting, then the refusal.
    expect(p.h.clock.sleeps.reduce((a, b) => a + b, 0)).toBe(30_000);
  });

  it('refuses while groups are not checkpointed at their committed offsets, even with every record copied', async () => {
    const p = await plannedHarness();
    p.deps = { ...p.deps, measureDrain: async () => measure(0, 3) };

    const result = await runPlannedSwitchover(request(), p.deps);

    expect(result).toMatchObject({
      status: 'refused',
      reasons: [{ code: 'backlog-not-drained', message: expect.stringContaining('1 group partition(s)') }],
    });
    expect(p.fence.isUp()).toBe(false);
  });

  it("refuses and clears a fence that MM2's topic-config sync copied to the secondary, lowering the primary's", async () => {
    const p = await plannedHarness();
    const secondary = new FakeFence();
    secondary.overrides.set('primary.orders', { 'max.message.bytes': '0', 'retention.ms': '86400000' });
    p.deps = { ...p.deps, secondaryFence: secondary };

    const result = await runPlannedSwitchover(request(), p.deps);

    expect(result).toMatchObject({
      status: 'refused',
      reasons: [
        { code: 'fence-synced-to-secondary', message: expect.stringContaining('config.properties.exclude') },
      ],
      fenceLowered: true,
    });
    expect(secondary.overrides.get('primary.orders')).toEqual({ 'retention.ms': '86400000' });
    expect(p.fence.isUp()).toBe(false);
    expect(await activeEpochAndCluster(p.h)).toEqual({ epoch: 3, cluster: 'primary' });
  });

  it('keeps the run in progress when the fence cannot be lowered on refusal, and the next invocation lowers it', async () => {
    const p = await plannedHarness();
    p.backlog = [40];
    p.fence.failLower = true;

    const first = await runPlannedSwitchover(request(), p.deps);
    expect(first).toMatchObject({
      status: 'refused',
      fenceLowered: false,
      reasons: [{ code: 'backlog-not-drained' }, { code: 'fence-still-up' }],
    });
    expect(p.fence.isUp()).toBe(true);

    p.fence.failLower = false;
    p.backlog = [0];
    const second = await runPlannedSwitchover(request({ invocationId: 'req-2' }), p.deps);

    // The refused run is closed and its fence lowered; this invocation then decides afresh and switches.
    expect(p.journal.entries.get('planned-0000000004')?.status).toBe('abandoned');
    expect(second).toMatchObject({ status: 'switched', epoch: 4 });
    expect(p.fence.isUp()).toBe(false);
  });

  it('resumes a run that crashed after the fence and the drain: one switch, the fence lifted', async () => {
    const p = await plannedHarness();
    const recordStep = p.journal.recordStep.bind(p.journal);
    let crashed = false;
    p.journal.recordStep = async (runId, step, result, holder) => {
      if (step === 'claim' && !crashed) {
        crashed = true;
        throw new Crash('the sandbox died');
      }
      return recordStep(runId, step, result, holder);
    };

    await expect(runPlannedSwitchover(request(), p.deps)).rejects.toBeInstanceOf(Crash);
    expect(p.fence.isUp()).toBe(true);
    p.h.lock.holder = undefined; // the dead invocation's lease ran out
    const resumed = await runPlannedSwitchover(request({ invocationId: 'req-2' }), p.deps);

    expect(resumed).toMatchObject({ status: 'switched', resumed: true, epoch: 4, rpoRecords: 0 });
    expect(await activeEpochAndCluster(p.h)).toEqual({ epoch: 4, cluster: 'secondary' });
    expect(p.fence.isUp()).toBe(false);
    expect(p.journal.entries.get('planned-0000000004')?.status).toBe('completed');
    // The drain was measured once: the resumed run trusts its journaled figures.
    expect(p.measured).toBe(3);
  });

  it('retries a failing drain measurement until the deadline, then refuses with its error and lowers the fence', async () => {
    const p = await plannedHarness();
    p.deps = {
      ...p.deps,
      measureDrain: async () => {
        throw new Error('secondary: connection refused');
      },
    };

    const result = await runPlannedSwitchover(request(), p.deps);

    expect(result).toMatchObject({
      status: 'refused',
      reasons: [
        { code: 'backlog-not-drained', message: expect.stringContaining('secondary: connection refused') },
      ],
    });
    expect(p.fence.isUp()).toBe(false);
  });

  it('resumes a run that crashed while draining: raises the fence again and drains before switching', async () => {
    const q = await plannedHarness();
    const journalStep = q.journal.recordStep.bind(q.journal);
    q.journal.recordStep = async (runId, step, result, holder) => {
      await journalStep(runId, step, result, holder);
      if (step === 'fence') throw new Crash('died right after the fence was journaled');
    };
    await expect(runPlannedSwitchover(request(), q.deps)).rejects.toBeInstanceOf(Crash);
    q.journal.recordStep = journalStep;
    q.fence.overrides.set('orders', { 'retention.ms': '86400000' }); // an operator lowered it by hand meanwhile
    q.h.lock.holder = undefined;

    const resumed = await runPlannedSwitchover(request({ invocationId: 'req-2' }), q.deps);

    expect(resumed).toMatchObject({ status: 'switched', epoch: 4, rpoRecords: 0 });
    expect(q.fencedWhenMeasured.every((f) => f)).toBe(true);
    expect(q.fence.isUp()).toBe(false);
  });

  it('abandons an interrupted run older than the resume limit and lowers its fence before deciding afresh', async () => {
    const p = await plannedHarness();
    const journalStep = p.journal.recordStep.bind(p.journal);
    p.journal.recordStep = async (runId, step, result, holder) => {
      await journalStep(runId, step, result, holder);
      if (step === 'fence') throw new Crash('died');
    };
    await expect(runPlannedSwitchover(request(), p.deps)).rejects.toBeInstanceOf(Crash);
    p.journal.recordStep = journalStep;
    p.h.lock.holder = undefined;
    p.h.clock.t += 20 * 60_000;
    p.backlog = [99];
    p.deps = { ...p.deps, reprobe: async () => ({ verdict: 'down', reasons: ['connection refused'] }) };

    const result = await runPlannedSwitchover(request({ invocationId: 'req-2' }), p.deps);

    expect(p.journal.entries.get('planned-0000000004')).toMatchObject({
      status: 'abandoned',
      outcome: { fenceLowered: true, reason: expect.stringContaining('resume limit') },
    });
    expect(p.fence.isUp()).toBe(false);
    expect(result).toMatchObject({
      status: 'refused',
      reasons: [{ code: 'primary-unhealthy' }, { code: 'secondary-unhealthy' }],
    });
  });

  it('refuses without fencing when two probes find the primary down', async () => {
    const p = await plannedHarness();
    p.h.probes.primary = [
      { verdict: 'down', reasons: ['connection refused'] },
      { verdict: 'down', reasons: ['connection refused'] },
    ];

    const result = await runPlannedSwitchover(request(), p.deps);

    expect(result).toMatchObject({
      status: 'refused',
      reasons: [
        {
          code: 'primary-unhealthy',
          message: expect.stringContaining('primary is down (connection refused)'),
        },
      ],
    });
    expect(p.h.probeCalls.filter((r) => r === 'primary')).toHaveLength(2);
    expect(p.fence.calls).toEqual([]);
    expect(p.journal.entries.size).toBe(0);
  });

  it('switches when a first probe of the secondary timed out but the second answers', async () => {
    const p = await plannedHarness();
    let secondaryProbes = 0;
    p.deps = {
      ...p.deps,
      reprobe: async (role) =>
        role === 'secondary' && secondaryProbes++ === 0 ? { verdict: 'down', reasons: ['timeout'] } : up,
    };

    const result = await runPlannedSwitchover(request(), p.deps);

    expect(result).toMatchObject({ status: 'switched', epoch: 4 });
    expect(secondaryProbes).toBe(2);
  });

  it('does nothing when the secondary is already active', async () => {
    const p = await plannedHarness();
    await runPlannedSwitchover(request(), p.deps);

    const again = await runPlannedSwitchover(request({ invocationId: 'req-2' }), p.deps);

    expect(again).toMatchObject({ status: 'already-active', epoch: 4 });
    expect(p.fence.calls).toEqual(['raise', 'lower']);
  });

  it('answers a dry run with the fence it would raise and the backlog now, changing nothing', async () => {
    const p = await plannedHarness();

    const result = await runPlannedSwitchover(request({ dryRun: true }), p.deps);

    expect(result).toMatchObject({
      status: 'dry-run',
      wouldDo: 'planned switchover',
      fence: [
        { topic: 'orders', overrides: { 'retention.ms': '86400000' } },
        { topic: 'payments', overrides: {} },
      ],
      backlog: { recordsBehind: 40 },
    });
    expect(p.fence.calls).toEqual([]);
    expect(p.journal.entries.size).toBe(0);
    expect(p.h.lock.acquisitions).toBe(0);
  });
});

describe('chooseSwitch', () => {
  const reprobe = (verdict: 'up' | 'degraded' | 'down') => async () => ({ verdict, reasons: [] });

  it('runs a manual request as a planned switchover when the primary is up and nothing says otherwise', async () => {
    expect(await chooseSwitch({ trigger: 'manual', force: false }, reprobe('up'))).toBe('planned');
  });

  it('runs the unplanned failover for an alarm, a forced request, planned: false, or a primary that is not up', async () => {
    expect(await chooseSwitch({ trigger: 'alarm', force: false }, reprobe('up'))).toBe('failover');
    expect(await chooseSwitch({ trigger: 'manual', force: true }, reprobe('up'))).toBe('failover');
    expect(await chooseSwitch({ trigger: 'manual', force: false, planned: false }, reprobe('up'))).toBe(
      'failover',
    );
    expect(await chooseSwitch({ trigger: 'manual', force: false }, reprobe('degraded'))).toBe('failover');
    expect(
      await chooseSwitch({ trigger: 'manual', force: false }, async () => {
        throw new Error('probe timed out');
      }),
    ).toBe('failover');
  });

  it('runs planned: true as a planned switchover even when forced (its own checks refuse a sick primary)', async () => {
    expect(await chooseSwitch({ trigger: 'manual', force: true, planned: true }, reprobe('down'))).toBe(
      'planned',
    );
  });
});
