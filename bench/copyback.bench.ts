// `npm run bench:copyback`: how fast failback copies back, under the default replication policy, what clients wrote
// on the secondary after a failover (`primary.<topic>`) into `<topic>` on the primary, against a plain kafkajs copy.
//
// On a harness of its own (no mirror, no moto), RECORDS records of RECORD_BYTES bytes are written to a 4-partition
// `primary.<topic>` on the secondary, and copied to the primary twice per round, interleaved (ROUNDS rounds, into
// fresh topics, the one that goes first alternating; each side reported by its median: the machine's load swings;
// interleaved-samples.ts):
// - copy-back: the failback phase's own code (runCopyBack: forward mirror "stopped", offset syncs read (none),
//   direct fetches without a consumer group, read_committed, provenance headers, idempotent acks=all batches the
//   cluster client encodes itself, progress journaled after every batch to an in-memory journal);
// - plain: consumer eachBatch → producer sendBatch (one consumer group, acks=all, no headers, nothing journaled).
// Both copies are verified complete. Written: bench/results/copyback.json =
// { records, recordsPerSecond, plainRecordsPerSecond, ratio } (ratio = copy-back / plain; the goal is at least 1),
// with every sample, its Node CPU time and the load average.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { logLevel } from 'kafkajs';
import { startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { runCopyBack } from '#shared/failback/copy-back.ts';
import { KafkajsCluster } from '#shared/failback/kafkajs-cluster.ts';
import type { PhaseContext } from '#shared/failback/phase-context.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { interleave } from './interleaved-samples.ts';

const RECORDS = Number(process.env.BENCH_COPYBACK_RECORDS ?? 100_000);
const RECORD_BYTES = Number(process.env.BENCH_COPYBACK_RECORD_BYTES ?? 1_000);
const PARTITIONS = 4;
const ROUNDS = Number(process.env.BENCH_COPYBACK_ROUNDS ?? 5);
const resultFile = path.join(import.meta.dirname, 'results', 'copyback.json');

const unusedGroups = {
  readCheckpoints: async () => [],
  describeGroup: async () => ({ state: 'Dead', members: 0 }),
  committedOffsets: async () => [],
  commitOffsets: async () => {},
};

async function main(): Promise<void> {
  console.error('starting a harness of its own (two Kafka clusters, no mirror)...');
  const h = await startHarness({
    policy: 'default',
    tls: false,
    moto: false,
    mirror: false,
    controlServer: false,
  });
  try {
    const primary = kafkaClient(h.info, 'primary', { logLevel: logLevel.NOTHING });
    const secondary = kafkaClient(h.info, 'secondary', { logLevel: logLevel.NOTHING });
    const createTopic = async (kafka: typeof primary, topic: string): Promise<void> => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      await admin.disconnect();
    };
    const highs = async (kafka: typeof primary, topic: string): Promise<number> => {
      const admin = kafka.admin();
      await admin.connect();
      const n = (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
      await admin.disconnect();
      return n;
    };
    const source = `primary.${uniqueName('bench-orders')}`;
    await createTopic(secondary, source);
    console.error(`writing ${RECORDS} records of ${RECORD_BYTES} bytes to ${source} on the secondary...`);
    const producer = secondary.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = Buffer.alloc(RECORD_BYTES, 120);
    for (let sent = 0; sent < RECORDS; sent += 500) {
      const n = Math.min(500, RECORDS - sent);
      await producer.send({
        topic: source,
        acks: -1,
        messages: Array.from({ length: n }, (_, i) => ({
          key: `k${sent + i}`,
          value,
          headers: { trace: `t${sent + i}` },
          partition: (sent + i) % PARTITIONS,
        })),
      });
    }
    await producer.disconnect();

    const clientConfig = (cluster: 'primary' | 'secondary') => ({
      clientId: 'bench-copyback',
      brokers: h.info.clusters[cluster].bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });

    const copyBackRun = async (): Promise<{ ms: number; journalWrites: number }> => {
      const target = uniqueName('bench-orders');
      await createTopic(primary, target);
      const config = deploymentConfigSchema.parse({
        name: 'bench-copyback',
        mode: 'active-passive',
        replicationPolicy: 'default',
        clusters: {
          primary: { alias: 'primary', auth: 'none' },
          secondary: { alias: 'secondary', auth: 'none' },
        },
        topics: [target],
        mirror: { kind: 'manual' },
      });
      const primaryClient = createClusterClient(clientConfig('primary'));
      const secondaryClient = createClusterClient(clientConfig('secondary'));
      const p = new KafkajsCluster({
        alias: 'primary',
        kafka: primary,
        groups: unusedGroups,
        clusterClient: async () => primaryClient,
      });
      const s = new KafkajsCluster({
        alias: 'secondary',
        kafka: secondary,
        groups: unusedGroups,
        clusterClient: async () => secondaryClient,
      });
      let journalWrites = 0;
      const ctx = {
        deps: {
          config,
          paths: deploymentPaths(config.name),
          primary: p,
          secondary: s,
          authority: { read: async () => undefined },
          clock: { now: () => Date.now() },
          logger: { info: () => {}, warn: () => {} },
          sleep: (ms: number) => new Promise((r) => setTimeout(r, ms)),
        },
        mirror: {
          stopForward: async () => ({ done: true, detail: 'no mirror in this bench' }),
          lastReplicated: async () => [],
        },
        state: { startEpoch: 1, startedAt: new Date().toISOString(), completed: [] },
        save: async () => {
          journalWrites += 1;
        },
        remainingMs: () => Number.POSITIVE_INFINITY,
        pause: (ms: number) => new Promise((r) => setTimeout(r, ms)),
      } as unknown as PhaseContext;
      console.error('copying back...');
      const t0 = performance.now();
      const outcome = await runCopyBack(ctx, () => source);
      const ms = performance.now() - t0;
      if (outcome.kind !== 'done') throw new Error(`copy-back did not finish: ${JSON.stringify(outcome)}`);
      const copied = Object.values(ctx.state.copyBack?.partitions ?? {}).reduce((n, x) => n + x.copied, 0);
      const landed = await highs(primary, target);
      await Promise.all([p.close(), s.close(), primaryClient.close(), secondaryClient.close()]);
      if (copied !== RECORDS || landed !== RECORDS) {
        throw new Error(`incomplete copy-back: copied ${copied}, the primary holds ${landed}`);
      }
      return { ms, journalWrites };
    };

    const plainRun = async (): Promise<number> => {
      console.error('copying with the plain kafkajs loop...');
      const target = uniqueName('bench-plain');
      await createTopic(primary, target);
      const out = primary.producer({ allowAutoTopicCreation: false });
      await out.connect();
      const consumer = secondary.consumer({ groupId: uniqueName('bench-baseline'), maxWaitTimeInMs: 250 });
      await consumer.connect();
      await consumer.subscribe({ topic: source, fromBeginning: true });
      let copied = 0;
      const t1 = performance.now();
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              await out.sendBatch({
                acks: -1,
                topicMessages: [
                  {
                    topic: target,
                    messages: batch.messages.map((m) => ({
                      key: m.key,
                      value: m.value,
                      headers: m.headers,
                      timestamp: m.timestamp,
                      partition: batch.partition,
                    })),
                  },
                ],
              });
              copied += batch.messages.length;
              if (copied >= RECORDS) resolve();
            },
          })
          .catch(reject);
      });
      const ms = performance.now() - t1;
      await consumer.disconnect();
      await out.disconnect();
      const landed = await highs(primary, target);
      if (landed !== RECORDS) throw new Error(`incomplete plain copy: ${landed} of ${RECORDS}`);
      return ms;
    };

    let journalWrites = 0;
    const compared = await interleave(RECORDS, ROUNDS, {
      copy: async () => {
        const run = await copyBackRun();
        journalWrites = run.journalWrites;
        return run.ms;
      },
      plain: plainRun,
    });
    const results = {
      records: compared.records,
      recordsPerSecond: compared.recordsPerSecond,
      plainRecordsPerSecond: compared.plainRecordsPerSecond,
      ratio: compared.ratio,
      statistic: compared.statistic,
      recordBytes: RECORD_BYTES,
      partitions: PARTITIONS,
      copyBackMs: compared.copyMedianMs,
      plainMs: compared.plainMedianMs,
      copyBackCpuMs: compared.copyCpuMedianMs,
      plainCpuMs: compared.plainCpuMedianMs,
      copyBackJournalWrites: journalWrites,
      loadAverage: compared.loadAverage,
      samples: compared.samples.map(({ copyMs, copyCpuMs, ...s }) => ({
        ...s,
        copyBackMs: copyMs,
        copyBackCpuMs: copyCpuMs,
      })),
    };
    mkdirSync(path.dirname(resultFile), { recursive: true });
    writeFileSync(resultFile, `${JSON.stringify(results, null, 2)}\n`);
    for (const [k, v] of Object.entries(results)) {
      if (k !== 'samples') console.log(`${k.padEnd(24)} ${JSON.stringify(v)}`);
    }
    console.log(`written to ${path.relative(process.cwd(), resultFile)}`);
  } finally {
    await h.stop();
  }
}

await main();
