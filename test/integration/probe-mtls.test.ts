import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { probeOnce } from '#shared/health/probe-once.ts';
import { describeClusters, type MotoStores, motoStores, ProbeRig, probeConfig } from './probe-fixture.ts';
import { harness } from './shared-harness.ts';

describe('probe over the mTLS listener with credentials from Secrets Manager (moto)', () => {
  const h = harness();
  let stores: MotoStores;

  beforeAll(async () => {
    stores = motoStores(h.info);
  });
  afterAll(() => {
    stores?.destroy();
  });

  it('judges both clusters up with the Aiven-style ca, cert and key read from the cluster secrets', async () => {
    // Arrange
    const config = probeConfig();
    await describeClusters(stores, config, h.info, { tls: true });
    const admin = kafkaClient(h.info, 'primary').admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: config.topics[0] ?? '', numPartitions: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const rig = new ProbeRig(config, stores);
    try {
      // Act
      const result = await rig.cycle();

      // Assert
      expect(result.clusters.primary).toMatchObject({
        verdict: 'up',
        brokersAlive: 1,
        canary: { written: 1 },
      });
      // The secondary does not hold the mirrored topic yet: it answers and accepts writes, so only degraded.
      expect(result.clusters.secondary.verdict).not.toBe('down');
      expect(result.clusters.secondary.canary).toMatchObject({ written: 1, writableRatio: 1 });
      const kafkaConfig = await rig.connections.kafkaConfig('primary');
      expect(kafkaConfig.brokers).toEqual([h.info.clusters.primary.tlsBootstrapServers]);
    } finally {
      await rig.close();
    }
  });

  it('judges a cluster down with auth-failed when its secret has no client certificate', async () => {
    // Arrange
    const config = probeConfig();
    await describeClusters(stores, config, h.info, { tls: true, withoutClientCert: ['secondary'] });
    const connections = new ClusterConnections({ config, stores });
    try {
      // Act
      const health = await probeOnce(config, 'secondary', { stores, connections });

      // Assert
      expect(health).toMatchObject({ role: 'secondary', verdict: 'down', reasons: ['auth-failed'] });
      expect(health.detail).toMatch(/certificate/);
      expect(health.latencyMs).toBeLessThan(config.detection.cycleDeadlineMs);
    } finally {
      await connections.closeAll();
    }
  });
});
