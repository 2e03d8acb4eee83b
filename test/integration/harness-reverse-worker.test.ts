import { afterAll, describe, expect, it } from 'vitest';
import { consumeUntil } from '#harness/consume.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { createMirror, deleteMirror, mirrorConnectorNames, reverseOf } from '#harness/mirror-connectors.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { harness } from './shared-harness.ts';

describe('harness reverse Connect worker (failback mirror)', () => {
  const h = harness();
  const reverse = reverseOf(h.info.mirror.direction);

  afterAll(async () => {
    await deleteMirror(h.info.reverseWorker.connectUrl, reverse).catch(() => undefined);
    await h.stopReverseWorker();
  });

  it('mirrors secondary -> primary once started with connectors for the reverse direction', async () => {
    // Arrange
    const { connectUrl } = await h.startReverseWorker();
    const names = await createMirror(connectUrl, reverse);
    const topic = uniqueName('payments');
    const secondary = kafkaClient(h.info, 'secondary');
    const admin = secondary.admin();
    const producer = secondary.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);

    try {
      // Act
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic, acks: -1, messages: [{ value: 'written during the failover' }] });

      // Assert
      expect(names).toEqual(mirrorConnectorNames(reverse));
      expect(names.source).toBe('mm2-secondary-primary-source');
      const primary = kafkaClient(h.info, 'primary');
      const primaryAdmin = primary.admin();
      await primaryAdmin.connect();
      await waitFor(async () => (await primaryAdmin.listTopics()).includes(`secondary.${topic}`), {
        timeoutMs: 60_000,
        what: `secondary.${topic} on the primary`,
      }).finally(() => primaryAdmin.disconnect());
      const [record] = await consumeUntil(primary, `secondary.${topic}`, (r) => r.length >= 1, {
        timeoutMs: 60_000,
        what: 'the record mirrored back',
      });
      expect(record?.value?.toString()).toBe('written during the failover');
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });
});
