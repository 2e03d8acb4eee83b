import type { EachBatchPayload, Kafka } from 'kafkajs';
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
const noClusterClient = async (): Promise<never> => {
  throw new Error('these tests read no MM2 internal topic');
};

/** A kafkajs stand-in whose consumer delivers the given batches (partition, first offset, count) in order. */
function kafkaDelivering(batches: Array<[number, number, number]>): Kafka {
  const consumer = {
    connect: async () => {},
    subscribe: async () => {},
    disconnect: async () => {},
    seek: () => {},
    run: async ({ eachBatch }: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      setTimeout(async () => {
        for (const [partition, first, count] of batches) {
          const messages = Array.from({ length: count }, (_, i) => ({
            offset: String(first + i),
            key: Buffer.from(`k${first + i}`),
            value: Buffer.from(`v${first + i}`),
            headers: {},
            timestamp: '1',
          }));
          await eachBatch({ batch: { partition, messages } } as unknown as EachBatchPayload);
        }
      }, 1);
    },
  };
  return { consumer: () => consumer } as unknown as Kafka;
}

describe('KafkajsCluster.read', () => {
  it('takes each offset once when batches from before the seek and the sought position overlap', async () => {
    // Arrange: the pre-seek stream from the beginning and the re-fetched sought position interleave.
    const cluster = new KafkajsCluster({
      alias: 'primary',
      kafka: kafkaDelivering([
        [0, 0, 5],
        [0, 3, 5],
        [0, 5, 5],
        [0, 8, 4],
      ]),
      groups,
      clusterClient: noClusterClient,
      readIdleMs: 50,
    });

    // Act
    const read = await cluster.read('orders', [{ partition: 0, from: 3, to: 11 }], 100);

    // Assert
    expect(read.get(0)?.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('stops at maxRecords and returns what it has, in order', async () => {
    // Arrange
    const cluster = new KafkajsCluster({
      alias: 'p',
      kafka: kafkaDelivering([[1, 0, 10]]),
      groups,
      clusterClient: noClusterClient,
      readIdleMs: 50,
    });

    // Act
    const read = await cluster.read('orders', [{ partition: 1, from: 2, to: 10 }], 3);

    // Assert
    expect(read.get(1)?.map((r) => r.offset)).toEqual([2, 3, 4]);
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

  it('returns the last sync per partition, read through the cluster client without a consumer group', async () => {
    // Arrange
    const fake = new FakeCluster().addTopic(TOPIC, 1);
    sync(fake, 0, 10n, 4n);
    sync(fake, 1, 7n, 7n);
    sync(fake, 0, 25n, 19n);
    const cluster = new KafkajsCluster({
      alias: 'primary',
      kafka: kafkaDelivering([]),
      groups,
      clusterClient: async () => fake,
    });

    // Act
    const syncs = await cluster.readOffsetSyncs(TOPIC);

    // Assert
    expect(syncs.sort((a, b) => a.partition - b.partition)).toEqual([
      { topic: 'orders', partition: 0, upstreamOffset: 25, downstreamOffset: 19 },
      { topic: 'orders', partition: 1, upstreamOffset: 7, downstreamOffset: 7 },
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
      kafka: kafkaDelivering([]),
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
