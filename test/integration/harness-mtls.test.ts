import { describe, expect, it } from 'vitest';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { harness } from './shared-harness.ts';

describe('harness mTLS listener', () => {
  const { info } = harness();

  it('accepts a client presenting the generated certificate and key', async () => {
    // Arrange
    const kafka = kafkaClient(info, 'primary', { tls: true });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const topic = uniqueName('tls');

    try {
      // Act
      await Promise.all([admin.connect(), producer.connect()]);
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const [ack] = await producer.send({ topic, acks: -1, messages: [{ value: 'over mTLS' }] });

      // Assert
      expect(ack?.errorCode).toBe(0);
      const { brokers } = await admin.describeCluster();
      expect(brokers.map((b) => `${b.host}:${b.port}`)).toEqual([info.clusters.primary.tlsBootstrapServers]);
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });

  it('refuses a client that trusts the CA but presents no certificate', async () => {
    // Arrange
    // One attempt, but time for a TLS handshake on a busy machine: a timeout would prove nothing.
    const admin = kafkaClient(info, 'secondary', {
      tlsWithoutClientCert: true,
      config: { connectionTimeout: 15_000, retry: { retries: 0 } },
    }).admin();

    try {
      // Act
      const attempt = admin.connect().then(() => admin.describeCluster());

      // Assert: the broker aborts the handshake (TLS alert 42, bad certificate).
      await expect(attempt).rejects.toThrow(/bad certificate|certificate required/);
    } finally {
      await admin.disconnect();
    }
  });
});
