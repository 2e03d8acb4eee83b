import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeUntil } from '#harness/consume.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { decodeCheckpointKey, decodeCheckpointValue } from '#shared/kafka/mm2-records.ts';
import { harness } from './shared-harness.ts';

// Kafka's own MM2 integration tests allow 30 s for records and 20 s for checkpoints; a busy 2-core box
// gets twice that.
const RECORD_DEADLINE_MS = 60_000;
const CHECKPOINT_DEADLINE_MS = 60_000;

describe('harness MirrorMaker 2 (default policy, Connect mode)', () => {
  const { info } = harness();
  const primary = kafkaClient(info, 'primary');
  const secondary = kafkaClient(info, 'secondary');
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    primaryAdmin = primary.admin();
    secondaryAdmin = secondary.admin();
    producer = primary.producer({ allowAutoTopicCreation: false });
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await Promise.all([primaryAdmin?.disconnect(), secondaryAdmin?.disconnect(), producer?.disconnect()]);
  });

  it('copies a record produced on the primary to primary.<topic> on the secondary', async () => {
    // Arrange
    const topic = uniqueName('orders');
    await primaryAdmin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

    // Act
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'order-1', value: 'first order', headers: { source: 'test' } }],
    });

    // Assert
    const mirrored = `primary.${topic}`;
    await waitFor(async () => (await secondaryAdmin.listTopics()).includes(mirrored), {
      timeoutMs: RECORD_DEADLINE_MS,
      what: `MM2 to create ${mirrored} on the secondary`,
    });
    const [record] = await consumeUntil(secondary, mirrored, (r) => r.length >= 1, {
      timeoutMs: RECORD_DEADLINE_MS,
      what: 'the mirrored record',
    });
    expect(record?.key?.toString()).toBe('order-1');
    expect(record?.value?.toString()).toBe('first order');
    expect(record?.headers?.source?.toString()).toBe('test');
  });

  it('checkpoints a consumer group that committed on the primary into primary.checkpoints.internal', async () => {
    // Arrange
    const topic = uniqueName('orders');
    const group = uniqueName('billing');
    await primaryAdmin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.send({ topic, acks: -1, messages: ['a', 'b', 'c'].map((value) => ({ value })) });

    // Act: the group reads all three records and commits offset 3 on the primary, then leaves.
    await consumeUntil(primary, topic, (r) => r.length >= 3, {
      timeoutMs: 30_000,
      what: 'three records',
      groupId: group,
    });
    await primaryAdmin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '3' }] });

    // Assert
    const checkpoint = await waitForCheckpoint(group, `primary.${topic}`, 3n);
    expect(checkpoint).toEqual({
      group,
      topic: `primary.${topic}`,
      partition: 0,
      upstreamOffset: 3n,
      downstreamOffset: 3n,
    });
    // sync.group.offsets.enabled: the translated offset is also committed for the group on the secondary.
    const synced = await waitFor(
      async () => {
        const [offsets] = await secondaryAdmin.fetchOffsets({ groupId: group, topics: [`primary.${topic}`] });
        return offsets?.partitions.find((p) => p.partition === 0 && p.offset === '3');
      },
      { timeoutMs: CHECKPOINT_DEADLINE_MS, what: `group ${group}'s offset synced to the secondary` },
    );
    expect(synced.offset).toBe('3');
  });

  async function waitForCheckpoint(group: string, topic: string, upstreamOffset: bigint) {
    const checkpoints = 'primary.checkpoints.internal';
    await waitFor(async () => (await secondaryAdmin.listTopics()).includes(checkpoints), {
      timeoutMs: CHECKPOINT_DEADLINE_MS,
      what: `${checkpoints} on the secondary`,
    });
    const decoded = (records: readonly { key: Buffer | null; value: Buffer | null }[]) =>
      records.flatMap(({ key, value }) => {
        if (key === null || value === null) return [];
        const k = decodeCheckpointKey(key);
        const v = decodeCheckpointValue(value);
        return k.group === group && k.topic === topic
          ? [{ ...k, upstreamOffset: v.upstreamOffset, downstreamOffset: v.downstreamOffset }]
          : [];
      });
    const records = await consumeUntil(
      secondary,
      checkpoints,
      (r) => decoded(r).some((c) => c.upstreamOffset === upstreamOffset),
      {
        timeoutMs: CHECKPOINT_DEADLINE_MS,
        what: `a checkpoint of ${group} on ${topic} at upstream offset ${upstreamOffset}`,
      },
    );
    return decoded(records).find((c) => c.upstreamOffset === upstreamOffset);
  }
});
