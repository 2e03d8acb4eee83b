import { beforeEach, describe, expect, it } from 'vitest';
import { KafkaOperationError } from '#shared/errors.ts';
import {
  CheckpointReader,
  checkpointKey,
  OffsetSyncReader,
  readCheckpoints,
  readOffsetSyncs,
} from '#shared/kafka/mm2-internal-topics.ts';
import {
  encodeCheckpointKey,
  encodeCheckpointValue,
  encodeOffsetSyncKey,
  encodeOffsetSyncValue,
} from '#shared/kafka/mm2-records.ts';
import { tpKey } from '#shared/kafka/topic-partition.ts';
import { FakeCluster } from './fake-cluster.ts';

const TOPIC = 'primary.checkpoints.internal';

function checkpoint(
  cluster: FakeCluster,
  group: string,
  topic: string,
  partition: number,
  upstream: bigint,
  downstream: bigint,
  timestamp = 1_000,
): void {
  cluster.append(
    TOPIC,
    0,
    encodeCheckpointKey({ group, topic, partition }),
    encodeCheckpointValue({ upstreamOffset: upstream, downstreamOffset: downstream }),
    timestamp,
  );
}

describe('readCheckpoints', () => {
  let cluster: FakeCluster;
  beforeEach(() => {
    cluster = new FakeCluster().addTopic(TOPIC, 1);
  });

  it('keeps the last checkpoint per group, topic and partition when a key was written several times', async () => {
    // Arrange
    checkpoint(cluster, 'billing', 'primary.orders', 0, 10n, 8n);
    checkpoint(cluster, 'billing', 'primary.orders', 1, 5n, 5n);
    checkpoint(cluster, 'billing', 'primary.orders', 0, 20n, 17n, 2_000);
    checkpoint(cluster, 'shipping', 'primary.orders', 0, 3n, 3n);
    // Act
    const result = await readCheckpoints(cluster, TOPIC);
    // Assert
    expect(result.exists).toBe(true);
    expect(result.byGroup.get('billing')).toEqual([
      {
        group: 'billing',
        topic: 'primary.orders',
        partition: 0,
        upstreamOffset: 20,
        downstreamOffset: 17,
        metadata: '',
        emittedAt: 2_000,
      },
      {
        group: 'billing',
        topic: 'primary.orders',
        partition: 1,
        upstreamOffset: 5,
        downstreamOffset: 5,
        metadata: '',
        emittedAt: 1_000,
      },
    ]);
    expect(result.byGroup.get('shipping')?.map((c) => c.downstreamOffset)).toEqual([3]);
  });

  it('reads the whole topic in several fetches when it is larger than one fetch', async () => {
    cluster.fetchBatch = 2;
    for (let i = 0; i < 7; i++) checkpoint(cluster, 'g', 'primary.t', 0, BigInt(i * 10), BigInt(i * 10));
    const result = await readCheckpoints(cluster, TOPIC);
    expect(result.byGroup.get('g')?.[0]?.upstreamOffset).toBe(60);
    expect(cluster.count('fetch')).toBe(4);
  });

  it('skips groups that were not asked for', async () => {
    checkpoint(cluster, 'billing', 'primary.orders', 0, 1n, 1n);
    checkpoint(cluster, 'other', 'primary.orders', 0, 1n, 1n);
    const result = await readCheckpoints(cluster, TOPIC, { groups: ['billing'] });
    expect([...result.byGroup.keys()]).toEqual(['billing']);
  });

  it('treats a tombstone as the deletion of that checkpoint', async () => {
    checkpoint(cluster, 'g', 'primary.orders', 0, 1n, 1n);
    cluster.append(
      TOPIC,
      0,
      encodeCheckpointKey({ group: 'g', topic: 'primary.orders', partition: 0 }),
      null,
    );
    const result = await readCheckpoints(cluster, TOPIC);
    expect(result.byGroup.get('g')).toBeUndefined();
  });

  it('counts and skips a malformed record instead of returning garbage offsets', async () => {
    checkpoint(cluster, 'g', 'primary.orders', 0, 1n, 1n);
    cluster.append(
      TOPIC,
      0,
      encodeCheckpointKey({ group: 'g', topic: 'primary.orders', partition: 1 }),
      Buffer.from([0, 9]),
    );
    const result = await readCheckpoints(cluster, TOPIC);
    expect(result.malformed).toBe(1);
    expect(result.firstMalformed).toMatch(
      /primary\.checkpoints\.internal-0@1: malformed MM2 checkpoint value: unknown version 9/,
    );
    expect(result.byGroup.get('g')).toHaveLength(1);
  });

  it('counts a checkpoint whose offsets a number cannot hold as malformed, never as a rounded offset', async () => {
    checkpoint(cluster, 'g', 'primary.orders', 0, 1n, 1n);
    checkpoint(cluster, 'g', 'primary.orders', 1, 2n ** 53n, 2n ** 53n);
    const result = await readCheckpoints(cluster, TOPIC);
    expect(result.malformed).toBe(1);
    expect(result.firstMalformed).toContain(
      'checkpoint upstreamOffset: expected an integer offset of at most',
    );
    expect(result.byGroup.get('g')?.map((c) => c.partition)).toEqual([0]);
  });

  it('steps over transaction markers and gaps without spinning', async () => {
    cluster.fetchBatch = 1;
    checkpoint(cluster, 'g', 'primary.orders', 0, 1n, 1n);
    cluster.gap(TOPIC, 0, 2, { control: true });
    checkpoint(cluster, 'g', 'primary.orders', 0, 9n, 9n);
    const result = await readCheckpoints(cluster, TOPIC);
    expect(result.byGroup.get('g')?.[0]?.upstreamOffset).toBe(9);
  });

  it('reports exists: false when the checkpoints topic is absent', async () => {
    const result = await readCheckpoints(new FakeCluster(), TOPIC);
    expect(result).toMatchObject({ exists: false, malformed: 0 });
    expect(result.byGroup.size).toBe(0);
  });

  it('throws a KafkaOperationError with reason no-leader when the partition has no leader', async () => {
    cluster.partition(TOPIC, 0).leader = -1;
    const error = await readCheckpoints(cluster, TOPIC).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaOperationError);
    expect((error as KafkaOperationError).reason).toBe('no-leader');
  });
});

