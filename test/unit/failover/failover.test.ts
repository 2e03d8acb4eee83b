import { describe, expect, it } from 'vitest';
import { routeOf } from '#shared/client/topic-routes.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { LockHeldError } from '#shared/errors.ts';
import {
  type FailoverInvocation,
  type FailoverResult,
  interruptedRunVerdict,
  runFailover,
} from '#shared/failover/failover.ts';
import { readActiveOnce, writeActive } from '#shared/store/active-config.ts';
import type { RunJournal } from '#shared/store/dynamo-journal.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { FencedWriteError } from '#shared/switch/fenced-write.ts';
import {
  failoverHarness,
  type Harness,
  PRIMARY_CREDS,
  SECONDARY_CREDS,
  SECRET_MARKERS,
  testConfig,
} from './fakes.ts';

const paths = deploymentPaths('orders-dr');

function manual(overrides: Partial<FailoverInvocation> = {}): FailoverInvocation {
  return {
    trigger: 'manual',
    reason: 'primary region down',
    requestedBy: 'alice',
    dryRun: false,
    force: false,
    invocationId: 'req-1',
    ...overrides,
  };
}
function alarm(overrides: Partial<FailoverInvocation> = {}): FailoverInvocation {
  return manual({
    trigger: 'alarm',
    reason: 'alarm orders-dr-failover went to ALARM',
    requestedBy: 'alarm:orders-dr-failover',
    eventId: 'ev-1',
    ...overrides,
  });
}

/** What the probe's direct trigger sends (shared/health/failover-trigger.ts), normalised. */
function probeTrigger(overrides: Partial<FailoverInvocation> = {}): FailoverInvocation {
  return manual({
    trigger: 'probe',
    reason: 'the probe saw the primary down for 20 s (window 20 s, 10 cycles) and the secondary up',
    requestedBy: 'probe',
    evidence: {
      downSince: '2026-11-21T11:59:40.000Z',
      downForSeconds: 20,
      windowSeconds: 20,
      cycles: [{ cycle: 41, startedAt: '2026-11-21T11:59:58.000Z', reasons: ['connect-refused'] }],
      secondary: { verdict: 'up', reasons: [] },
    },
    ...overrides,
  });
}

/** The primary active at `epoch`, as after `initialiseActiveConfig` or a failback. */
async function primaryActive(h: Harness, epoch = 0, switchedAt = '2026-11-20T00:00:00.000Z') {
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
      switchedAt,
      reason: 'initial',
    },
    new Redacted(PRIMARY_CREDS),
  );
  h.stores.writes.length = 0;
}

/** Epochs of every active parameter value ever written, in order. */
function recordActiveEpochs(h: Harness): number[] {
  const epochs: number[] = [];
  const put = h.stores.parameters.put;
  h.stores.parameters.put = async (name, value, options) => {
    if (name === paths.activeParameter) epochs.push(JSON.parse(value).epoch);
    return put(name, value, options);
  };
  return epochs;
}

function activeWrites(h: Harness): string[] {
  return h.stores.writes.filter((w) => w.includes('/active'));
}

async function activeNow(h: Harness) {
  const read = await readActiveOnce(h.stores, paths);
  if (read.kind !== 'consistent')
    throw new Error(`expected a consistent active configuration, got ${read.kind}`);
  return { config: read.config, credentials: read.credentials.reveal() };
}

class Crash extends Error {}

