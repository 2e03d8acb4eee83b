import { beforeEach, describe, expect, it } from 'vitest';
import { Deadline } from '#shared/health/deadline.ts';
import {
  measureReplication,
  type ReplicationProbeInput,
  ReplicationState,
} from '#shared/health/replication-probe.ts';
import {
  encodeCheckpointKey,
  encodeCheckpointValue,
  encodeHeartbeatKey,
  encodeHeartbeatValue,
  encodeOffsetSyncKey,
  encodeOffsetSyncValue,
} from '#shared/kafka/mm2-records.ts';
import { replicationPolicy } from '#shared/kafka/replication-policy.ts';
import { FakeCluster } from '../kafka/fake-cluster.ts';

const NOW = 1_700_000_100_000;
const clock = { now: () => NOW };
const policy = replicationPolicy({ kind: 'default' });
const input: ReplicationProbeInput = {
  direction: { source: 'primary', target: 'secondary', sourceAlias: 'primary', targetAlias: 'secondary' },
  policy,
  topics: ['orders'],
  groups: ['billing'],
  sourceCanaryTopic: 'canary',
  remoteCanaryTopic: 'primary.canary',
};
const value = Buffer.from('x');

function fill(cluster: FakeCluster, topic: string, partition: number, count: number, timestamp = 0): void {
  for (let i = 0; i < count; i++) cluster.append(topic, partition, null, value, timestamp);
}

function sync(
  cluster: FakeCluster,
  topic: string,
  partition: number,
  upstream: bigint,
  downstream: bigint,
): void {
  cluster.append(
    'mm2-offset-syncs.primary.internal',
    0,
    encodeOffsetSyncKey({ topic, partition }),
    encodeOffsetSyncValue({ upstreamOffset: upstream, downstreamOffset: downstream }),
  );
}

