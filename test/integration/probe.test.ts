import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { waitFor } from '#harness/wait-for.ts';
import type { ProbeResult } from '#shared/health/probe-result.ts';
import { describeClusters, type MotoStores, motoStores, ProbeRig, probeConfig } from './probe-fixture.ts';
import { harness } from './shared-harness.ts';

// Generous ceilings for a busy two-core machine; assertions on verdict times use the product's targets.
const MIRROR_MS = 90_000;

describe('probe against real clusters and MirrorMaker 2', () => {
  const h = harness();
  let stores: MotoStores;
  let rig: ProbeRig;

  beforeAll(async () => {
    stores = motoStores(h.info);
    const config = probeConfig();
    await describeClusters(stores, config, h.info);
    rig = new ProbeRig(config, stores);
    // The watched topic exists from the start (a missing one makes the verdict 'degraded').
    const admin = kafkaClient(h.info, 'primary').admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: config.topics[0] ?? '', numPartitions: 2 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
  });

  afterAll(async () => {
    // Whatever a failed test left behind, the next file gets a working primary and mirror.
    await h.resume('primary').catch(() => {});
    await rig?.close();
    stores?.destroy();
  });

  /** Cycles until `accept` says yes; returns that cycle's result. */
  const cycleUntil = (what: string, accept: (r: ProbeResult) => boolean, timeoutMs = MIRROR_MS) =>
    waitFor(
      async () => {
        const r = await rig.cycle();
        return accept(r) ? r : undefined;
      },
      { timeoutMs, intervalMs: 1_000, what },
    );

  it('judges both clusters up, writes the canary with acks=all and sees it replicated', async () => {
    // Act
    const result = await cycleUntil(
      'the canary replicated to the secondary',
      (r) => r.replication[0]?.lagSeconds !== undefined,
    );

    // Assert
    const { primary, secondary } = result.clusters;
    expect(primary).toMatchObject({ verdict: 'up', reasons: [], brokersAlive: 1 });
    expect(secondary).toMatchObject({ verdict: 'up', brokersAlive: 1 });
    expect(primary.canary).toMatchObject({ partitions: 1, written: 1, writableRatio: 1 });
    expect(result.replication[0]?.lagSeconds).toBeLessThan(30);
    expect(result.durationMs).toBeLessThan(rig.config.detection.cycleDeadlineMs);
    expect(rig.metric('ClusterUp', 'primary').at(-1)).toBe(1);
    const stored = await stores.parameters.get(`/mm2-failover/${rig.config.name}/status/last-probe`);
    expect(JSON.parse(stored?.value ?? '{}').cycle).toBe(result.cycle);
  });

  it('judges a killed primary down with connect-refused within 5 s, and up again after a restart', async () => {
    // Arrange: clients connected and warm, as in a running container.
    await cycleUntil('both clusters up', (r) => r.clusters.primary.verdict === 'up');

    try {
      // Act
      await h.kill('primary');
      const killedAt = Date.now();
      const first = await rig.cycle();
      const verdictMs = Date.now() - killedAt;
      const second = await rig.cycle();

      // Assert
      expect(first.clusters.primary.verdict).toBe('down');
      expect(verdictMs).toBeLessThan(5_000);
      // The first cycle may see the old connection closing; a fresh connection is refused.
      expect(['connect-refused', 'connection-closed']).toContain(first.clusters.primary.reasons[0]);
      expect(second.clusters.primary.reasons).toEqual(['connect-refused']);
      expect(first.clusters.secondary.verdict).toBe('up');
      expect(first.replication[0]?.reasons).toContain('source-down');
      expect(rig.metric('ClusterUp', 'primary').at(-1)).toBe(0);
    } finally {
      await h.restart('primary');
    }
    const after = await cycleUntil(
      'the restarted primary judged up',
      (r) => r.clusters.primary.verdict === 'up',
      60_000,
    );
    expect(after.clusters.primary.reasons).toEqual([]);
  });

  it('judges a hung primary (SIGSTOP) down with timeout within 8 s, and up again after SIGCONT', async () => {
    await cycleUntil('both clusters up', (r) => r.clusters.primary.verdict === 'up');
    try {
      // Act
      await h.hang('primary');
      const hungAt = Date.now();
      const result = await rig.cycle();
      const verdictMs = Date.now() - hungAt;

      // Assert
      expect(result.clusters.primary).toMatchObject({ verdict: 'down', reasons: ['timeout'] });
      expect(verdictMs).toBeLessThan(8_000);
      expect(result.durationMs).toBeLessThanOrEqual(rig.config.detection.cycleDeadlineMs + 50);
      expect(result.clusters.secondary.verdict).toBe('up');
    } finally {
      await h.resume('primary');
    }
    const after = await cycleUntil(
      'the resumed primary judged up',
      (r) => r.clusters.primary.verdict === 'up',
      60_000,
    );
    expect(after.clusters.primary.verdict).toBe('up');
  });

  it('sees lag grow while MM2 is stopped with both clusters up, and backlog and checkpoint lag converge after it restarts', {
    timeout: 420_000,
  }, async () => {
    // Arrange: a watched topic with records MM2 has mirrored, and a consumer group with committed offsets.
    const [topic] = rig.config.topics;
    const [group] = rig.config.consumerGroups;
    if (!topic || !group) throw new Error('the fixture config has a topic and a group');
    const kafka = kafkaClient(h.info, 'primary');
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      const produce = (n: number, tag: string) =>
        producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: n }, (_, i) => ({ partition: i % 2, value: `${tag}-${i}` })),
        });
      await produce(50, 'before');
      await cycleUntil(
        'the first 50 records mirrored',
        (r) =>
          r.replication[0]?.backlogRecords === 0 &&
          r.replication[0].topics[0]?.partitions === 2 &&
          r.replication[0].reasons.length === 0,
      );

      try {
        // Act: MM2 stops; 100 more records and a group commit happen on the primary.
        await h.stopMirror();
        await produce(100, 'during');
        await admin.setOffsets({
          groupId: group,
          topic,
          partitions: [
            { partition: 0, offset: '60' },
            { partition: 1, offset: '60' },
          ],
        });
        const first = await rig.cycle();
        const later = await cycleUntil(
          'replication lag to grow',
          (r) => (r.replication[0]?.lagSeconds ?? 0) >= (first.replication[0]?.lagSeconds ?? 0) + 3,
          30_000,
        );

        // Assert: both clusters are healthy; only replication is behind.
        for (const r of [first, later]) {
          expect(r.clusters.primary.verdict).toBe('up');
          expect(r.clusters.secondary.verdict).toBe('up');
        }
        expect(first.replication[0]?.backlogRecords).toBe(100);
        expect(first.replication[0]?.topics[0]).toMatchObject({
          topic,
          remoteTopic: `primary.${topic}`,
          partitions: 2,
          backlogRecords: 100,
        });
        expect(first.replication[0]?.groups).toEqual([
          expect.objectContaining({ group, partitions: 2, checkpointLagRecords: 120 }),
        ]);
        expect(later.replication[0]?.lagSeconds).toBeGreaterThan(first.replication[0]?.lagSeconds ?? 0);
        expect(rig.metric('ReplicationBacklogRecords', 'secondary')).toContain(100);
      } finally {
        await h.startMirror();
      }

      // Assert: once MM2 runs again, everything converges.
      const caughtUp = await cycleUntil(
        'backlog and checkpoint lag back to zero',
        (r) =>
          r.replication[0]?.backlogRecords === 0 &&
          r.replication[0].groups[0]?.checkpointLagRecords === 0 &&
          (r.replication[0].lagSeconds ?? 99) < 10,
        180_000,
      );
      expect(caughtUp.replication[0]?.groups[0]).toMatchObject({ partitionsWithoutCheckpoint: 0 });
      expect(rig.metric('CheckpointLagRecords', 'secondary').at(-1)).toBe(0);
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });
});
