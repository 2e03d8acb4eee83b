import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeUntil } from '#harness/consume.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';

// A harness of its own: MM2 as `org.apache.kafka.connect.mirror.MirrorMaker --clusters secondary`.
describe('harness MirrorMaker 2 in dedicated mode', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ mirrorMode: 'dedicated', tls: false, moto: false, controlServer: false });
  });

  afterAll(async () => {
    await h?.stop();
  });

  async function mirrored(topic: string, count: number): Promise<string[]> {
    const secondary = kafkaClient(h.info, 'secondary');
    const admin = secondary.admin();
    await admin.connect();
    try {
      await waitFor(async () => (await admin.listTopics()).includes(`primary.${topic}`), {
        timeoutMs: 60_000,
        what: `primary.${topic} on the secondary`,
      });
    } finally {
      await admin.disconnect();
    }
    const records = await consumeUntil(secondary, `primary.${topic}`, (r) => r.length >= count, {
      timeoutMs: 60_000,
      what: `${count} mirrored record(s)`,
    });
    return records.map((r) => r.value?.toString() ?? '');
  }

  it('copies records to primary.<topic>, including those produced while it was stopped', async () => {
    // Arrange
    const topic = uniqueName('orders');
    const primary = kafkaClient(h.info, 'primary');
    const admin = primary.admin();
    const producer = primary.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);

    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic, acks: -1, messages: [{ value: 'first' }] });
      const beforeStop = await mirrored(topic, 1);

      // Act
      await h.stopMirror();
      await producer.send({ topic, acks: -1, messages: [{ value: 'while stopped' }] });
      await h.startMirror();

      // Assert
      expect(h.info.mirror.mode).toBe('dedicated');
      expect(beforeStop).toEqual(['first']);
      expect(await mirrored(topic, 2)).toEqual(['first', 'while stopped']);
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });
});
