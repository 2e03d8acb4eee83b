import { beforeEach, describe, expect, it } from 'vitest';
import { type DeploymentPaths, deploymentPaths } from '#shared/config/paths.ts';
import { LockHeldError, RefusedError, ValidationError } from '#shared/errors.ts';
import { type FailbackResult, runFailback } from '#shared/failback/failback.ts';
import { failbackJournal } from '#shared/failback/journal.ts';
import { PROVENANCE } from '#shared/failback/partition-copy.ts';
import { parseFailbackRequest } from '#shared/failback/payload.ts';
import type { FailbackDeps } from '#shared/failback/phase-context.ts';
import { tpKey } from '#shared/kafka/topic-partition.ts';
import type { Notification } from '#shared/notify/notification.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { configOf, QUARANTINE, untilDone, type World, watchActive, world } from './world.ts';

/** What the two stages of the default order (consumers first) write, as {@link watchActive} records it. */
const consumersFirst = {
  parameters: [
    { epoch: 2, cluster: 'primary', holdback: 'producers@secondary' },
    { epoch: 3, cluster: 'primary' },
  ],
  secrets: [
    { epoch: 2, cluster: 'primary', holdback: 'secondary' },
    { epoch: 3, cluster: 'primary' },
  ],
};

/** The writes of one stage, in the fencing order: secret, parameter, plain parameter. */
function stageWrites(paths: DeploymentPaths): string[] {
  return [
    `secret ${paths.activeCredentialsSecret}`,
    `parameter ${paths.activeParameter}`,
    `parameter ${paths.activeBootstrapParameter}`,
  ];
}