describe('measureReplication', () => {
  let source: FakeCluster;
  let target: FakeCluster;
  let state: ReplicationState;
  const run = (overrides: { source?: FakeCluster | undefined; target?: FakeCluster | undefined } = {}) =>
    measureReplication(input, {
      source: 'source' in overrides ? overrides.source : source,
      target: 'target' in overrides ? overrides.target : target,
      deadline: Deadline.in(7_000),
      clock,
      state,
    });

  beforeEach(() => {
    state = new ReplicationState();
    source = new FakeCluster().addTopic('canary', 1).addTopic('orders', 2);
    target = new FakeCluster()
      .addTopic('primary.canary', 1)
      .addTopic('primary.orders', 2)
      .addTopic('mm2-offset-syncs.primary.internal', 1)
      .addTopic('primary.checkpoints.internal', 1);
  });

  describe('lag in seconds, from the canary', () => {
    it('is how long the oldest unreplicated canary has waited when the target is behind', async () => {
      // Arrange: canaries at t-30 s, t-20 s, t-10 s on the source; the first two arrived.
      for (const ago of [30_000, 20_000, 10_000]) source.append('canary', 0, null, value, NOW - ago);
      for (const ago of [30_000, 20_000]) target.append('primary.canary', 0, null, value, NOW - ago);
      // Act
      const { health } = await run();
      // Assert
      expect(health.lagSeconds).toBe(10);
      expect(health.canaryAgeSeconds).toBe(20);
    });

    it('is 0 when every canary of the source has arrived', async () => {
      source.append('canary', 0, null, value, NOW - 5_000);
      target.append('primary.canary', 0, null, value, NOW - 5_000);
      const { health } = await run();
      expect(health.lagSeconds).toBe(0);
      expect(health.canaryAgeSeconds).toBe(5);
    });

    it('counts from the first canary when nothing has been replicated yet', async () => {
      source.append('canary', 0, null, value, NOW - 42_000);
      const { health } = await run();
      expect(health.lagSeconds).toBe(42);
      expect(health.canaryAgeSeconds).toBeUndefined();
    });

    it('reports canary-not-replicated when the mirrored canary topic does not exist', async () => {
      target.topics.delete('primary.canary');
      const { health } = await run();
      expect(health.reasons).toContain('canary-not-replicated');
      expect(health.lagSeconds).toBeUndefined();
    });
  });

  describe('backlog in records, from offset syncs', () => {
    it("anchors at the last offset sync and counts the target's progress since, not target end minus source end", async () => {
      // Arrange: source p0 holds 100 records; MM2 synced upstream 50 -> downstream 40 and wrote 15 more since.
      fill(source, 'orders', 0, 100);
      fill(target, 'primary.orders', 0, 55);
      sync(target, 'orders', 0, 10n, 5n);
      sync(target, 'orders', 0, 50n, 40n);
      // p1: fully replicated, offsets identical.
      fill(source, 'orders', 1, 20);
      fill(target, 'primary.orders', 1, 20);
      sync(target, 'orders', 1, 19n, 19n);
      // Act
      const { health } = await run();
      // Assert: next upstream to copy on p0 is 50 + (55 - 40) = 65, so 35 behind; p1 is caught up.
      expect(health.backlogRecords).toBe(35);
      expect(health.topics).toEqual([
        {
          topic: 'orders',
          remoteTopic: 'primary.orders',
          partitions: 2,
          backlogRecords: 35,
          partitionsWithoutSync: 0,
        },
      ]);
      expect(health.reasons).toEqual([]);
    });

    it('counts every readable record of a partition that has no offset sync yet', async () => {
      fill(source, 'orders', 0, 30);
      source.partition('orders', 0).start = 10;
      const { health } = await run();
      expect(health.topics[0]).toMatchObject({ backlogRecords: 20, partitionsWithoutSync: 2 });
    });

    it('finds offset syncs on the source when MM2 keeps them there (the default location)', async () => {
      target.topics.delete('mm2-offset-syncs.primary.internal');
      source.addTopic('mm2-offset-syncs.secondary.internal', 1);
      fill(source, 'orders', 0, 10);
      fill(target, 'primary.orders', 0, 10);
      source.append(
        'mm2-offset-syncs.secondary.internal',
        0,
        encodeOffsetSyncKey({ topic: 'orders', partition: 0 }),
        encodeOffsetSyncValue({ upstreamOffset: 9n, downstreamOffset: 9n }),
      );
      const { health } = await run();
      expect(health.backlogRecords).toBe(0);
      expect(state.offsetSyncsLocation).toBe('source');
    });

    it('reports offset-syncs-missing and a conservative backlog when neither cluster has offset syncs', async () => {
      target.topics.delete('mm2-offset-syncs.primary.internal');
      fill(source, 'orders', 0, 7);
      const { health } = await run();
      expect(health.reasons).toContain('offset-syncs-missing');
      expect(health.backlogRecords).toBe(7);
    });

    it('reports source-topic-missing instead of a backlog of 0 when the watched topic is absent on the source', async () => {
      source.topics.delete('orders');
      const { health } = await run();
      expect(health.reasons).toContain('source-topic-missing');
      expect(health.topics[0]).toMatchObject({ topic: 'orders', partitions: 0 });
    });

    it('reports remote-topic-missing when MM2 has not created the mirrored topic', async () => {
      target.topics.delete('primary.orders');
      fill(source, 'orders', 1, 3);
      const { health } = await run();
      expect(health.reasons).toContain('remote-topic-missing');
      expect(health.backlogRecords).toBe(3);
    });
  });

  describe('checkpoint lag per group', () => {
    it('is the committed source offset minus the upstream offset of the last checkpoint', async () => {
      // Arrange
      fill(source, 'orders', 0, 100);
      fill(source, 'orders', 1, 100);
      source.commit('billing', 'orders', 0, 80);
      source.commit('billing', 'orders', 1, 60);
      source.commit('billing', 'unwatched', 0, 999);
      for (const [partition, upstream] of [
        [0, 70n],
        [1, 60n],
      ] as const) {
        target.append(
          'primary.checkpoints.internal',
          0,
          encodeCheckpointKey({ group: 'billing', topic: 'primary.orders', partition }),
          encodeCheckpointValue({ upstreamOffset: upstream, downstreamOffset: upstream }),
        );
      }
      // Act
      const { health } = await run();
      // Assert
      expect(health.groups).toEqual([
        { group: 'billing', checkpointLagRecords: 10, partitions: 2, partitionsWithoutCheckpoint: 0 },
      ]);
    });

    it('counts a partition without checkpoint from the start of the log', async () => {
      fill(source, 'orders', 0, 50);
      source.commit('billing', 'orders', 0, 25);
      const { health } = await run();
      expect(health.groups).toEqual([
        { group: 'billing', checkpointLagRecords: 25, partitions: 1, partitionsWithoutCheckpoint: 1 },
      ]);
    });

    it('reports checkpoints-missing when the checkpoints topic does not exist', async () => {
      target.topics.delete('primary.checkpoints.internal');
      const { health } = await run();
      expect(health.reasons).toContain('checkpoints-missing');
    });
  });

  it('reads the age of replicated MM2 heartbeats when they reach the target', async () => {
    target.addTopic('primary.heartbeats', 1);
    target.append(
      'primary.heartbeats',
      0,
      encodeHeartbeatKey({ sourceClusterAlias: 'x', targetClusterAlias: 'primary' }),
      encodeHeartbeatValue({ timestamp: NOW - 3_000 }),
    );
    const { health } = await run();
    expect(health.heartbeatAgeSeconds).toBe(3);
  });

  it('keeps the last complete measurement as lastGood while the source is down', async () => {
    // Arrange: one good cycle.
    source.append('canary', 0, null, value, NOW - 1_000);
    target.append('primary.canary', 0, null, value, NOW - 1_000);
    fill(source, 'orders', 0, 4);
    await run();
    // Act: the source is gone.
    const { health } = await run({ source: undefined });
    // Assert
    expect(health.reasons).toContain('source-down');
    expect(health.lagSeconds).toBeUndefined();
    expect(health.backlogRecords).toBeUndefined();
    expect(health.canaryAgeSeconds).toBe(1);
    expect(health.lastGood).toEqual({
      measuredAt: new Date(NOW).toISOString(),
      lagSeconds: 0,
      backlogRecords: 4,
    });
  });

  it('asks for a new source client when a source call fails at the connection level', async () => {
    const e = new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1');
    e.name = 'KafkaJSConnectionError';
    source.failWith = e;
    const problems: string[] = [];
    const outcome = await measureReplication(input, {
      source,
      target,
      deadline: Deadline.in(7_000),
      clock,
      state,
      onProblem: (what) => problems.push(what),
    });
    expect(outcome.sourceFailed).toBe(true);
    expect(outcome.targetFailed).toBe(false);
    expect(outcome.health.reasons).toContain('measurement-failed');
    expect(problems.length).toBeGreaterThan(0);
  });

  it('measures nothing and says target-down when the target is down', async () => {
    const { health } = await run({ target: undefined });
    expect(health.reasons).toEqual(['target-down']);
    expect(health.topics).toEqual([]);
  });
});
