import type { Admin } from 'kafkajs';
import { logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import type { CopiedRecord } from '#shared/failback/cluster-ops.ts';
import { runCopyBack } from '#shared/failback/copy-back.ts';
import { KafkajsCluster } from '#shared/failback/kafkajs-cluster.ts';
import { PROVENANCE } from '#shared/failback/partition-copy.ts';
import type { PhaseContext } from '#shared/failback/phase-context.ts';
import { failbackStateSchema } from '#shared/failback/state.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { harness } from './shared-harness.ts';

/**
 * Copy-back on the shared harness (default policy, MM2 running): records MM2 copied into `primary.<topic>` stay
 * where they are; what "clients" wrote there after the failover goes into `<topic>` on the primary exactly once,
 * through a crash between a write and its journal entry.
 */
const unusedGroups = {
  readCheckpoints: async () => [],
  describeGroup: async () => ({ state: 'Dead', members: 0 }),
  committedOffsets: async () => [],
  commitOffsets: async () => {},
};

describe('copy-back (default policy) on the harness', () => {
  const { info } = harness();
  const primaryKafka = kafkaClient(info, 'primary', { logLevel: logLevel.NOTHING });
  const secondaryKafka = kafkaClient(info, 'secondary', { logLevel: logLevel.NOTHING });
  const topic = uniqueName('orders');
  const source = `primary.${topic}`;
  const clusterClient = (role: 'primary' | 'secondary') =>
    createClusterClient({
      clientId: 'copy-back-test',
      brokers: info.clusters[role].bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
  const clients = { primary: clusterClient('primary'), secondary: clusterClient('secondary') };
  let primaryAdmin: Admin;
  let secondaryAdmin: Admin;

  beforeAll(async () => {
    primaryAdmin = primaryKafka.admin();
    secondaryAdmin = secondaryKafka.admin();
    await Promise.all([primaryAdmin.connect(), secondaryAdmin.connect()]);
  });

  afterAll(async () => {
    await Promise.all([
      primaryAdmin?.disconnect(),
      secondaryAdmin?.disconnect(),
      clients.primary.close(),
      clients.secondary.close(),
    ]);
  });

  async function values(
    kafka: typeof primaryKafka,
    name: string,
    partition: number,
  ): Promise<CopiedRecord[]> {
    const c = new KafkajsCluster({
      alias: 'reader',
      kafka,
      groups: unusedGroups,
      clusterClient: async () => (kafka === primaryKafka ? clients.primary : clients.secondary),
    });
    const out: CopiedRecord[] = [];
    const [end] = (await c.offsets([name])).filter((o) => o.partition === partition);
    for (let at = end?.low ?? 0; at < (end?.high ?? 0); ) {
      const read = await c.read(name, partition, at);
      out.push(...read.records);
      at = read.nextOffset;
    }
    return out;
  }

  it("copies the clients' records back exactly once across a crash, leaving MM2's copies and the primary's records alone", async () => {
    // Arrange: a0..a3 on the primary, mirrored by MM2 into primary.<topic>; then the failover; then c0..c5 written
    // by clients on the secondary.
    await primaryAdmin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = primaryKafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: ['a0', 'a1', 'a2', 'a3'].map((value) => ({ value })) });
    await producer.disconnect();
    await waitFor(
      async () =>
        (await secondaryAdmin.listTopics()).includes(source) &&
        (await values(secondaryKafka, source, 0)).length === 4,
      { timeoutMs: 90_000, what: `MM2 to copy 4 records into ${source}` },
    );
    await new Promise((r) => setTimeout(r, 2_000)); // MM2's offset syncs are written after its records
    const failoverAt = Date.now();
    const clientsProducer = secondaryKafka.producer({ allowAutoTopicCreation: false });
    await clientsProducer.connect();
    for (const value of ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']) {
      await clientsProducer.send({ topic: source, acks: -1, messages: [{ value, partition: 0 }] });
    }
    await clientsProducer.disconnect();

    const config = deploymentConfigSchema.parse({
      name: 'copy-back-test',
      mode: 'active-passive',
      replicationPolicy: 'default',
      clusters: {
        primary: { alias: 'primary', auth: 'none' },
        secondary: { alias: 'secondary', auth: 'none' },
      },
      topics: [topic],
      mirror: { kind: 'manual' },
    });
    const cluster = (role: 'primary' | 'secondary') =>
      new KafkajsCluster({
        alias: role,
        kafka: role === 'primary' ? primaryKafka : secondaryKafka,
        groups: unusedGroups,
        clusterClient: async () => clients[role],
        readMaxBytes: 64, // one record per read: many batches, so that the crash lands mid-copy
      });
    const primary = cluster('primary');
    const secondary = cluster('secondary');
    let appends = 0;
    const crashing: Pick<KafkajsCluster, 'alias' | 'offsets' | 'read' | 'readOffsetSyncs' | 'append'> = {
      alias: primary.alias,
      offsets: (topics) => primary.offsets(topics),
      read: (t, partition, from) => primary.read(t, partition, from),
      readOffsetSyncs: (t) => primary.readOffsetSyncs(t),
      append: async (t, partition, records) => {
        const base = await primary.append(t, partition, records);
        appends += 1;
        if (appends === 3) throw new Error('crashed after writing');
        return base;
      },
    };
    let journal = '';
    const context = (p: unknown, state: unknown) =>
      ({
        deps: {
          config,
          paths: deploymentPaths(config.name),
          primary: p,
          secondary,
          authority: {
            read: async () => ({
              epoch: 1,
              cluster: 'secondary',
              writtenAt: new Date(failoverAt).toISOString(),
            }),
          },
          clock: { now: () => Date.now() },
          logger: { info: () => {}, warn: () => {} },
          sleep: (ms: number) => new Promise((r) => setTimeout(r, ms)),
        },
        mirror: {
          // The shared harness's MM2 keeps running for the other tests, so it mirrors the copies forward again;
          // in a failback the forward mirror is stopped here and restarted at the producer cut (restore).
          stopForward: async () => ({ done: true, detail: 'the shared harness keeps its mirror' }),
          // What Kafka Connect's offsets API reports for the forward flow: MM2 copied a0..a3 (offsets 0..3).
          lastReplicated: async () => [{ topic, partition: 0, offset: 3 }],
        },
        state,
        save: async function (this: { state: unknown }) {
          journal = JSON.stringify(this.state);
        },
        remainingMs: () => 600_000,
        pause: (ms: number) => new Promise((r) => setTimeout(r, ms)),
      }) as unknown as PhaseContext;
    const fresh = {
      runId: 'r1',
      mode: 'active-passive',
      startedAt: new Date().toISOString(),
      requestedBy: 't',
      reason: 't',
      startEpoch: 1,
      completed: [],
    };

    // Act: the first invocation dies after its third write, before journaling it; the next resumes from the journal.
    const first = context(crashing, fresh);
    first.save = first.save.bind(first);
    await expect(runCopyBack(first, () => source)).rejects.toThrow('crashed after writing');
    const second = context(primary, failbackStateSchema.parse(JSON.parse(journal)));
    second.save = second.save.bind(second);
    const outcome = await runCopyBack(second, () => source);

    // Assert
    expect(outcome.kind).toBe('done');
    const onPrimary = await values(primaryKafka, topic, 0);
    expect(onPrimary.map((r) => String(r.value))).toEqual([
      'a0',
      'a1',
      'a2',
      'a3',
      'c0',
      'c1',
      'c2',
      'c3',
      'c4',
      'c5',
    ]);
    expect(onPrimary.slice(4).map((r) => String(r.headers[PROVENANCE.offset]))).toEqual([
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
    ]);
    await Promise.all([primary.close(), secondary.close()]);
  }, 240_000);
});
