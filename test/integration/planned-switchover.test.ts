import { type Admin, type Consumer, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAws, createDeployment, type Deployment } from '#harness/fixtures/failover-deployment.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import type { FailoverInvocation } from '#shared/failover/failover.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import { plannedDependencies } from '#shared/planned/dependencies.ts';
import { type PlannedResult, runPlannedSwitchover } from '#shared/planned/switchover.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { harness } from './shared-harness.ts';

// A busy 2-core machine running several JVMs: generous deadlines, never fixed sleeps.
const MIRROR_DEADLINE_MS = 180_000;
const TOPIC_CONFIG = 2; // kafkajs ConfigResourceTypes.TOPIC

function planned(invocationId: string): FailoverInvocation {
  return {
    trigger: 'manual',
    reason: 'primary maintenance',
    requestedBy: 'integration test',
    dryRun: false,
    force: false,
    planned: true,
    invocationId,
  };
}

/**
 * A plain kafkajs producer, not the library's: the fence must hold for any client. It writes one record at a time,
 * keeps what the primary acknowledged, and counts what the broker rejected.
 */
function startWriter(producer: Producer, topic: string) {
  const state = {
    acked: [] as string[],
    ackedAt: [] as number[],
    rejected: 0,
    rejectedTypes: new Set<string>(),
    stop: false,
    n: 0,
  };
  const loop = (async () => {
    while (!state.stop) {
      const value = `r-${state.n++}`;
      try {
        await producer.send({ topic, acks: -1, messages: [{ key: value, value }] });
        state.acked.push(value);
        state.ackedAt.push(Date.now());
      } catch (e: unknown) {
        state.rejected += 1;
        state.rejectedTypes.add(String((e as { type?: unknown }).type ?? (e as Error).name));
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    state,
    stop: async () => {
      state.stop = true;
      await loop;
    },
  };
}

async function topicOverride(admin: Admin, topic: string, name: string): Promise<string | undefined> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: TOPIC_CONFIG, name: topic, configNames: [name] }],
  });
  const entry = described.resources[0]?.configEntries.find((e) => e.configName === name);
  return entry && !entry.isDefault ? entry.configValue : undefined;
}