describe('runFailback (active-passive, identity policy)', () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it('runs every phase in order and accounts for every acknowledged record when invoked until done', async () => {
    // Act
    const results = await untilDone(w);

    // Assert
    expect(results.flatMap((r) => r.ran.map((x) => x.phase))).toEqual([
      'prepare',
      'salvage',
      'reverse',
      'purge',
      'catch-up',
      'switch',
      'restore',
    ]);
    expect(w.secondary.values(QUARANTINE).sort()).toEqual(['b0', 'b1', 'b2']);
    expect(w.primary.values('orders').sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'c0', 'c1', 'c2']);
    expect(w.mirror.calls).toEqual([
      'stopForward',
      `startReverse ${QUARANTINE}`,
      'removeReverse',
      `startForward ${JSON.stringify([
        { topic: 'orders', partition: 0, offset: 9 },
        { topic: 'orders', partition: 1, offset: 7 },
      ])}`,
    ]);
    expect(w.activeWrites).toEqual(consumersFirst.parameters);
    // The held-back producers' credentials travel in the active secret of the same epoch, and only at stage 1.
    expect(w.activeSecrets).toEqual(consumersFirst.secrets);
    const stage = stageWrites(deploymentPaths('orders-dr'));
    expect(w.stores.writes.filter((x) => x.includes('active'))).toEqual([...stage, ...stage]);
    expect(w.journal.entries[0]?.status).toBe('completed');
    expect(w.lock.holder).toBeUndefined();
  });

  it('keeps key, value, headers and timestamp of salvaged records and adds where each came from', async () => {
    // Act
    await untilDone(w);

    // Assert
    const q = w.secondary.topics.get(QUARANTINE)?.[0]?.records ?? [];
    expect(q.map((r) => [String(r.key), String(r.value), String(r.headers.h), r.timestamp])).toEqual([
      ['b0', 'b0', '1', '1000'],
      ['b1', 'b1', '1', '1000'],
    ]);
    expect(
      q.map(
        (r) =>
          `${r.headers[PROVENANCE.topic]}/${r.headers[PROVENANCE.partition]}/${r.headers[PROVENANCE.offset]}`,
      ),
    ).toEqual(['orders/0/3', 'orders/0/4']);
  });

  it('reports per-partition counts of what salvage copied', async () => {
    // Act
    const results = await untilDone(w);

    // Assert
    const salvage = results.flatMap((r) => r.ran).find((r) => r.phase === 'salvage')?.summary;
    expect(salvage).toMatchObject({
      partitions: [
        {
          topic: 'orders',
          partition: 0,
          lastReplicated: 2,
          primaryLogEnd: 5,
          toSalvage: 2,
          salvaged: 2,
          remaining: 0,
        },
        {
          topic: 'orders',
          partition: 1,
          lastReplicated: 1,
          primaryLogEnd: 3,
          toSalvage: 1,
          salvaged: 1,
          remaining: 0,
        },
      ],
      totalSalvaged: 3,
    });
  });

  it('waits for confirm: true before purge and deletes nothing without it', async () => {
    // Act
    const first = await w.invoke({});

    // Assert
    expect(first.status).toBe('waiting');
    expect(first.currentPhase).toBe('purge');
    expect(first.waiting?.waitingFor).toBe('confirm');
    expect(first.nextStep).toContain('purge deletes 8 stale record(s) on the primary');
    expect(w.primary.calls.filter((c) => c.startsWith('deleteRecordsBefore'))).toEqual([]);
  });

  it('salvages only the part of the tail the forward mirror did not copy by itself after the primary came back', async () => {
    // Arrange: the still-configured forward mirror copies partition 0's tail before failback stops it.
    w.mirror.forward = 'running';
    w.mirror.poll();
    w.primary.write('orders', 1, ['b3']);

    // Act
    await untilDone(w);

    // Assert
    expect(w.secondary.values(QUARANTINE)).toEqual(['b3']);
    expect(w.primary.values('orders').sort()).toEqual(
      ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2'].sort(),
    );
  });

  it('copies nothing twice when an invocation dies between a quarantine write and its journal entry', async () => {
    // Arrange
    w.secondary.createTopic(QUARANTINE, 2);
    w.secondary.failAfterNextAppend = true;

    // Act
    await expect(w.invoke({})).rejects.toThrow('crashed after writing');
    w.now.t += 121_000; // the dead invocation's lease ran out
    await untilDone(w);

    // Assert
    expect(w.secondary.values(QUARANTINE).sort()).toEqual(['b0', 'b1', 'b2']);
  });

  it('resumes from the journal: a second invocation continues after the phase the first one ran', async () => {
    // Act
    const first = await w.invoke({ phase: 'prepare' }, 'req-a');
    const second = await w.invoke({}, 'req-b');

    // Assert
    expect(first.ran.map((r) => r.phase)).toEqual(['prepare']);
    expect(first.nextStep).toBe("invoke again to run 'salvage'");
    expect(second.runId).toBe(first.runId);
    expect(second.ran.map((r) => r.phase)).toEqual(['salvage', 'reverse']);
    expect(w.journal.entries).toHaveLength(1);
  });

  it('stops at its deadline after journaling and goes on from there in the next invocation', async () => {
    // Arrange: catch-up cannot finish while the reverse mirror copies nothing.
    const reverse = w.mirror.poll.bind(w.mirror);
    let frozen = true;
    w.mirror.poll = () => {
      if (!frozen) reverse();
    };
    await w.invoke({});

    // Act
    const stuck = await w.invoke({ phase: 'purge', confirm: true }, 'req-2');
    const waiting = await w.invoke({}, 'req-3', 10_000);
    frozen = false;
    const done = await w.invoke({}, 'req-4');

    // Assert
    expect(stuck.ran.map((r) => r.phase)).toEqual(['purge']);
    expect(waiting.status).toBe('in-progress');
    expect(waiting.currentPhase).toBe('catch-up');
    expect(waiting.progress).toMatchObject({ remaining: 8, percent: 0, etaSeconds: null });
    expect(done.status).toBe('completed');
  });

  it('refuses a phase requested out of order, saying which is due, and writes nothing', async () => {
    // Act
    const refused = w.invoke({ phase: 'purge', confirm: true });

    // Assert
    await expect(refused).rejects.toThrow(RefusedError);
    await expect(refused).rejects.toThrow("phase 'purge' is out of order: 'prepare' is due next");
    await expect(refused).rejects.toMatchObject({ reasons: [{ code: 'phase-out-of-order' }] });
    expect(w.journal.writes).toBe(0);
    expect(w.stores.writes).toEqual([]);
    expect(w.primary.calls).toEqual([]);
    expect(w.mirror.calls).toEqual([]);
  });

  it('refuses confirm while a phase other than purge is due, and writes nothing', async () => {
    // Act
    const refused = w.invoke({ confirm: true });

    // Assert
    await expect(refused).rejects.toMatchObject({
      reasons: [
        {
          code: 'confirm-not-due',
          message: "confirm is only accepted when 'purge' or 'restore' is due; 'prepare' is due",
        },
      ],
    });
    expect(w.journal.writes).toBe(0);
    expect(w.primary.calls).toEqual([]);
  });

  it('refuses an invalid payload listing every problem by path, and writes nothing', async () => {
    // Act: parsed first, as the handler's input middleware does, and refused before the run starts.
    const refused = (async () =>
      runFailback(
        parseFailbackRequest({
          action: 'failbak',
          phase: 'reboot',
          confirm: 'yes',
          requestedBy: '',
          extra: 1,
        }),
        w.deps,
        { journal: failbackJournal(w.journal), lock: w.lock, holder: 'x', deadlineAt: w.now.t + 1000 },
      ))();

    // Assert
    const e = await refused.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).problems.map((p) => p.path).sort()).toEqual(
      ['', 'action', 'confirm', 'phase', 'reason', 'requestedBy'].sort(),
    );
    expect(w.lock.acquisitions).toBe(0);
    expect(w.journal.writes).toBe(0);
  });

  it('refuses a second concurrent invocation while the first holds the lock, naming the holder', async () => {
    // Arrange
    await w.lock.acquire('req-first');

    // Act
    const refused = w.invoke({}, 'req-second');

    // Assert
    await expect(refused).rejects.toBeInstanceOf(LockHeldError);
    await expect(refused).rejects.toThrow('req-first');
    expect(w.journal.writes).toBe(0);
  });

  it('stops an invocation whose lease was taken over at its next journal write, and it changes nothing more', async () => {
    // Arrange: while req-A salvages, its lease runs out (it stalled) and req-B takes the lock over.
    const append = w.secondary.append.bind(w.secondary);
    let tookOver = false;
    let fenced = false;
    const appendsAfterFence: string[] = [];
    w.secondary.append = async (topic, partition, records) => {
      if (fenced) appendsAfterFence.push(`${topic}[${partition}]`);
      const base = await append(topic, partition, records);
      if (!tookOver) {
        tookOver = true;
        w.now.t += 121_000;
        await w.lock.acquire('req-B');
      }
      return base;
    };
    const recordStep = w.journal.recordStep.bind(w.journal);
    w.journal.recordStep = async (...args) => {
      try {
        return await recordStep(...args);
      } catch (e: unknown) {
        fenced = true;
        throw e;
      }
    };

    // Act
    const lost = await w.invoke({}, 'req-A').catch((e: unknown) => e);

    // Assert
    expect(lost).toBeInstanceOf(LockHeldError);
    expect(fenced).toBe(true);
    expect(appendsAfterFence).toEqual([]);
    expect(w.mirror.calls).toEqual(['stopForward']);
    expect(w.primary.calls.filter((c) => c.startsWith('deleteRecordsBefore'))).toEqual([]);
    expect(w.lock.holder).toBe('req-B');
    const journaled = await failbackJournal(w.journal).load();
    const partitions = journaled.kind === 'in-progress' ? journaled.state.salvage?.partitions : undefined;
    expect(Object.values(partitions ?? {}).map((p) => p.copied)).toEqual([0, 0]);
  });

  it('answers with what a finished invocation did even when giving the lock back fails afterwards', async () => {
    // Arrange
    const warnings: unknown[] = [];
    w.deps.logger = { info: () => {}, warn: (...a: unknown[]) => warnings.push(a) } as FailbackDeps['logger'];
    w.lock.release = async () => {
      throw new Error('ProvisionedThroughputExceededException: rate of requests exceeds the throughput');
    };

    // Act
    const r = await w.invoke({ phase: 'prepare' });

    // Assert
    expect(r.ran.map((x) => x.phase)).toEqual(['prepare']);
    expect(warnings).toContainEqual([
      'failback could not give the lock back; its lease runs out by itself',
      { holder: 'req-1', error: expect.stringContaining('ProvisionedThroughputExceededException') },
    ]);
  });

  it('reports the failure of the invocation, not the failed release of the lock after it', async () => {
    // Arrange
    await w.invoke({ phase: 'prepare' });
    w.primary.offsets = async () => {
      throw new Error('primary offsets unreadable');
    };
    w.lock.release = async () => {
      throw new Error('lock table unreachable');
    };

    // Act
    const failed = w.invoke({}, 'req-2');

    // Assert
    await expect(failed).rejects.toThrow('primary offsets unreadable');
  });

  it('reports a phase already done instead of running it again', async () => {
    // Arrange
    await w.invoke({ phase: 'prepare' });

    // Act
    const again = await w.invoke({ phase: 'prepare' }, 'req-2');

    // Assert
    expect(again.ran).toEqual([]);
    expect(again.nextStep).toContain("phase 'prepare' is already done");
  });

  it('waits while the primary is unhealthy and records nothing about salvage', async () => {
    // Arrange
    w.primary.healthy = false;

    // Act
    const r = await w.invoke({});

    // Assert
    expect(r.status).toBe('waiting');
    expect(r.currentPhase).toBe('prepare');
    expect(r.nextStep).toContain('the primary is not healthy');
    expect(w.mirror.calls).toEqual([]);
  });

  it('refuses when the primary is already active', async () => {
    // Arrange
    await untilDone(w);

    // Act
    const again = w.invoke({}, 'req-later');

    // Assert
    await expect(again).rejects.toThrow('the active cluster is already the primary (epoch 3)');
    await expect(again).rejects.toMatchObject({ reasons: [{ code: 'primary-already-active' }] });
  });

  it('translates consumer offsets back from the reverse mirror checkpoints and commits them on the primary', async () => {
    // Arrange: the reverse checkpoint connector translated billing's position on the secondary.
    w.primary.checkpoints = [
      { group: 'billing', topic: 'orders', partition: 0, upstreamOffset: 4, downstreamOffset: 9 },
      { group: 'billing', topic: 'orders', partition: 1, upstreamOffset: 3, downstreamOffset: 8 },
    ];

    // Act
    await untilDone(w);

    // Assert
    expect(w.primary.committed.get('billing')?.get(tpKey('orders', 0))).toBe(9);
    expect(w.primary.committed.get('billing')?.get(tpKey('orders', 1))).toBe(8);
  });

  it('moves producers first when the config says so', async () => {
    // Arrange
    w = await world(
      configOf({ failback: { stableSeconds: 0, switchStageSeconds: 0, switchOrder: 'producers-first' } }),
    );

    // Act
    await untilDone(w);

    // Assert
    expect(w.activeWrites).toEqual([
      { epoch: 2, cluster: 'primary', holdback: 'consumers@secondary' },
      { epoch: 3, cluster: 'primary' },
    ]);
    expect(w.activeSecrets).toEqual([
      { epoch: 2, cluster: 'primary', holdback: 'secondary' },
      { epoch: 3, cluster: 'primary' },
    ]);
  });

  it('journals at least every 30 s while waiting between switch stages, so the lock lease never runs out', async () => {
    // Arrange
    w = await world(configOf({ failback: { stableSeconds: 0, switchStageSeconds: 300 } }));
    await w.invoke({});
    await w.invoke({ phase: 'purge', confirm: true }, 'req-2');
    const writesBefore = w.journal.writes;
    const t0 = w.now.t;

    // Act
    const r = await w.invoke({}, 'req-3');

    // Assert
    expect(r.status).toBe('completed');
    expect(w.now.t - t0).toBeGreaterThanOrEqual(300_000);
    expect(w.journal.writes - writesBefore).toBeGreaterThanOrEqual(10);
  });

  it('tells operators when clients are back on the primary and when failback completed, without secrets', async () => {
    // Arrange
    const published: Array<{ subject: string; text: string; attributes: Record<string, string> }> = [];
    w.deps.notifier = {
      publish: async (n) => {
        published.push(n);
        return {};
      },
    };
    await w.stores.secrets.put(
      deploymentPaths('orders-dr').clusterSecret('primary'),
      new Redacted('{"username":"svc","password":"hunter2-secret"}'),
    );

    // Act
    await untilDone(w);

    // Assert
    expect(published.map((n) => n.attributes.event)).toEqual(['failback-switched', 'failback-completed']);
    expect(published[0]?.subject).toBe('mm2-failover orders-dr: failback switched clients to the primary');
    expect(published[1]?.text).toContain('Salvaged into mm2-failover.quarantine: 3 record(s)');
    expect(published[1]?.text).toContain('Purged on the primary: 8 stale record(s).');
    expect(JSON.stringify(published)).not.toContain('hunter2');
  });

  it('finishes the failback even if the notification cannot be sent', async () => {
    // Arrange
    w.deps.notifier = {
      publish: async () => {
        throw new Error('SNS down');
      },
    };

    // Act
    const results = await untilDone(w);

    // Assert
    expect(results[results.length - 1]?.status).toBe('completed');
  });

  it('plans without writing anything and shows per-partition counts to salvage and to purge', async () => {
    // Act
    const r = await w.invoke({ phase: 'plan' });

    // Assert
    expect(r.status).toBe('planned');
    expect(r.plan).toMatchObject({
      salvage: {
        totalRemaining: 3,
        partitions: [
          { partition: 0, toSalvage: 2 },
          { partition: 1, toSalvage: 1 },
        ],
      },
      purge: {
        totalToDelete: 8,
        partitions: [
          { partition: 0, toDelete: 5 },
          { partition: 1, toDelete: 3 },
        ],
      },
    });
    expect(w.journal.writes).toBe(0);
    expect(w.stores.writes).toEqual([]);
    expect(w.mirror.calls).toEqual([]);
    expect(w.secondary.topics.has(QUARANTINE)).toBe(false);
  });
});

