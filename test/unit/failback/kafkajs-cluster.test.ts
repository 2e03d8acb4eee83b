import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaOperationError } from '#shared/errors.ts';
import { KafkajsCluster } from '#shared/failback/kafkajs-cluster.ts';
import { encodeOffsetSyncKey, encodeOffsetSyncValue } from '#shared/kafka/mm2-records.ts';
import { FakeCluster } from '../kafka/fake-cluster.ts';

const groups = {
  readCheckpoints: async () => [],
  describeGroup: async () => ({ state: 'Dead', members: 0 }),
  committedOffsets: async () => [],
  commitOffsets: async () => {},
};

/** kafkajs is used for the admin and the producer only; reads go through the cluster client. */
const noKafka = {
  consumer: () => {
    throw new Error('a consumer group is never used to read');
  },
} as unknown as Kafka;

function clusterOn(fake: FakeCluster, kafka: Kafka = noKafka): KafkajsCluster {
  return new KafkajsCluster({ alias: 'primary', kafka, groups, clusterClient: async () => fake });
}

describe('KafkajsCluster.read', () => {
  it('reads through the direct fetch, read_committed, keeping key, value, headers and timestamp', async () => {
    // Arrange
    const fake = new FakeCluster().addTopic('orders', 1);
    for (let i = 0; i < 4; i += 1) {
      fake.append('orders', 0, Buffer.from(`k${i}`), Buffer.from(`v${i}`), 1000 + i, {
        trace: Buffer.from(`t${i}`),
      });
    }

    // Act
    const read = await clusterOn(fake).read('orders', 0, 1);

    // Assert
    expect(
      read.records.map((r) => [
        r.offset,
        String(r.key),
        String(r.value),
        String(r.headers.trace),
        r.timestamp,
      ]),
    ).toEqual([
      [1, 'k1', 'v1', 't1', '1001'],
      [2, 'k2', 'v2', 't2', '1002'],
      [3, 'k3', 'v3', 't3', '1003'],
    ]);
    expect(read.nextOffset).toBe(4);
    expect(fake.calls.find((c) => c.op === 'fetch')?.detail).toEqual(['orders-0@1']);
    expect(fake.calls.map((c) => c.op)).not.toContain('groupOffsets');
  });

  it('counts transaction markers and compaction gaps in the offsets it accounts for', async () => {
    // Arrange: a record, two offsets compacted away, a record, a commit marker.
    const fake = new FakeCluster().addTopic('orders', 1);
    fake.append('orders', 0, null, Buffer.from('a'));
    fake.gap('orders', 0, 2);
    fake.append('orders', 0, null, Buffer.from('b'));
    fake.gap('orders', 0, 1, { control: true });

    // Act
    const read = await clusterOn(fake).read('orders', 0, 0);

    // Assert
    expect(read.records.map((r) => r.offset)).toEqual([0, 3]);
    expect(read.nextOffset).toBe(5);
  });

  it('answers an offset below the log start with the log start and no progress', async () => {
    // Arrange: retention deleted offsets 0..2.
    const fake = new FakeCluster().addTopic('orders', 1);
    for (let i = 0; i < 5; i += 1) fake.append('orders', 0, null, Buffer.from(`v${i}`));
    fake.partition('orders', 0).start = 3;

    // Act
    const read = await clusterOn(fake).read('orders', 0, 1);

    // Assert
    expect(read).toEqual({ records: [], nextOffset: 1, logStart: 3 });
  });

  it('reports no progress, not an end, when the broker returns nothing', async () => {
    // Arrange: records compacted away at the end of the log leave offsets the broker returns nothing for.
    const fake = new FakeCluster().addTopic('orders', 1);
    fake.append('orders', 0, null, Buffer.from('a'));
    fake.gap('orders', 0, 3);

    // Act
    const read = await clusterOn(fake).read('orders', 0, 1);

    // Assert
    expect(read.records).toEqual([]);
    expect(read.nextOffset).toBe(1);
  });

  it('names the partition and the cluster when the fetch fails, and has the cached cluster client rebuilt', async () => {
    // Arrange
    const fake = new FakeCluster().addTopic('orders', 1);
    fake.failWith = Object.assign(new Error('Connection refused'), { name: 'KafkaJSConnectionError' });
    let rebuilt = 0;
    const cluster = new KafkajsCluster({
      alias: 'primary',
      kafka: noKafka,
      groups,
      clusterClient: async () => fake,
      onClusterClientFailure: () => {
        rebuilt += 1;
      },
    });

    // Act
    const error = await cluster.read('orders', 0, 0).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(KafkaOperationError);
    expect((error as Error).message).toContain('reading orders:0 on primary failed');
    expect(rebuilt).toBe(1);
  });
});