describe('CheckpointReader', () => {
  it('reads only new records on the next read when kept across cycles', async () => {
    // Arrange
    const cluster = new FakeCluster().addTopic(TOPIC, 1);
    const reader = new CheckpointReader(TOPIC);
    checkpoint(cluster, 'g', 'primary.orders', 0, 1n, 1n);
    await reader.read(cluster);
    checkpoint(cluster, 'g', 'primary.orders', 0, 2n, 2n);
    // Act
    const result = await reader.read(cluster);
    // Assert
    expect(result.byGroup.get('g')?.[0]?.upstreamOffset).toBe(2);
    const fetches = cluster.calls.filter((c) => c.op === 'fetch').map((c) => c.detail);
    expect(fetches).toEqual([[`${TOPIC}-0@0`], [`${TOPIC}-0@1`]]);
  });

  it('starts over when the topic was recreated with fewer records than it had', async () => {
    const cluster = new FakeCluster().addTopic(TOPIC, 1);
    const reader = new CheckpointReader(TOPIC);
    checkpoint(cluster, 'old', 'primary.orders', 0, 1n, 1n);
    checkpoint(cluster, 'old', 'primary.orders', 1, 1n, 1n);
    await reader.read(cluster);
    cluster.addTopic(TOPIC, 1); // recreated, empty
    checkpoint(cluster, 'new', 'primary.orders', 0, 5n, 5n);
    const result = await reader.read(cluster);
    expect([...result.byGroup.keys()]).toEqual(['new']);
  });
});