describe('runFailback switch: consumer groups still registered on the primary', () => {
  const checkpoints = [
    { group: 'billing', topic: 'orders', partition: 0, upstreamOffset: 4, downstreamOffset: 9 },
    { group: 'billing', topic: 'orders', partition: 1, upstreamOffset: 3, downstreamOffset: 8 },
  ];

  it('waits for a leftover member to leave the group on the primary, then translates its offsets back', async () => {
    // Arrange: the consumer that was on the primary when it died is still listed by the restarted coordinator.
    const w = await world();
    w.primary.checkpoints = checkpoints;
    let leavesAt: number | undefined;
    w.primary.membersOf = () => {
      leavesAt ??= w.now.t + 25_000; // its session times out 25 s after the switch first looks
      return w.now.t < leavesAt ? 1 : 0;
    };

    // Act
    const results = await untilDone(w);

    // Assert
    expect(w.primary.committed.get('billing')?.get(tpKey('orders', 0))).toBe(9);
    expect(w.primary.committed.get('billing')?.get(tpKey('orders', 1))).toBe(8);
    const sw = results.flatMap((r) => r.ran).find((r) => r.phase === 'switch')?.summary as {
      groups: Array<{ group: string; committed: number; skipped?: string }>;
    };
    expect(sw.groups).toEqual([{ group: 'billing', committed: 2, untranslated: [] }]);
    expect(w.activeWrites.map((a) => a.epoch)).toEqual([2, 3]);
  });

  it('gives up after failback.groupIdleWaitSeconds, switches anyway and reports the group untranslated', async () => {
    const w = await world(
      configOf({
        failback: {
          stableSeconds: 0,
          switchStageSeconds: 0,
          catchUpMaxLagRecords: 0,
          groupIdleWaitSeconds: 10,
        },
      }),
    );
    w.primary.checkpoints = checkpoints;
    w.primary.membersOf = () => 1; // a consumer that does not follow the active configuration
    const startedAt = w.now.t;

    const results = await untilDone(w);

    expect(w.primary.committed.size).toBe(0);
    const sw = results.flatMap((r) => r.ran).find((r) => r.phase === 'switch')?.summary as {
      groups: Array<{ group: string; skipped?: string }>;
    };
    expect(sw.groups).toEqual([
      { group: 'billing', committed: 0, untranslated: [], skipped: 'group-active' },
    ]);
    expect(w.now.t - startedAt).toBeGreaterThanOrEqual(10_000);
    expect(w.now.t - startedAt).toBeLessThan(15_000);
  });

  it('continues the same wait in the next invocation when the deadline comes first', async () => {
    // Arrange: members stay; each invocation has 20 s; the wait is 60 s from the first look. A wait that began
    // again in every invocation would never end.
    const w = await world();
    w.primary.checkpoints = checkpoints;
    let firstLook: number | undefined;
    let lastLook = 0;
    w.primary.membersOf = () => {
      firstLook ??= w.now.t;
      lastLook = w.now.t;
      return 1;
    };
    const results: FailbackResult[] = [];

    // Act
    for (let i = 0; i < 12; i += 1) {
      const confirm = results[results.length - 1]?.waiting?.waitingFor === 'confirm';
      const r = await w.invoke(confirm ? { phase: 'purge', confirm: true } : {}, `req-${i}`, 20_000);
      results.push(r);
      if (r.status === 'completed') break;
    }

    // Assert
    expect(results.at(-1)?.status).toBe('completed');
    expect(results.filter((r) => r.currentPhase === 'switch').length).toBeGreaterThanOrEqual(2);
    expect(lastLook - (firstLook ?? 0)).toBeGreaterThanOrEqual(60_000);
    expect(lastLook - (firstLook ?? 0)).toBeLessThan(65_000);
    const sw = results.flatMap((r) => r.ran).find((r) => r.phase === 'switch');
    expect(sw?.summary).toMatchObject({ groups: [{ group: 'billing', skipped: 'group-active' }] });
  });
});