describe('planned switchover on the harness (real Kafka, MirrorMaker 2, moto)', () => {
  const h = harness();
  const { info } = h;
  const aws = new CountingAws(info);
  const topic = uniqueName('planned');
  const group = uniqueName('planned-readers');
  const mirrored = `${info.clusters.primary.alias}${info.mirror.direction.separator}${topic}`;
  const caches: Array<{ closeAll(): Promise<void> }> = [];
  let d: Deployment;
  let primaryAdmin: Admin;
  let producer: Producer;
  let consumer: Consumer;
  const consumed = new Set<string>();

  function plannedDeps(timeoutSeconds?: number) {
    const kafka = new KafkaClientCache();
    const clusterClients = new ClientCache<ClusterClient>((c) => c.close());
    caches.push(kafka, clusterClients);
    const failover = d.deps();
    const config =
      timeoutSeconds === undefined
        ? failover.config
        : {
            ...failover.config,
            safety: { ...failover.config.safety, plannedDrainTimeoutSeconds: timeoutSeconds },
          };
    return plannedDependencies(
      { ...failover, config },
      { table: d.table },
      { dynamodb: aws.dynamodb, kafka, clusterClients },
    );
  }

  beforeAll(async () => {
    primaryAdmin = kafkaClient(info, 'primary').admin();
    await primaryAdmin.connect();
    await primaryAdmin.createTopics({
      topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '86400000' }] }],
      waitForLeaders: true,
    });
    d = await createDeployment(info, aws, { topics: [topic], consumerGroups: [group] });
    const secondaryAdmin = kafkaClient(info, 'secondary').admin();
    await secondaryAdmin.connect();
    await waitFor(async () => (await secondaryAdmin.listTopics()).includes(mirrored), {
      timeoutMs: MIRROR_DEADLINE_MS,
      what: `MM2 to create ${mirrored} on the secondary`,
    });
    await secondaryAdmin.disconnect();
    producer = kafkaClient(info, 'primary', { logLevel: logLevel.NOTHING }).producer({
      allowAutoTopicCreation: false,
      retry: { retries: 0 },
    });
    await producer.connect();
    consumer = kafkaClient(info, 'primary', { logLevel: logLevel.NOTHING }).consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        consumed.add(String(message.value));
      },
    });
  }, 300_000);

  afterAll(async () => {
    await h.resumeMirror().catch(() => {});
    await consumer?.disconnect();
    await producer?.disconnect();
    await primaryAdmin?.disconnect();
    await Promise.all(caches.map((c) => c.closeAll()));
    await d?.close();
  });

  it('refuses when MM2 cannot drain the backlog in time, and lowers the fence so writes resume on the primary', async () => {
    // Arrange: the mirror paused, so whatever is written now stays behind.
    await h.pauseMirror();
    const writer = startWriter(producer, topic);
    await waitFor(async () => writer.state.acked.length >= 20, {
      timeoutMs: 60_000,
      what: 'the writer to get 20 records acknowledged',
    });

    // Act
    const result = await runPlannedSwitchover(planned(uniqueName('refused')), plannedDeps(3));

    // Assert
    const ackedAtRefusal = writer.state.acked.length;
    await waitFor(async () => writer.state.acked.length >= ackedAtRefusal + 5, {
      timeoutMs: 60_000,
      what: 'writes to be acknowledged by the primary again after the refusal',
    });
    await writer.stop();
    await h.resumeMirror();
    expect(result).toMatchObject({
      status: 'refused',
      reasons: [{ code: 'backlog-not-drained', message: expect.stringContaining('not on the secondary') }],
      fenceLowered: true,
    });
    expect(
      (result as { drain?: { measure?: { recordsBehind: number } } }).drain?.measure?.recordsBehind,
    ).toBeGreaterThan(0);
    expect(writer.state.rejectedTypes).toEqual(new Set(['MESSAGE_TOO_LARGE']));
    expect(await topicOverride(primaryAdmin, topic, 'max.message.bytes')).toBeUndefined();
    expect(await topicOverride(primaryAdmin, topic, 'retention.ms')).toBe('86400000');
    const active = await readActiveOnce(d.stores, d.paths);
    expect(active).toMatchObject({ kind: 'consistent', config: { cluster: 'primary' } });
  }, 300_000);

  it('switches with a producer running: every record the primary acknowledged is on the secondary (RPO 0)', async () => {
    // Arrange: a writer and a consumer group busy on the primary.
    const writer = startWriter(producer, topic);
    const before = writer.state.acked.length;
    await waitFor(async () => writer.state.acked.length >= before + 50, {
      timeoutMs: 60_000,
      what: 'the writer to be busy',
    });

    // Act
    const result: PlannedResult = await runPlannedSwitchover(planned(uniqueName('planned')), plannedDeps());
    const rejectedDuringSwitch = writer.state.rejected;
    await h.pauseMirror();
    await writer.stop();

    // Assert
    expect(result).toMatchObject({ status: 'switched', planned: true, rpoRecords: 0, fenceLifted: true });
    if (result.status !== 'switched') return;
    console.info(
      `planned switchover: writes stopped ${result.writesStoppedMs} ms (drain ${result.drain.waitedMs} ms), ` +
        `${writer.state.acked.length} records acknowledged, ${rejectedDuringSwitch} sends rejected by the fence`,
    );
    // The broker rejected the writer while the fence was up, with the error the library's producer holds back on.
    expect(rejectedDuringSwitch).toBeGreaterThan(0);
    expect(writer.state.rejectedTypes).toEqual(new Set(['MESSAGE_TOO_LARGE']));
    // The figures: per partition, the fenced primary's end is what MM2 copied.
    for (const p of result.drain.measure.partitions) {
      expect(p.copiedThrough, `${p.topic}:${p.partition}`).toBe(p.primaryEnd);
      expect(p.behind).toBe(0);
    }
    expect(result.drain.measure.groups.length).toBeGreaterThan(0);
    // Independently of the figures: with the mirror paused now, every record the primary acknowledged before the
    // switch is already on the secondary, and none was acknowledged while the fence was up.
    const active = await readActiveOnce(d.stores, d.paths);
    if (active.kind !== 'consistent')
      throw new Error(`expected a consistent active configuration, got ${active.kind}`);
    const switchedAt = Date.parse(active.config.switchedAt);
    const raisedAt = switchedAt - result.writesStoppedMs;
    const ackedBeforeSwitch = writer.state.acked.filter(
      (_, i) => (writer.state.ackedAt[i] ?? 0) < switchedAt,
    );
    const ackedWhileFenced = writer.state.ackedAt.filter((t) => t > raisedAt + 1_000 && t < switchedAt);
    expect(ackedWhileFenced).toEqual([]);
    const onSecondary = new Set<string>();
    const reader = kafkaClient(info, 'secondary', { logLevel: logLevel.NOTHING }).consumer({
      groupId: uniqueName('rpo-check'),
    });
    await reader.connect();
    await reader.subscribe({ topic: mirrored, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        onSecondary.add(String(message.value));
      },
    });
    try {
      await waitFor(async () => ackedBeforeSwitch.every((v) => onSecondary.has(v)), {
        timeoutMs: 60_000,
        what: 'every record acknowledged before the switch to be readable on the secondary',
      });
    } finally {
      await reader.disconnect();
      await h.resumeMirror();
    }
    expect(await topicOverride(primaryAdmin, topic, 'max.message.bytes')).toBeUndefined();
    expect(await topicOverride(primaryAdmin, topic, 'retention.ms')).toBe('86400000');
    expect(active).toMatchObject({
      kind: 'consistent',
      config: { cluster: 'secondary', epoch: result.epoch },
    });
  }, 300_000);
});