describe('runFailover', () => {
  it('switches clients to the secondary with its credentials, epoch + 1, in the fencing order', async () => {
    const h = failoverHarness();
    await primaryActive(h, 4);

    const result = await runFailover(manual(), h.deps);

    expect(result).toMatchObject({ status: 'switched', epoch: 5, resumed: false, notified: true });
    expect(activeWrites(h)).toEqual([
      `secret ${paths.activeCredentialsSecret}`,
      `parameter ${paths.activeParameter}`,
      `parameter ${paths.activeBootstrapParameter}`,
    ]);
    const active = await activeNow(h);
    expect(active.config).toMatchObject({
      epoch: 5,
      cluster: 'secondary',
      bootstrapServers: ['127.0.0.1:29092'],
    });
    expect(routeOf(active.config, 'orders')).toEqual({
      produce: 'primary.orders',
      subscribe: ['primary.orders'],
    });
    expect(active.credentials).toEqual({ epoch: 5, cluster: 'secondary', ...SECONDARY_CREDS });
    expect(h.stores.params.get(paths.activeBootstrapParameter)?.value).toBe('127.0.0.1:29092');
    expect(h.lock.holder).toBeUndefined();
    expect(h.journal.entries.get('0000000005')?.status).toBe('completed');
  });

  it('works on the very first activation, with no active configuration yet: epoch 0 becomes 1', async () => {
    const h = failoverHarness();

    const result = await runFailover(manual(), h.deps);

    expect(result).toMatchObject({
      status: 'switched',
      epoch: 1,
      from: { cluster: 'primary', epoch: 0, assumed: true },
    });
    expect((await activeNow(h)).config.epoch).toBe(1);
  });

  it('notifies from, to, why, who, how long, the RPO per topic and the groups, without any secret', async () => {
    const h = failoverHarness();
    h.groups.checkpoints = [
      {
        group: 'billing',
        topic: 'primary.orders',
        partition: 0,
        upstreamOffset: 100,
        downstreamOffset: 97,
      },
    ];
    h.deps.clock.sleep = async (ms) => {
      h.clock.t += ms;
    };

    const result = await runFailover(manual(), h.deps);

    expect(h.notifier.sent).toHaveLength(1);
    const n = h.notifier.sent[0];
    expect(n?.subject).toBe('[mm2-failover] orders-dr: switched to secondary (epoch 1)');
    expect(n?.text).toContain('from primary (primary) to secondary (secondary)');
    expect(n?.text).toContain('Why:          primary region down');
    expect(n?.text).toContain('Who:          alice (manual)');
    expect(n?.text).toMatch(/Switched in:\s+\d+ ms/);
    expect(n?.text).toContain('orders: 10 records, 3 s');
    expect(n?.text).toContain('payments: 2 records, 1 s');
    expect(n?.text).toContain('all topics: 12 records, 3 s');
    expect(n?.text).toContain('billing: offsets translated and committed on 1 partition(s)');
    const everything = JSON.stringify([h.notifier.sent, result, h.logs, [...h.journal.entries.values()]]);
    for (const marker of SECRET_MARKERS) expect(everything).not.toContain(marker);
  });

  it('translates and commits consumer-group offsets on the secondary before the switch', async () => {
    const h = failoverHarness();
    h.groups.checkpoints = [
      {
        group: 'billing',
        topic: 'primary.orders',
        partition: 0,
        upstreamOffset: 100,
        downstreamOffset: 97,
      },
    ];
    let committedBeforeSecret = false;
    const put = h.stores.secrets.put;
    h.stores.secrets.put = async (name, value) => {
      committedBeforeSecret = h.groups.commits.length === 1;
      return put(name, value);
    };

    const result = await runFailover(manual(), h.deps);

    expect(committedBeforeSecret).toBe(true);
    expect(result.status === 'switched' && result.groups).toEqual([
      {
        group: 'billing',
        outcome: 'committed',
        committed: [{ topic: 'primary.orders', partition: 0, offset: 97, previous: null }],
      },
    ]);
  });

  it('still switches when the checkpoints cannot be read, and reports the groups as not translated', async () => {
    const h = failoverHarness();
    h.groups.failCheckpoints = true;

    const result = await runFailover(manual(), h.deps);

    expect(result.status).toBe('switched');
    expect(result.status === 'switched' && result.groups[0]).toMatchObject({
      group: 'billing',
      outcome: 'error',
    });
    expect(h.notifier.sent[0]?.text).toContain('billing: NOT translated (could not read MM2 checkpoints');
  });

  it('reports and does not switch again when the secondary is already active', async () => {
    const h = failoverHarness();
    await runFailover(manual(), h.deps);
    h.stores.writes.length = 0;
    const sent = h.notifier.sent.length;

    const result = await runFailover(alarm({ invocationId: 'req-2' }), h.deps);

    expect(result).toMatchObject({ status: 'already-active', epoch: 1, cluster: 'secondary' });
    expect(h.stores.writes).toEqual([]);
    expect(h.notifier.sent).toHaveLength(sent);
    expect(h.lock.holder).toBeUndefined();
  });

  it('returns the complete plan on a dry run and writes nothing anywhere', async () => {
    const h = failoverHarness({ ...testConfig({ regions: ['us-east-1'] }) });
    h.groups.checkpoints = [
      { group: 'billing', topic: 'primary.orders', partition: 0, upstreamOffset: 10, downstreamOffset: 9 },
    ];
    await primaryActive(h, 2);

    const result = await runFailover(manual({ dryRun: true }), h.deps);

    expect(result.status).toBe('dry-run');
    if (result.status !== 'dry-run') return;
    expect(result.wouldDo).toBe('switch');
    expect(result.plan?.next.epoch).toBe(3);
    expect(result.plan?.writes).toHaveLength(6);
    expect(result.plan?.offsets[0]?.partitions[0]).toMatchObject({ translated: 9, commit: true });
    expect(JSON.stringify(result)).toContain('"key":"[redacted]"');
    for (const marker of SECRET_MARKERS) expect(JSON.stringify(result)).not.toContain(marker);
    expect(h.stores.writes).toEqual([]);
    expect(h.regionStores.get('us-east-1')?.writes ?? []).toEqual([]);
    expect(h.groups.commits).toEqual([]);
    expect(h.journal.entries.size).toBe(0);
    expect(h.lock.acquisitions).toBe(0);
    expect(h.notifier.sent).toEqual([]);
  });

  it('shows on a dry run what would be refused, with the plan a forced run would execute', async () => {
    const h = failoverHarness();
    h.probes.primary = [{ verdict: 'up', reasons: [] }];

    const result = await runFailover(manual({ dryRun: true }), h.deps);

    expect(result).toMatchObject({ status: 'dry-run', wouldDo: 'refuse' });
    expect(result.status === 'dry-run' && result.preflight?.refusals.map((r) => r.code)).toEqual([
      'primary-not-down',
    ]);
    expect(result.status === 'dry-run' && result.plan?.next.cluster).toBe('secondary');
  });

  it('refuses an alarm-triggered failover when automation is disabled, and notifies', async () => {
    const h = failoverHarness();
    h.stores.params.set(paths.automationParameter, { value: 'disabled', version: 1 });

    const result = await runFailover(alarm(), h.deps);

    expect(result).toMatchObject({ status: 'refused', reasons: [{ code: 'automation-disabled' }] });
    expect(h.stores.writes).toEqual([]);
    expect(h.probeCalls).toEqual([]);
    expect(h.lock.acquisitions).toBe(0);
    expect(h.notifier.sent[0]?.subject).toBe('[mm2-failover] orders-dr: automatic failover refused');
  });

  it('treats a hand-edited automation value as disabled', async () => {
    const h = failoverHarness();
    h.stores.params.set(paths.automationParameter, { value: 'Enabled', version: 1 });

    const result = await runFailover(alarm(), h.deps);

    expect(result).toMatchObject({ status: 'refused', reasons: [{ code: 'automation-disabled' }] });
    expect(result.status === 'refused' && result.reasons[0]?.message).toContain('neither');
  });

  it('runs a manual failover while automation is disabled', async () => {
    const h = failoverHarness();
    h.stores.params.set(paths.automationParameter, { value: 'disabled', version: 1 });

    expect((await runFailover(manual(), h.deps)).status).toBe('switched');
  });

  it('runs an alarm-triggered failover when automation is enabled', async () => {
    const h = failoverHarness();
    h.stores.params.set(paths.automationParameter, { value: 'enabled', version: 1 });

    expect((await runFailover(alarm(), h.deps)).status).toBe('switched');
  });

  it('changes nothing and notifies when preflight refuses an automatic failover', async () => {
    const h = failoverHarness();
    await primaryActive(h, 3);
    h.lag = { measuredAt: '2026-11-21T11:59:00.000Z', backlogRecords: 99_999, lagSeconds: 5, topics: [] };

    const result = await runFailover(alarm(), h.deps);

    expect(result).toMatchObject({ status: 'refused', reasons: [{ code: 'lag-records' }] });
    expect(result.status === 'refused' && result.preflight?.refusals).toEqual(
      result.status === 'refused' && result.reasons,
    );
    expect(result.status === 'refused' && Array.isArray(result.warnings)).toBe(true);
    expect(h.stores.writes).toEqual([]);
    expect(h.journal.entries.size).toBe(0);
    expect(h.lock.holder).toBeUndefined();
    expect(h.notifier.sent[0]?.text).toContain('[lag-records]');
  });

  it('refuses an automatic failover within the cooldown after the last switch (a failback)', async () => {
    const h = failoverHarness();
    await primaryActive(h, 2, new Date(h.clock.now() - 5 * 60_000).toISOString());

    const result = await runFailover(alarm(), h.deps);

    expect(result).toMatchObject({ status: 'refused', reasons: [{ code: 'cooldown' }] });
  });

  it('starts no cooldown from the initial activation (epoch 0)', async () => {
    const h = failoverHarness();
    await primaryActive(h, 0, new Date(h.clock.now() - 60_000).toISOString());

    expect((await runFailover(alarm(), h.deps)).status).toBe('switched');
  });

  it('does not notify a refused manual failover: the caller has the answer', async () => {
    const h = failoverHarness();
    h.probes.primary = [{ verdict: 'up', reasons: [] }];

    const result = await runFailover(manual(), h.deps);

    expect(result.status).toBe('refused');
    expect(h.notifier.sent).toEqual([]);
  });

  it('makes exactly one switch out of ten concurrent triggers', async () => {
    const h = failoverHarness();
    const epochs = recordActiveEpochs(h);
    const triggers = Array.from({ length: 10 }, (_, i) =>
      i % 2 === 0 ? alarm({ invocationId: `req-${i}` }) : manual({ invocationId: `req-${i}` }),
    );

    const results = await Promise.allSettled(triggers.map((t) => runFailover(t, h.deps)));

    const switched = results.filter((r) => r.status === 'fulfilled' && r.value.status === 'switched');
    const others = results.filter((r) => !(r.status === 'fulfilled' && r.value.status === 'switched'));
    expect(switched).toHaveLength(1);
    for (const r of others) {
      const ok =
        (r.status === 'rejected' && r.reason instanceof LockHeldError) ||
        (r.status === 'fulfilled' && r.value.status === 'already-active');
      expect(ok).toBe(true);
    }
    expect(epochs).toEqual([1]);
    expect(h.notifier.sent).toHaveLength(1);
  });

  it("makes one switch when the probe's trigger and the alarm arrive together; the retried one finds it done", async () => {
    const h = failoverHarness();
    const epochs = recordActiveEpochs(h);
    const requests = [probeTrigger({ invocationId: 'probe-1' }), alarm({ invocationId: 'alarm-1' })];

    const first = await Promise.allSettled(requests.map((r) => runFailover(r, h.deps)));
    // Lambda retries the asynchronous invocation that found the lock held.
    const retried = await Promise.all(
      first.flatMap((r, i) =>
        r.status === 'rejected' ? [runFailover(requests[i] as FailoverInvocation, h.deps)] : [],
      ),
    );

    const statuses = [
      ...first.flatMap((r) => (r.status === 'fulfilled' ? [r.value.status] : [])),
      ...retried.map((r) => r.status),
    ];
    expect(statuses.sort()).toEqual(['already-active', 'switched']);
    expect(first.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof LockHeldError)).toBe(
      true,
    );
    expect(epochs).toEqual([1]);
    expect(h.notifier.sent).toHaveLength(1);
  });

  it("refuses the probe's trigger when the re-probe finds a flapping primary answering, and writes nothing", async () => {
    const h = failoverHarness();
    h.probes.primary = [
      { verdict: 'down', reasons: ['timeout'] },
      { verdict: 'up', reasons: [] },
    ];

    const result = await runFailover(probeTrigger(), h.deps);

    expect(result).toMatchObject({ status: 'refused', reasons: [{ code: 'primary-not-down' }] });
    expect(h.stores.writes).toEqual([]);
    expect(h.journal.entries.size).toBe(0);
    expect(h.notifier.sent[0]?.subject).toBe('[mm2-failover] orders-dr: automatic failover refused');
  });

  it("refuses the probe's trigger as an automatic one: automation disabled, or within the cooldown", async () => {
    const disabled = failoverHarness();
    disabled.stores.params.set(paths.automationParameter, { value: 'disabled', version: 1 });
    expect(await runFailover(probeTrigger(), disabled.deps)).toMatchObject({
      status: 'refused',
      reasons: [{ code: 'automation-disabled' }],
    });

    const cooling = failoverHarness();
    await primaryActive(cooling, 2, new Date(cooling.clock.now() - 5 * 60_000).toISOString());
    expect(await runFailover(probeTrigger(), cooling.deps)).toMatchObject({
      status: 'refused',
      reasons: [{ code: 'cooldown' }],
    });
  });

  it('is refused by a held lock and names the holder', async () => {
    const h = failoverHarness();
    await h.lock.acquire('req-other');

    const err = await runFailover(manual(), h.deps).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).holder).toBe('req-other');
    expect(h.stores.writes).toEqual([]);
  });
});