describe('runFailback switch in the extra regions', () => {
  const paths = deploymentPaths('orders-dr');
  const regionsOf = (regions: string[]) =>
    configOf({ regions, failback: { stableSeconds: 0, switchStageSeconds: 0, catchUpMaxLagRecords: 0 } });
  type SwitchSummary = { regions: Array<Record<string, unknown>> };
  const switchSummary = (results: FailbackResult[]): SwitchSummary | undefined =>
    results.flatMap((r) => r.ran).find((r) => r.phase === 'switch')?.summary as SwitchSummary | undefined;

  it('writes both stages to each extra region as in the home region, holdback included, and not the home region again', async () => {
    // Arrange: eu-west-1 is the function's own region.
    const w = await world(regionsOf(['eu-central-1', 'eu-west-1']));
    const region = w.regions.of('eu-central-1');
    const written = watchActive(region, paths);

    // Act
    const planned = await w.invoke({ phase: 'plan' });
    const results = await untilDone(w);

    // Assert
    expect(planned.plan).toMatchObject({ switch: { extraRegions: ['eu-central-1'] } });
    expect(written.activeWrites).toEqual(consumersFirst.parameters);
    expect(written.activeSecrets).toEqual(consumersFirst.secrets);
    expect(region.writes).toEqual([...stageWrites(paths), ...stageWrites(paths)]);
    for (const name of [paths.activeParameter, paths.activeBootstrapParameter]) {
      expect(region.params.get(name)?.value).toBe(w.stores.params.get(name)?.value);
    }
    expect(region.secretJson(paths.activeCredentialsSecret)).toEqual(
      w.stores.secretJson(paths.activeCredentialsSecret),
    );
    expect(w.regions.byRegion.has('eu-west-1')).toBe(false);
    expect(switchSummary(results)?.regions).toEqual([
      { region: 'eu-central-1', stage: 1, epoch: 2, ok: true },
      { region: 'eu-central-1', stage: 2, epoch: 3, ok: true },
    ]);
  });

  it('reports a region it cannot write, in the summary, the log and the notification, and still switches everyone back', async () => {
    // Arrange
    const w = await world(regionsOf(['us-east-1', 'eu-central-1']));
    w.regions.of('us-east-1').failWith = Object.assign(new Error('connect ETIMEDOUT 52.94.0.1:443'), {
      name: 'TimeoutError',
    });
    await w.stores.secrets.put(
      paths.clusterSecret('primary'),
      new Redacted('{"username":"svc","password":"hunter2-secret"}'),
    );
    const published: Notification[] = [];
    w.deps.notifier = {
      publish: async (n) => {
        published.push(n);
        return {};
      },
    };
    const logs: unknown[] = [];
    w.deps.logger = {
      info: (...a: unknown[]) => logs.push(a),
      warn: (...a: unknown[]) => logs.push(['warn', ...a]),
    } as FailbackDeps['logger'];

    // Act
    const results = await untilDone(w);

    // Assert
    expect(results[results.length - 1]?.status).toBe('completed');
    expect(w.activeWrites.map((a) => a.epoch)).toEqual([2, 3]);
    expect(w.regions.of('eu-central-1').params.get(paths.activeParameter)?.value).toBe(
      w.stores.params.get(paths.activeParameter)?.value,
    );
    const error = 'TimeoutError: connect ETIMEDOUT 52.94.0.1:443';
    expect(switchSummary(results)?.regions).toEqual([
      { region: 'us-east-1', stage: 1, epoch: 2, ok: false, error },
      { region: 'eu-central-1', stage: 1, epoch: 2, ok: true },
      { region: 'us-east-1', stage: 2, epoch: 3, ok: false, error },
      { region: 'eu-central-1', stage: 2, epoch: 3, ok: true },
    ]);
    const switched = published.find((n) => n.attributes.event === 'failback-switched')?.text ?? '';
    expect(switched).toContain(`Extra region us-east-1, epoch 2 (stage 1/2): NOT written (${error}).`);
    expect(switched).toContain(`Extra region us-east-1, epoch 3 (stage 2/2): NOT written (${error}).`);
    expect(switched).toContain('Extra region eu-central-1, epoch 3 (stage 2/2): written.');
    expect(switched).toContain('Clients in us-east-1 still read an earlier epoch there');
    expect(logs).toContainEqual([
      'warn',
      'failback switch could not write an extra region',
      { region: 'us-east-1', stage: 1, epoch: 2, error },
    ]);
    expect(JSON.stringify([published, logs, results])).not.toContain('hunter2');
  });

  it('does not write a region again for a stage a resumed invocation finds journaled', async () => {
    // Arrange: the invocation loses its lease right after stage 1 reached the extra region and was journaled.
    const w = await world(regionsOf(['eu-central-1']));
    const region = watchActive(w.regions.of('eu-central-1'), paths);
    const recordStep = w.journal.recordStep.bind(w.journal);
    let lost = false;
    w.journal.recordStep = async (runId, step, result, holder) => {
      const sw = (result as { switch?: { stagesWritten: number } }).switch;
      if (!lost && sw?.stagesWritten === 1) {
        lost = true;
        throw new Error('lease lost');
      }
      return recordStep(runId, step, result, holder);
    };
    await w.invoke({});
    await w.invoke({ phase: 'purge', confirm: true }, 'req-2');

    // Act
    await expect(w.invoke({}, 'req-3')).rejects.toThrow('lease lost');
    const resumed = await w.invoke({}, 'req-4');

    // Assert
    expect(resumed.status).toBe('completed');
    expect(region.activeWrites).toEqual(consumersFirst.parameters);
    expect(w.activeWrites.map((a) => a.epoch)).toEqual([2, 3]);
    expect(switchSummary([resumed])?.regions).toEqual([
      { region: 'eu-central-1', stage: 1, epoch: 2, ok: true },
      { region: 'eu-central-1', stage: 2, epoch: 3, ok: true },
    ]);
  });

  it("copies the home region's stage to a region when the invocation that wrote it died before the region", async () => {
    // Arrange: the invocation dies right after stage 1's home-region write.
    const w = await world(regionsOf(['eu-central-1']));
    const region = watchActive(w.regions.of('eu-central-1'), paths);
    let died = false;
    w.deps.logger = {
      info: (message: string) => {
        if (!died && message === 'failback switch: stage written') {
          died = true;
          throw new Error('invocation died');
        }
      },
      warn: () => {},
    } as FailbackDeps['logger'];
    await w.invoke({});
    await w.invoke({ phase: 'purge', confirm: true }, 'req-2');
    await expect(w.invoke({}, 'req-3')).rejects.toThrow('invocation died');
    const homeStage1 = w.stores.params.get(paths.activeParameter)?.value;

    // Act
    const resumed = await w.invoke({}, 'req-4');

    // Assert
    expect(resumed.status).toBe('completed');
    expect(w.activeWrites.map((a) => a.epoch)).toEqual([2, 3]);
    expect(region.parameterValues[0]).toBe(homeStage1);
    expect(region.activeSecrets).toEqual(consumersFirst.secrets);
  });
});