describe('checkpointKey', () => {
  it('tells apart groups whose names hold colons, which topic-partition keys also use', () => {
    const a = checkpointKey({ group: 'app:1', topic: 'orders', partition: 2 });
    const b = checkpointKey({ group: 'app', topic: '1:orders', partition: 2 });
    expect(a).not.toBe(b);
    expect(a.endsWith(tpKey('orders', 2))).toBe(true);
  });
});

describe('readOffsetSyncs', () => {
  const SYNCS = 'mm2-offset-syncs.secondary.internal';
  const sync = (
    cluster: FakeCluster,
    topic: string,
    partition: number,
    upstream: bigint,
    downstream: bigint,
  ) =>
    cluster.append(
      SYNCS,
      0,
      encodeOffsetSyncKey({ topic, partition }),
      encodeOffsetSyncValue({ upstreamOffset: upstream, downstreamOffset: downstream }),
    );

  it('keeps the last sync per source partition, with number offsets', async () => {
    // Arrange
    const cluster = new FakeCluster().addTopic(SYNCS, 1);
    sync(cluster, 'orders', 0, 10n, 5n);
    sync(cluster, 'orders', 1, 3n, 3n);
    sync(cluster, 'orders', 0, 50n, 40n);
    // Act
    const result = await readOffsetSyncs(cluster, SYNCS);
    // Assert
    expect(result).toMatchObject({ topic: SYNCS, exists: true, complete: true, malformed: 0 });
    expect([...result.byPartition]).toEqual([
      [tpKey('orders', 0), { topic: 'orders', partition: 0, upstreamOffset: 50, downstreamOffset: 40 }],
      [tpKey('orders', 1), { topic: 'orders', partition: 1, upstreamOffset: 3, downstreamOffset: 3 }],
    ]);
  });

  it('reports exists: false when the offset-syncs topic is absent (kept on the other cluster)', async () => {
    const result = await readOffsetSyncs(new FakeCluster(), SYNCS);
    expect(result).toMatchObject({ exists: false, complete: true });
    expect(result.byPartition.size).toBe(0);
  });

  it('counts a sync that is not one as malformed and keeps the others', async () => {
    const cluster = new FakeCluster().addTopic(SYNCS, 1);
    sync(cluster, 'orders', 0, 10n, 5n);
    cluster.append(SYNCS, 0, encodeOffsetSyncKey({ topic: 'orders', partition: 1 }), Buffer.from([1, 2, 3]));
    const result = await readOffsetSyncs(cluster, SYNCS);
    expect(result.malformed).toBe(1);
    expect(result.firstMalformed).toMatch(/offset-sync value/);
    expect([...result.byPartition.keys()]).toEqual([tpKey('orders', 0)]);
  });

  it('stops when told to and says the read is incomplete; the kept reader carries on from there', async () => {
    // Arrange
    const cluster = new FakeCluster().addTopic(SYNCS, 1);
    cluster.fetchBatch = 1;
    sync(cluster, 'orders', 0, 1n, 1n);
    sync(cluster, 'orders', 0, 2n, 2n);
    const reader = new OffsetSyncReader(SYNCS);
    let fetchesAllowed = 1;
    // Act
    const first = await reader.read(cluster, { shouldContinue: () => fetchesAllowed-- > 0 });
    const second = await reader.read(cluster);
    // Assert
    expect(first.complete).toBe(false);
    expect(first.byPartition.get(tpKey('orders', 0))?.upstreamOffset).toBe(1);
    expect(second.complete).toBe(true);
    expect(second.byPartition.get(tpKey('orders', 0))?.upstreamOffset).toBe(2);
    const fetches = cluster.calls.filter((c) => c.op === 'fetch').map((c) => c.detail);
    expect(fetches).toEqual([[`${SYNCS}-0@0`], [`${SYNCS}-0@1`]]);
  });
});
