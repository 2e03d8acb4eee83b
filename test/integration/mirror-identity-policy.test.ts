import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeUntil } from '#harness/consume.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';

// A harness of its own: the shared one mirrors with the default (prefixing) policy.
describe('harness MirrorMaker 2 with IdentityReplicationPolicy', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ policy: 'identity', tls: false, moto: false, controlServer: false });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('copies a record produced on the primary to the same topic name on the secondary', async () => {
    // Arrange
    const topic = uniqueName('orders');
    const primary = kafkaClient(h.info, 'primary');
    const secondary = kafkaClient(h.info, 'secondary');
    const admin = primary.admin();
    const secondaryAdmin = secondary.admin();
    const producer = primary.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), secondaryAdmin.connect(), producer.connect()]);

    try {
      // Act
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic, acks: -1, messages: [{ key: 'order-1', value: 'kept its name' }] });

      // Assert
      await waitFor(async () => (await secondaryAdmin.listTopics()).includes(topic), {
        timeoutMs: 60_000,
        what: `${topic} on the secondary`,
      });
      const [record] = await consumeUntil(secondary, topic, (r) => r.length >= 1, {
        timeoutMs: 60_000,
        what: 'the mirrored record',
      });
      expect(record?.value?.toString()).toBe('kept its name');
      expect(await secondaryAdmin.listTopics()).not.toContain(`primary.${topic}`);
    } finally {
      await Promise.all([admin.disconnect(), secondaryAdmin.disconnect(), producer.disconnect()]);
    }
  });
});