describe('runFailback refusals by deployment', () => {
  it('refuses mirrorConfirmed unless the mirror is manual', async () => {
    // Arrange
    const w = await world();

    // Act
    const refused = w.invoke({ mirrorConfirmed: 'stop-forward' });

    // Assert
    await expect(refused).rejects.toThrow("mirrorConfirmed is for mirror.kind 'manual'");
    await expect(refused).rejects.toMatchObject({ reasons: [{ code: 'mirror-not-manual' }] });
  });
});

describe('runFailback (active-active)', () => {
  it('fails back with prepare, catch-up in both directions and switch; nothing purged, no mirror changed', async () => {
    // Arrange
    const w = await world(configOf({ mode: 'active-active', replicationPolicy: 'default' }));
    w.mirror.forward = 'running';
    w.mirror.reverse = 'running';

    // Act
    const r = await w.invoke({});

    // Assert
    expect(r.status).toBe('completed');
    expect(r.ran.map((x) => x.phase)).toEqual(['prepare', 'catch-up', 'switch']);
    const catchUp = r.ran[1]?.summary as { directions: object } | undefined;
    expect(Object.keys(catchUp?.directions ?? {}).sort()).toEqual([
      'primary->secondary',
      'secondary->primary',
    ]);
    expect(w.mirror.calls).toEqual([]);
    expect(w.primary.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    expect(w.activeWrites.map((a) => a.epoch)).toEqual([2, 3]);
  });

  it('refuses phases active-active does not have', async () => {
    // Arrange
    const w = await world(configOf({ mode: 'active-active', replicationPolicy: 'default' }));

    // Act
    const refused = w.invoke({ phase: 'purge', confirm: true });

    // Assert
    await expect(refused).rejects.toThrow("phase 'purge' does not exist in active-active mode");
    await expect(refused).rejects.toMatchObject({ reasons: [{ code: 'phase-not-in-mode' }] });
  });
});
