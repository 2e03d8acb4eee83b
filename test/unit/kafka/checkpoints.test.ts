import { beforeEach, describe, expect, it } from 'vitest';
import { KafkaOperationError } from '#shared/errors.ts';
import { CheckpointReader, readCheckpoints } from '#shared/kafka/checkpoints.ts';
import { encodeCheckpointKey, encodeCheckpointValue } from '#shared/kafka/mm2-records.ts';
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
        upstreamOffset: 20n,
        downstreamOffset: 17n,
        metadata: '',
        emittedAt: 2_000,
      },
      {
        group: 'billing',
        topic: 'primary.orders',
        partition: 1,
        upstreamOffset: 5n,
        downstreamOffset: 5n,
        metadata: '',
        emittedAt: 1_000,
      },
    ]);
    expect(result.byGroup.get('shipping')?.map((c) => c.downstreamOffset)).toEqual([3n]);
  });

  it('reads the whole topic in several fetches when it is larger than one fetch', async () => {
    cluster.fetchBatch = 2;
    for (let i = 0; i < 7; i++) checkpoint(cluster, 'g', 'primary.t', 0, BigInt(i * 10), BigInt(i * 10));
    const result = await readCheckpoints(cluster, TOPIC);
    expect(result.byGroup.get('g')?.[0]?.upstreamOffset).toBe(60n);
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

  it('steps over transaction markers and gaps without spinning', async () => {
    cluster.fetchBatch = 1;
    checkpoint(cluster, 'g', 'primary.orders', 0, 1n, 1n);
    cluster.gap(TOPIC, 0, 2, { control: true });
    checkpoint(cluster, 'g', 'primary.orders', 0, 9n, 9n);
    const result = await readCheckpoints(cluster, TOPIC);
    expect(result.byGroup.get('g')?.[0]?.upstreamOffset).toBe(9n);
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
    expect(result.byGroup.get('g')?.[0]?.upstreamOffset).toBe(2n);
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