/** A journal that "crashes the process" right after recording `step` (or beginning, for 'begin'). */
function crashingJournal(inner: RunJournal, at: string): RunJournal {
  return {
    latest: () => inner.latest(),
    begin: async (runId, plan, holder) => {
      await inner.begin(runId, plan, holder);
      if (at === 'begin') throw new Crash(`crashed after begin`);
    },
    recordStep: async (runId, step, result, holder) => {
      await inner.recordStep(runId, step, result, holder);
      if (step === at) throw new Crash(`crashed after ${step}`);
    },
    finish: (runId, status, outcome, holder) => inner.finish(runId, status, outcome, holder),
  };
}

describe('runFailover after a crash', () => {
  const points = [
    'begin',
    'offsets',
    'secret',
    'parameter',
    'plain-parameters',
    'region:us-east-1',
    'notify',
  ];

  it.each(points)(
    'completes the switch after a crash following %s, once the dead holder’s lease ran out, without a second switch',
    async (point) => {
      const h = failoverHarness(testConfig({ regions: ['us-east-1'] }));
      h.groups.checkpoints = [
        {
          group: 'billing',
          topic: 'primary.orders',
          partition: 0,
          upstreamOffset: 10,
          downstreamOffset: 9,
        },
      ];
      await primaryActive(h, 7);
      const epochs = recordActiveEpochs(h);
      // The crashed process never releases its lock.
      const crashed = {
        ...h.deps,
        journal: crashingJournal(h.journal, point),
        lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
      };

      await expect(runFailover(manual({ invocationId: 'req-crashed' }), crashed)).rejects.toBeInstanceOf(
        Crash,
      );
      await expect(runFailover(alarm({ invocationId: 'req-next' }), h.deps)).rejects.toBeInstanceOf(
        LockHeldError,
      );
      h.clock.t += h.lock.leaseMs + 1;
      // The primary came back meanwhile: a fresh preflight would refuse, a resumed run must not ask again.
      h.probes.primary = [{ verdict: 'up', reasons: [] }];
      const result = await runFailover(alarm({ invocationId: 'req-next' }), h.deps);

      expect(result).toMatchObject({ status: 'switched', epoch: 8, resumed: point !== 'begin' });
      const active = await activeNow(h);
      expect(active.config).toMatchObject({ epoch: 8, cluster: 'secondary' });
      expect(active.credentials.key).toBe(SECONDARY_CREDS.key);
      expect(new Set(epochs)).toEqual(new Set([8]));
      expect(h.notifier.sent).toHaveLength(1);
      expect(h.groups.commits).toHaveLength(1);
      const region = h.regionStores.get('us-east-1');
      expect(region && JSON.parse(region.params.get(paths.activeParameter)?.value ?? '{}').epoch).toBe(8);
      expect([...h.journal.entries.values()].map((e) => [e.runId, e.status])).toEqual([
        ['0000000008', 'completed'],
      ]);
      expect(await runFailover(alarm({ invocationId: 'req-later' }), h.deps)).toMatchObject({
        status: 'already-active',
        epoch: 8,
      });
    },
  );

  it('completes the switch when a write failed between the secret and the parameter', async () => {
    const h = failoverHarness();
    await primaryActive(h, 1);
    const put = h.stores.parameters.put;
    let fail = true;
    h.stores.parameters.put = async (name, value, options) => {
      if (name === paths.activeParameter && fail) {
        fail = false;
        throw new Error('SSM throttled');
      }
      return put(name, value, options);
    };

    await expect(runFailover(manual(), h.deps)).rejects.toThrow('SSM throttled');
    const torn = await readActiveOnce(h.stores, paths);
    const result = await runFailover(manual({ invocationId: 'req-2' }), h.deps);

    expect(torn).toEqual({ kind: 'torn', parameterEpoch: 1, secretEpoch: 2 });
    expect(result).toMatchObject({ status: 'switched', epoch: 2, resumed: true });
    expect((await activeNow(h)).config.epoch).toBe(2);
  });

  it('lets a retry with the same invocation id take its own lock at once', async () => {
    const h = failoverHarness();
    const crashed = {
      ...h.deps,
      journal: crashingJournal(h.journal, 'secret'),
      lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
    };
    await expect(runFailover(manual({ invocationId: 'req-1' }), crashed)).rejects.toBeInstanceOf(Crash);

    const result = await runFailover(manual({ invocationId: 'req-1' }), h.deps);

    expect(result).toMatchObject({ status: 'switched', resumed: true, epoch: 1 });
  });

  it('stops a holder whose lease was taken over from recording more steps', async () => {
    const h = failoverHarness();
    // The first holder stalls inside the secret write until a second invocation took the lock over.
    let resumeStalled: () => void = () => {};
    const stalled = new Promise<void>((r) => {
      resumeStalled = r;
    });
    const put = h.stores.secrets.put;
    let first = true;
    h.stores.secrets.put = async (name, value) => {
      if (first) {
        first = false;
        await stalled;
      }
      return put(name, value);
    };
    const zombie = runFailover(manual({ invocationId: 'req-zombie' }), h.deps);
    await vi_waitFor(() => !first);
    h.clock.t += h.lock.leaseMs + 1;
    const takeover = await runFailover(manual({ invocationId: 'req-new' }), h.deps);
    resumeStalled();

    // The zombie stops at its next step: its own clock says its lease is gone before it would read back.
    await expect(zombie).rejects.toSatisfy(
      (e) => e instanceof LockHeldError || e instanceof FencedWriteError,
    );
    expect(takeover).toMatchObject({ status: 'switched', resumed: true, epoch: 1 });
    expect((await activeNow(h)).config.epoch).toBe(1);
  });

  it('abandons an interrupted run whose epoch the active configuration has moved past', async () => {
    const h = failoverHarness();
    const crashed = { ...h.deps, journal: crashingJournal(h.journal, 'begin') };
    await expect(runFailover(manual({ invocationId: 'req-1' }), crashed)).rejects.toBeInstanceOf(Crash);
    await primaryActive(h, 5);

    const result = await runFailover(manual({ invocationId: 'req-2' }), h.deps);

    expect(result).toMatchObject({ status: 'switched', epoch: 6 });
    expect([...h.journal.entries.values()].map((e) => [e.runId, e.status])).toEqual([
      ['0000000001', 'abandoned'],
      ['0000000006', 'completed'],
    ]);
  });

  it('starts a new run at the epoch of a run abandoned before it claimed it (found by the switch model)', async () => {
    const h = failoverHarness();
    const crashed = { ...h.deps, journal: crashingJournal(h.journal, 'begin') };
    await expect(runFailover(manual({ invocationId: 'req-1' }), crashed)).rejects.toBeInstanceOf(Crash);
    // Past the resume limit: the run is abandoned and the failover decided afresh, at the same epoch 1. The
    // journal starts a run id once, so reusing the abandoned run's id failed every failover from then on.
    h.clock.t += (h.config.safety.resumeMaxAgeMinutes + 1) * 60_000;
    h.lag = { ...(h.lag as NonNullable<typeof h.lag>), measuredAt: new Date(h.clock.now()).toISOString() };

    const result = await runFailover(manual({ invocationId: 'req-2' }), h.deps);

    expect(result).toMatchObject({ status: 'switched', epoch: 1 });
    expect([...h.journal.entries.values()].map((e) => [e.runId, e.status])).toEqual([
      ['0000000001', 'abandoned'],
      ['0000000001-0002', 'completed'],
    ]);
    expect((await h.journal.latest())?.runId).toBe('0000000001-0002');
  });

  it('supersedes a torn active configuration left by something without a journal', async () => {
    const h = failoverHarness();
    await primaryActive(h, 3);
    h.stores.secretValues.set(
      paths.activeCredentialsSecret,
      JSON.stringify({ epoch: 4, cluster: 'secondary' }),
    );

    const result = await runFailover(manual(), h.deps);

    expect(result).toMatchObject({ status: 'switched', epoch: 5 });
    expect(result.status === 'switched' && result.warnings.join()).toContain(
      'not consistent (parameter epoch 3 (primary), secret epoch 4 (secondary)); epoch 5 replaces it',
    );
  });
});

