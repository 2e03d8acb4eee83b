import type { EachBatchPayload, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkajsCluster } from '#shared/failback/kafkajs-cluster.ts';

const groups = {
  readCheckpoints: async () => [],
  describeGroup: async () => ({ state: 'Dead', members: 0 }),
  committedOffsets: async () => [],
  commitOffsets: async () => {},
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
      readIdleMs: 50,
    });

    // Act
    const read = await cluster.read('orders', [{ partition: 1, from: 2, to: 10 }], 3);

    // Assert
    expect(read.get(1)?.map((r) => r.offset)).toEqual([2, 3, 4]);
  });
});
