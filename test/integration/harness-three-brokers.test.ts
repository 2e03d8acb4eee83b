import { type Admin, ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeUntil } from '#harness/consume.ts';
import { type Harness, startHarness } from '#harness/harness.ts';
import type { HarnessControl } from '#harness/harness-control.ts';
import type { ClusterName } from '#harness/info.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { produceNumbered } from '#harness/produce.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { controlClient } from './shared-harness.ts';

// Long enough for a 2-core machine where six brokers, MM2 and a leader election compete for the CPU.
const DEADLINE_MS = 90_000;

interface PartitionState {
  leader: number;
  replicas: number[];
  isr: number[];
}

async function partitionState(admin: Admin, topic: string): Promise<PartitionState> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const partition = topics[0]?.partitions[0];
  if (partition === undefined) throw new Error(`expected partition 0 of ${topic} in metadata, got none`);
  return {
    leader: partition.leader,
    replicas: [...partition.replicas].sort(),
    isr: [...partition.isr].sort(),
  };
}

/**
 * Create a one-partition topic and wait until metadata names its leader. Not kafkajs' `waitForLeaders`: it asks
 * any broker, and one whose metadata has not caught up yet answers UNKNOWN_TOPIC_OR_PARTITION, which kafkajs'
 * admin throws instead of retrying (seen in a fresh-clone CI run).
 */
async function createTopic(admin: Admin, topic: string): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await waitFor(
    async () => {
      const state = await partitionState(admin, topic).catch(() => undefined);
      return state !== undefined && state.leader >= 0;
    },
    { timeoutMs: DEADLINE_MS, what: `a leader for ${topic}` },
  );
}