describe('the failover decision, shared by the real run and the dry run', () => {
  it('resumes an interrupted run only from its own claim or its untouched starting point, and while young', () => {
    const run = { runId: '0000000005', startedAt: '2026-11-21T12:00:00.000Z' };
    const plan = { next: { epoch: 5 }, from: { epoch: 4, cluster: 'primary' } } as never;
    const limits = { now: Date.parse('2026-11-21T12:05:00.000Z'), maxAgeMs: 15 * 60_000 };
    const claim = (epoch: number, runId: string, state: 'claimed' | 'written') =>
      ({ epoch, cluster: 'secondary', writer: { kind: 'failover', runId }, state }) as never;
    const at = (epoch: number, cluster: 'primary' | 'secondary', consistent: boolean, authority?: never) => ({
      epoch,
      cluster,
      consistent,
      assumed: false,
      authority,
    });

    // Its own claim of epoch 5, whatever the stores hold now.
    expect(
      interruptedRunVerdict(run, plan, at(5, 'secondary', false, claim(5, '0000000005', 'claimed')), limits),
    ).toEqual({ verdict: 'resume' });
    // Nothing claimed since its starting point, which the stores still hold.
    expect(interruptedRunVerdict(run, plan, at(4, 'primary', true), limits)).toEqual({ verdict: 'resume' });
    // Another writer's epoch 5, a torn starting point, an epoch past it, an old run: decided afresh.
    for (const current of [
      at(5, 'secondary', true, claim(5, 'failback-x', 'written')),
      at(4, 'primary', false),
      at(6, 'primary', true),
    ]) {
      expect(interruptedRunVerdict(run, plan, current, limits)).toMatchObject({ verdict: 'abandon' });
    }
    expect(
      interruptedRunVerdict(run, plan, at(4, 'primary', true), { ...limits, now: limits.now + 60 * 60_000 }),
    ).toMatchObject({ verdict: 'abandon', reason: expect.stringContaining('resume limit') });
  });

  it('reports an interrupted run as the dry run, with its steps done, without probing or writing', async () => {
    const h = failoverHarness();
    const crashed = {
      ...h.deps,
      journal: crashingJournal(h.journal, 'secret'),
      lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
    };
    await expect(runFailover(manual({ invocationId: 'req-1' }), crashed)).rejects.toBeInstanceOf(Crash);
    h.stores.writes.length = 0;
    h.probeCalls.length = 0;

    const dry = await runFailover(manual({ invocationId: 'req-2', dryRun: true }), h.deps);

    expect(dry).toMatchObject({
      status: 'dry-run',
      wouldDo: 'resume an interrupted switch',
      inProgress: { runId: '0000000001', stepsDone: ['offsets', 'claim', 'secret'] },
      plan: { next: { epoch: 1 } },
    });
    expect(h.probeCalls).toEqual([]);
    expect(h.stores.writes).toEqual([]);
    expect(h.journal.entries.get('0000000001')?.status).toBe('in-progress');
  });

  it('reports on a dry run the stale run a real run would abandon, and leaves it in the journal', async () => {
    const h = failoverHarness();
    const crashed = { ...h.deps, journal: crashingJournal(h.journal, 'begin') };
    await expect(runFailover(manual({ invocationId: 'req-1' }), crashed)).rejects.toBeInstanceOf(Crash);
    await primaryActive(h, 5);

    const dry = await runFailover(manual({ invocationId: 'req-2', dryRun: true }), h.deps);

    expect(dry).toMatchObject({
      status: 'dry-run',
      wouldDo: 'switch',
      abandons: {
        runId: '0000000001',
        reason:
          "the stores hold epoch 5 (primary), not the run's starting point (epoch 0 on primary) nor its own claim of epoch 1",
      },
      plan: { next: { epoch: 6 } },
    });
    expect(h.journal.entries.get('0000000001')?.status).toBe('in-progress');
  });

  const situations: Array<{ name: string; arrange(h: Harness): Promise<void>; dry: string; real: string }> = [
    { name: 'the primary confirmed down', arrange: async () => {}, dry: 'switch', real: 'switched' },
    {
      name: 'the primary answering',
      arrange: async (h) => {
        h.probes.primary = [{ verdict: 'up', reasons: [] }];
      },
      dry: 'refuse',
      real: 'refused',
    },
    {
      name: 'the secondary already active',
      arrange: async (h) => {
        await runFailover(manual({ invocationId: 'req-0' }), h.deps);
      },
      dry: 'nothing: the secondary is already active',
      real: 'already-active',
    },
    {
      name: 'an interrupted run',
      arrange: async (h) => {
        const crashed = {
          ...h.deps,
          journal: crashingJournal(h.journal, 'parameter'),
          lock: { ...h.lock, acquire: h.lock.acquire.bind(h.lock), release: async () => {} },
        };
        await runFailover(manual({ invocationId: 'req-0' }), crashed).catch(() => {});
      },
      dry: 'resume an interrupted switch',
      real: 'switched',
    },
  ];

  it.each(situations)('with $name, the dry run says $dry and the real run then does it: $real', async (s) => {
    const h = failoverHarness();
    await s.arrange(h);

    const dry = await runFailover(manual({ invocationId: 'req-0', dryRun: true }), h.deps);
    const real = await runFailover(manual({ invocationId: 'req-0' }), h.deps);

    expect(dry).toMatchObject({ status: 'dry-run', wouldDo: s.dry });
    expect(real.status).toBe(s.real);
  });
});

