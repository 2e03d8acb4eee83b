import { type Admin, type Consumer, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '#harness/aws-clients.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { produceNumbered } from '#harness/produce.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { ActiveConfigWatcher, createAwsStores, FollowingConsumer } from '#shared/client/index.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { kafkaGroupOffsets } from '#shared/offsets/kafka-group-offsets.ts';
import { commitGroupOffsets, planGroupOffsets } from '#shared/offsets/offset-translation.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { harnessMtlsCredentials } from './client-app.ts';
import { harness } from './shared-harness.ts';

// Active-active on the shared harness, seen from the cluster the primary's clients move to: the secondary's own
// consumers are members of the group there, reading the local topic; MM2 copied the primary's topic there. After
// the failover the primary's consumer reads that copy to its end from the translated offsets, then joins the group
// on the local topic. Nothing is killed: the shared harness stays whole for the other files.

// A busy 2-core box running several JVMs: generous deadlines, never a sleep.
const DEADLINE_MS = 90_000;
const TAIL = 100;
const LOCAL = 40;

describe('drain-then-switch in active-active (real Kafka, MirrorMaker 2, moto)', () => {
  const h = harness();
  const { info } = h;
  const stores = createAwsStores(awsClientConfig(info));
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    primaryAdmin = kafkaClient(info, 'primary').admin();
    secondaryAdmin = kafkaClient(info, 'secondary').admin();
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect()]);
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await Promise.all([primaryAdmin?.disconnect(), secondaryAdmin?.disconnect()]);
  });

  it("reads the primary's mirrored copy to its end from the translated offsets, then joins the secondary's consumers on the local topic", async () => {
    // Arrange: one topic name on both clusters; MM2 copies the primary's as primary.<topic>.
    const topic = uniqueName('orders');
    const group = uniqueName('billing');
    const config = parseDeploymentConfig({
      name: uniqueName('aa-drain').slice(0, 40),
      mode: 'active-active',
      replicationPolicy: 'default',
      clusters: {
        primary: { alias: info.clusters.primary.alias, auth: 'mtls', expectedBrokers: 1 },
        secondary: { alias: info.clusters.secondary.alias, auth: 'mtls', expectedBrokers: 1 },
      },
      topics: [topic],
      consumerGroups: [group],
      mirror: { kind: 'manual' },
    });
    const route = topicMapping(config, 'secondary')[topic];
    const mirrored = route?.drain?.[0] ?? '';
    expect(route).toEqual({ produce: topic, subscribe: [topic], remote: [mirrored], drain: [mirrored] });
    await primaryAdmin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await secondaryAdmin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

    // The secondary's own consumers: the group, on the local topic, before anything else happens.
    const secondaryOwn: string[] = [];
    const consumers2: Consumer = kafkaClient(info, 'secondary').consumer({ groupId: group });
    closers.push(() => consumers2.disconnect());
    await consumers2.connect();
    await consumers2.subscribe({ topics: [topic], fromBeginning: true });
    await consumers2.run({
      eachMessage: async ({ message }) => {
        secondaryOwn.push(String(message.value));
      },
    });

    // The primary's producers wrote TAIL records; its consumers had processed half of each partition when it died.
    const tail = await produceNumbered(kafkaClient(info, 'primary'), topic, 'k1', TAIL);
    const ends = await primaryAdmin.fetchTopicOffsets(topic);
    const processed = ends.map((p) => ({
      partition: p.partition,
      offset: String(Math.floor(Number(p.high) / 2)),
    }));
    await primaryAdmin.setOffsets({ groupId: group, topic, partitions: processed });
    const unprocessed = new Set<string>();
    const reader = kafkaClient(info, 'primary').consumer({ groupId: uniqueName('reader') });
    closers.push(() => reader.disconnect());
    await reader.connect();
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    let readAll = 0;
    await reader.run({
      eachMessage: async ({ partition, message }) => {
        readAll += 1;
        const from = Number(processed.find((p) => p.partition === partition)?.offset);
        if (Number(message.offset) >= from) unprocessed.add(String(message.value));
      },
    });
    await waitFor(() => readAll >= TAIL, { timeoutMs: DEADLINE_MS, what: 'the primary topic read back' });
    await reader.disconnect();

    // MM2 copies the records and checkpoints the group; the failover's translation commits into the drain group
    // (the group itself has members on the secondary, so neither MM2's sync nor the failover may commit there).
    const plainSecondary = createClusterClient({
      clientId: 'drain-test',
      brokers: [info.clusters.secondary.bootstrapServers],
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      logLevel: logLevel.NOTHING,
    });
    closers.push(() => plainSecondary.close());
    const groups = kafkaGroupOffsets({
      cluster: async () => plainSecondary,
      checkpointsTopic: `${info.clusters.primary.alias}${info.mirror.direction.separator}checkpoints.internal`,
    });
    let seen = '';
    const plans = await waitFor(
      async () => {
        const copied = await secondaryAdmin.fetchTopicOffsets(mirrored).catch(() => []);
        const planned = await planGroupOffsets(config, groups);
        seen = `copied ${copied.reduce((n, p) => n + Number(p.high), 0)}; ${JSON.stringify(planned)}`;
        const drain = planned.find((p) => p.group === `${group}.drain`);
        // MM2 checkpoints a partition once it can translate it; one is enough here: a partition without a
        // checkpoint has no offset in the drain group and is read from its start, which also covers its tail.
        const atCommitted = processed.some((c) =>
          drain?.partitions.some((p) => p.partition === c.partition && p.upstream === Number(c.offset)),
        );
        return drain?.decision === 'commit' && atCommitted ? planned : undefined;
      },
      { timeoutMs: DEADLINE_MS, what: 'MM2 to checkpoint the group at its committed offset' },
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; processed ${JSON.stringify(processed)}, last seen ${seen}`);
    });
    expect(plans.map((p) => [p.group, p.decision])).toEqual([
      [group, 'group-active'],
      [`${group}.drain`, 'commit'],
    ]);
    const outcomes = await commitGroupOffsets(plans, groups);
    expect(outcomes.map((o) => [o.group, o.outcome])).toEqual([
      [group, 'group-active'],
      [`${group}.drain`, 'committed'],
    ]);

    // The failover's switch: the primary's clients are now on the secondary.
    const paths = deploymentPaths(config.name);
    const secondary = info.clusters.secondary;
    const active: ActiveConfig = {
      epoch: 2,
      cluster: 'secondary',
      alias: secondary.alias,
      bootstrapServers: (secondary.tlsBootstrapServers ?? '').split(','),
      securityProtocol: 'SSL',
      credentialsSecret: paths.activeCredentialsSecret,
      topics: topicMapping(config, 'secondary'),
      switchedAt: new Date().toISOString(),
      reason: 'integration test: the primary died',
    };
    await writeActive(stores, paths, active, harnessMtlsCredentials(info));

    // Act: the primary's consumer starts on the secondary; producers (both sides') write into the local topic.
    const watcher = new ActiveConfigWatcher({
      deployment: config.name,
      stores,
      kafka: { clientId: 'drain-test', logLevel: logLevel.NOTHING },
      intervalMs: 1_000,
    });
    await watcher.start();
    closers.push(async () => watcher.stop());
    const moved: Array<{ topic: string; value: string; logicalTopic: string; cluster: string }> = [];
    const consumer1 = new FollowingConsumer({
      source: watcher,
      groupId: group,
      topics: [topic],
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      eachMessage: async (p) => {
        moved.push({
          topic: p.topic,
          value: String(p.message.value),
          logicalTopic: p.logicalTopic,
          cluster: p.cluster,
        });
      },
    });
    closers.push(() => consumer1.stop());
    await consumer1.start();
    const local = await produceNumbered(kafkaClient(info, 'secondary'), route?.produce ?? '', 'k2', LOCAL);
    await waitFor(
      () => {
        const byGroup = new Set([
          ...secondaryOwn,
          ...moved.filter((m) => m.topic === topic).map((m) => m.value),
        ]);
        return local.every((v) => byGroup.has(v));
      },
      { timeoutMs: DEADLINE_MS, what: 'the group (both sides) to consume the local topic' },
    );

    // Assert: every record the primary's consumers had not processed was read from the copy, before the local topic.
    const drained = moved.filter((m) => m.topic === mirrored);
    const drainedValues = new Set(drained.map((m) => m.value));
    expect([...unprocessed].filter((v) => !drainedValues.has(v))).toEqual([]);
    expect(drained.every((m) => tail.includes(m.value))).toBe(true);
    const firstLocal = moved.findIndex((m) => m.topic === topic);
    const lastDrained = moved.findLastIndex((m) => m.topic === mirrored);
    expect(lastDrained).toBeLessThan(firstLocal === -1 ? moved.length : firstLocal);
    expect(new Set(moved.map((m) => `${m.logicalTopic}@${m.cluster}`))).toEqual(
      new Set([`${topic}@secondary`]),
    );
    // The secondary's own consumers never read the copy; the group there has no offsets in it.
    expect(secondaryOwn.filter((v) => tail.includes(v))).toEqual([]);
    const [groupInCopy] = await secondaryAdmin.fetchOffsets({ groupId: group, topics: [mirrored] });
    expect(groupInCopy?.partitions.every((p) => p.offset === '-1')).toBe(true);
  });
});