describe('KafkajsCluster.ensureTopic', () => {
  /** A kafkajs admin that knows `orders` with three replicas and records the topics created. */
  function kafkaWithAdmin(created: unknown[]): Kafka {
    const topics = new Set(['orders']);
    const admin = {
      connect: async () => {},
      disconnect: async () => {},
      listTopics: async () => [...topics],
      fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => ({
        topics: names.map((name) => ({
          name,
          partitions: [{ partitionId: 0, replicas: name === 'orders' ? [1, 2, 3] : [1] }],
        })),
      }),
      createTopics: async ({ topics: specs }: { topics: Array<{ topic: string }> }) => {
        for (const s of specs) {
          created.push(s);
          topics.add(s.topic);
        }
        return true;
      },
    };
    return { admin: () => admin } as unknown as Kafka;
  }

  it('creates the topic with the given configs and the replication factor of the first existing source topic', async () => {
    // Arrange
    const created: unknown[] = [];
    const cluster = clusterOn(new FakeCluster(), kafkaWithAdmin(created));

    // Act
    await cluster.ensureTopic('q', {
      partitions: 2,
      configs: { 'retention.ms': '-1', 'retention.bytes': '-1' },
      replicationFactorOf: ['missing', 'orders'],
    });

    // Assert
    expect(created).toEqual([
      {
        topic: 'q',
        numPartitions: 2,
        replicationFactor: 3,
        configEntries: [
          { name: 'retention.ms', value: '-1' },
          { name: 'retention.bytes', value: '-1' },
        ],
      },
    ]);
  });

  it("leaves the replication factor to the cluster's default when no source topic exists", async () => {
    // Arrange
    const created: Array<{ replicationFactor: number }> = [];
    const cluster = clusterOn(new FakeCluster(), kafkaWithAdmin(created));

    // Act
    await cluster.ensureTopic('q', { partitions: 1, configs: {}, replicationFactorOf: ['absent'] });

    // Assert
    expect(created[0]?.replicationFactor).toBe(-1);
  });
});

describe('KafkajsCluster.readOffsetSyncs', () => {
  const TOPIC = 'mm2-offset-syncs.secondary.internal';
  const sync = (cluster: FakeCluster, partition: number, upstream: bigint, downstream: bigint) =>
    cluster.append(
      TOPIC,
      0,
      encodeOffsetSyncKey({ topic: 'orders', partition }),
      encodeOffsetSyncValue({ upstreamOffset: upstream, downstreamOffset: downstream }),
    );

  it('returns every sync still in the topic, oldest first and when MM2 wrote it, read through the cluster client without a consumer group', async () => {
    // Arrange
    const fake = new FakeCluster().addTopic(TOPIC, 1);
    sync(fake, 0, 10n, 4n);
    sync(fake, 1, 7n, 7n);
    sync(fake, 0, 25n, 19n);
    const cluster = clusterOn(fake);

    // Act
    const syncs = await cluster.readOffsetSyncs(TOPIC);

    // Assert
    expect(syncs).toEqual([
      { topic: 'orders', partition: 0, upstreamOffset: 10, downstreamOffset: 4, writtenAt: 0 },
      { topic: 'orders', partition: 1, upstreamOffset: 7, downstreamOffset: 7, writtenAt: 0 },
      { topic: 'orders', partition: 0, upstreamOffset: 25, downstreamOffset: 19, writtenAt: 0 },
    ]);
    expect(fake.calls.map((c) => c.op)).not.toContain('groupOffsets');
  });

  it('names the topic and the cluster when the read fails, and has the cached cluster client rebuilt', async () => {
    // Arrange
    const fake = new FakeCluster().addTopic(TOPIC, 1);
    fake.failWith = Object.assign(new Error('Connection refused'), { name: 'KafkaJSConnectionError' });
    let rebuilt = 0;
    const cluster = new KafkajsCluster({
      alias: 'primary',
      kafka: noKafka,
      groups,
      clusterClient: async () => fake,
      onClusterClientFailure: () => {
        rebuilt += 1;
      },
    });

    // Act
    const error = await cluster.readOffsetSyncs(TOPIC).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(KafkaOperationError);
    expect((error as Error).message).toContain(`reading offset syncs ${TOPIC} on primary failed`);
    expect(rebuilt).toBe(1);
  });
});