describe('runFailover side effects that must not block the switch', () => {
  it('reports an extra region that could not be written and still switches', async () => {
    const h = failoverHarness(testConfig({ regions: ['us-east-1', 'eu-west-1'] }));
    h.deps.regionStores = () => {
      throw new Error('region unreachable');
    };

    const result = (await runFailover(manual(), h.deps)) as Extract<FailoverResult, { status: 'switched' }>;

    expect(result.status).toBe('switched');
    // eu-west-1 is the home region: not written twice.
    expect(result.regions).toEqual([{ region: 'us-east-1', ok: false, error: 'Error: region unreachable' }]);
    expect(h.notifier.sent[0]?.text).toContain('us-east-1: NOT written');
  });

  it('writes the active configuration to the extra regions with the same epoch', async () => {
    const h = failoverHarness(testConfig({ regions: ['us-east-1'] }));

    await runFailover(manual(), h.deps);

    const region = h.regionStores.get('us-east-1');
    expect(region?.writes).toEqual([
      `secret ${paths.activeCredentialsSecret}`,
      `parameter ${paths.activeParameter}`,
      `parameter ${paths.activeBootstrapParameter}`,
    ]);
    expect(JSON.parse(region?.secretValues.get(paths.activeCredentialsSecret) ?? '{}')).toMatchObject({
      epoch: 1,
      cluster: 'secondary',
    });
  });

  it('completes the switch when the notification cannot be sent, and says so', async () => {
    const h = failoverHarness();
    h.notifier.fail = true;

    const result = await runFailover(manual(), h.deps);

    expect(result).toMatchObject({ status: 'switched', notified: false });
    expect(h.journal.entries.get('0000000001')?.status).toBe('completed');
  });
});

async function vi_waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  if (!condition()) throw new Error('condition never became true');
}