describe('harness with three brokers per cluster', () => {
  let h: Harness;
  let control: HarnessControl;
  const admins: Partial<Record<ClusterName, Admin>> = {};
  const admin = (cluster: ClusterName): Admin => {
    const found = admins[cluster];
    if (found === undefined) throw new Error(`expected an admin client for ${cluster}`);
    return found;
  };

  beforeAll(async () => {
    const started = Date.now();
    h = await startHarness({ brokers: 3, tls: false, moto: false });
    console.error(`[three-brokers] harness ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Faults go through the control server, as a test worker sends them to the shared harness.
    control = controlClient(h.info);
    for (const cluster of ['primary', 'secondary'] as const) {
      const client = kafkaClient(h.info, cluster).admin();
      await client.connect();
      admins[cluster] = client;
    }
  }, 420_000);

  afterAll(async () => {
    await Promise.all(Object.values(admins).map((a) => a.disconnect()));
    await h?.stop();
  }, 120_000);

  it('lists three nodes per cluster in its info, forming one KRaft cluster each', async () => {
    // Act
    const described = await admin('primary').describeCluster();

    // Assert
    const { brokers, bootstrapServers } = h.info.clusters.primary;
    expect(brokers.map((b) => [b.index, b.nodeId])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expect(bootstrapServers.split(',')).toEqual(brokers.map((b) => b.bootstrapServers));
    expect(new Set(brokers.map((b) => b.logFile)).size).toBe(3);
    expect(described.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
  });

  it('replicates new topics, internal topics and MM2 topics three times with min.insync.replicas 2', async () => {
    // Arrange
    const topic = uniqueName('replicated');
    await createTopic(admin('primary'), topic);
    await produceNumbered(kafkaClient(h.info, 'primary'), topic, 'r', 1);

    // Act
    const created = await partitionState(admin('primary'), topic);
    const configs = await admin('primary').describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
      includeSynonyms: false,
    });
    const mirrored = await waitFor(
      async () =>
        (await admin('secondary').listTopics()).includes(`primary.${topic}`) &&
        partitionState(admin('secondary'), `primary.${topic}`),
      { timeoutMs: DEADLINE_MS, what: `primary.${topic} on the secondary` },
    );
    const internal = await Promise.all(
      ['__consumer_offsets', 'mm2-harness-connect-configs.internal', 'heartbeats'].map((t) =>
        partitionState(admin('secondary'), t),
      ),
    );

    // Assert
    expect(created.replicas).toEqual([1, 2, 3]);
    expect(
      configs.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue,
    ).toBe('2');
    expect(mirrored.replicas).toEqual([1, 2, 3]);
    expect(internal.map((p) => p.replicas)).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });

  it('keeps producing, consuming and mirroring with one broker killed, and takes it back on restart', async () => {
    // Arrange
    const topic = uniqueName('orders');
    const primary = kafkaClient(h.info, 'primary');
    await createTopic(admin('primary'), topic);
    const before = await produceNumbered(primary, topic, 'before', 5);
    const { leader } = await partitionState(admin('primary'), topic);
    const victim = h.info.clusters.primary.brokers.find((b) => b.nodeId === leader);
    if (victim === undefined) throw new Error(`expected leader ${leader} among the primary's brokers`);

    // Act: kill the partition's leader, so that leadership has to move.
    await control.kill('primary', victim.index);
    const whileDown = await waitFor(
      async () => {
        const state = await partitionState(admin('primary'), topic);
        return (
          state.leader !== victim.nodeId && state.leader >= 0 && !state.isr.includes(victim.nodeId) && state
        );
      },
      { timeoutMs: DEADLINE_MS, what: `leadership of ${topic} to move off node ${victim.nodeId}` },
    );
    const during = await produceNumbered(primary, topic, 'during', 5);
    const consumed = await consumeUntil(primary, topic, (r) => r.length >= 10, {
      timeoutMs: DEADLINE_MS,
      what: 'every record, with one broker down',
    });
    const mirrored = await waitFor(
      async () =>
        (await admin('secondary').listTopics()).includes(`primary.${topic}`) &&
        consumeUntil(kafkaClient(h.info, 'secondary'), `primary.${topic}`, (r) => r.length >= 10, {
          timeoutMs: DEADLINE_MS,
          what: 'every record mirrored, with one primary broker down',
        }),
      { timeoutMs: DEADLINE_MS, what: `primary.${topic} on the secondary` },
    );
    await control.restart('primary', victim.index);
    const rejoined = await waitFor(
      async () => {
        const state = await partitionState(admin('primary'), topic);
        return state.isr.length === 3 && state;
      },
      { timeoutMs: DEADLINE_MS, what: `node ${victim.nodeId} back in the ISR of ${topic}` },
    );

    // Assert
    expect(whileDown.isr).toHaveLength(2);
    expect(whileDown.replicas).toEqual([1, 2, 3]);
    expect(consumed.map((r) => r.value?.toString())).toEqual([...before, ...during]);
    expect(mirrored.map((r) => r.value?.toString())).toEqual([...before, ...during]);
    expect(rejoined.isr).toEqual([1, 2, 3]);
  });

  it('moves leadership off a hung broker and takes it back into the ISR once resumed', async () => {
    // Arrange
    const topic = uniqueName('hung');
    await createTopic(admin('primary'), topic);
    const { leader } = await partitionState(admin('primary'), topic);
    const victim = h.info.clusters.primary.brokers.find((b) => b.nodeId === leader);
    if (victim === undefined) throw new Error(`expected leader ${leader} among the primary's brokers`);

    // Act
    await control.hang('primary', victim.index);
    const whileHung = await waitFor(
      async () => {
        const state = await partitionState(admin('primary'), topic);
        return state.leader !== victim.nodeId && state.leader >= 0 && state;
      },
      { timeoutMs: DEADLINE_MS, what: `leadership of ${topic} to move off hung node ${victim.nodeId}` },
    );
    await control.resume('primary', victim.index);
    const resumed = await waitFor(
      async () => {
        const state = await partitionState(admin('primary'), topic);
        return state.isr.length === 3 && state;
      },
      { timeoutMs: DEADLINE_MS, what: `node ${victim.nodeId} back in the ISR of ${topic}` },
    );

    // Assert
    expect(whileHung.isr).not.toContain(victim.nodeId);
    expect(resumed.isr).toEqual([1, 2, 3]);
  });

  it('kills and restarts the whole cluster with the cluster-wide controls, data kept', async () => {
    // Arrange
    const topic = uniqueName('whole');
    await createTopic(admin('primary'), topic);
    const written = await produceNumbered(kafkaClient(h.info, 'primary'), topic, 'kept', 3);

    // Act
    await control.kill('primary');
    const running = h.cluster('primary').brokers.map((b) => b.running);
    await control.restart('primary');
    const records = await consumeUntil(kafkaClient(h.info, 'primary'), topic, (r) => r.length >= 3, {
      timeoutMs: DEADLINE_MS,
      what: 'the records written before the whole cluster died',
    });

    // Assert
    expect(running).toEqual([false, false, false]);
    expect(records.map((r) => r.value?.toString())).toEqual(written);
    expect((await admin('primary').describeCluster()).brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
  });
});
