// `npm run bench:failback`: how fast salvage copies a primary's un-replicated tail into quarantine.
//
// Salvage is the one failback phase whose work grows with the data: a Lambda has 15 minutes per invocation, so
// its throughput says how large a tail one invocation clears. On a harness of its own (identity policy, no
// mirror, no moto), RECORDS records of RECORD_BYTES bytes are written to a 4-partition topic on the primary, and
// copied to the secondary twice:
// - salvage: the phase's own code path (copyTails: direct fetches without a consumer group, read_committed,
//   progress in broker offsets, the next batch read while the current one is written, provenance headers,
//   idempotent batches of at most 512 KiB that the cluster client encodes itself, progress journaled after every
//   batch to an in-memory journal);
// - plain: the plainest correct copy with kafkajs (one consumer group, eachBatch, one acks=all send per 400
//   records, no headers added, nothing journaled), measured in the same run.
// Both copies are verified complete. The machine's load swings, so the two are interleaved (ROUNDS rounds, into
// fresh topics, the one that goes first alternating; interleaved-samples.ts) and each side is reported by its
// median. Reported: { records, recordsPerSecond, plainRecordsPerSecond, ratio } (ratio = salvage / plain; at least
// 1 is the target: what salvage adds must not make it slower than a naive copy), with every sample, its Node CPU
// time and the load average.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { logLevel } from 'kafkajs';
import { startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { KafkajsCluster } from '#shared/failback/kafkajs-cluster.ts';
import type { MirrorController } from '#shared/failback/mirror-controller.ts';
import type { PhaseContext } from '#shared/failback/phase-context.ts';
import { copyTails, measureTail } from '#shared/failback/salvage.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { tpKey } from '#shared/kafka/topic-partition.ts';
import { interleave } from './interleaved-samples.ts';

const RECORDS = Number(process.env.BENCH_FAILBACK_RECORDS ?? 100_000);
const RECORD_BYTES = Number(process.env.BENCH_FAILBACK_RECORD_BYTES ?? 1_000);
const PARTITIONS = 4;
const ROUNDS = Number(process.env.BENCH_FAILBACK_ROUNDS ?? 5);
const resultFile = path.join(import.meta.dirname, 'results', 'failback.json');

// The mirror below reports exactly what was replicated (nothing), so salvage never reads MM2's offset syncs.

const unusedGroups = {
  readCheckpoints: async () => [],
  describeGroup: async () => ({ state: 'Dead', members: 0 }),
  committedOffsets: async () => [],
  commitOffsets: async () => {},
};

async function main(): Promise<void> {
  console.error('starting a harness of its own (two Kafka clusters, no mirror)...');
  const h = await startHarness({
    policy: 'identity',
    tls: false,
    moto: false,
    mirror: false,
    controlServer: false,
  });
  try {
    const primary = kafkaClient(h.info, 'primary', { logLevel: logLevel.NOTHING });
    const secondary = kafkaClient(h.info, 'secondary', { logLevel: logLevel.NOTHING });
    const topic = uniqueName('bench-tail');
    const admin = primary.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();

    console.error(`writing ${RECORDS} records of ${RECORD_BYTES} bytes to the primary...`);
    const producer = primary.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = Buffer.alloc(RECORD_BYTES, 120);
    for (let sent = 0; sent < RECORDS; sent += 500) {
      const n = Math.min(500, RECORDS - sent);
      await producer.send({
        topic,
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
      clientId: 'bench-failback',
      brokers: h.info.clusters[cluster].bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
      // As patient as the harness's kafkajs clients: the 2-core machine is shared.
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    const salvageRun = async (): Promise<{ ms: number; journalWrites: number }> => {
      // Salvage, through the phase's own code, into a fresh quarantine topic.
      const config = deploymentConfigSchema.parse({
        name: 'bench-failback',
        mode: 'active-passive',
        replicationPolicy: 'identity',
        clusters: {
          primary: { alias: 'primary', auth: 'none' },
          secondary: { alias: 'secondary', auth: 'none' },
        },
        topics: [topic],
        mirror: { kind: 'manual' },
        failback: { quarantineTopic: uniqueName('bench-quarantine') },
      });
      // Ranges are read through the cluster client; the mirror below reports what was replicated (nothing), and
      // no offset-syncs topic exists on the harness without a mirror.
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
      const nothingReplicated: Pick<MirrorController, 'lastReplicated'> = { lastReplicated: async () => [] };
      let journalWrites = 0;
      const ctx = {
        deps: {
          config,
          paths: deploymentPaths(config.name),
          primary: p,
          secondary: s,
          logger: { info: () => {}, warn: () => {} },
          sleep: (ms: number) => new Promise((r) => setTimeout(r, ms)),
        },
        mirror: nothingReplicated,
        state: {
          salvage: { forwardStopped: true, quarantineTopic: config.failback.quarantineTopic, partitions: {} },
        },
        save: async () => {
          journalWrites += 1;
        },
        remainingMs: () => Number.POSITIVE_INFINITY,
        pause: (ms: number) => new Promise((r) => setTimeout(r, ms)),
      } as unknown as PhaseContext;
      const offsets = await p.offsets([topic]);
      const qCount = await s.ensureTopic(config.failback.quarantineTopic, {
        partitions: PARTITIONS,
        configs: { 'retention.ms': '-1', 'retention.bytes': '-1' },
        replicationFactorOf: [topic],
      });
      const salvageState = ctx.state.salvage as NonNullable<PhaseContext['state']['salvage']>;
      for (const part of await measureTail(ctx, offsets, { partitions: qCount, highs: new Map() })) {
        salvageState.partitions[tpKey(part.topic, part.partition)] = part;
      }
      console.error('salvaging...');
      const t0 = performance.now();
      const outcome = await copyTails(ctx);
      const ms = performance.now() - t0;
      if (outcome.kind !== 'done') throw new Error(`salvage did not finish: ${JSON.stringify(outcome)}`);
      const salvaged = Object.values(salvageState.partitions).reduce((n, x) => n + x.copied, 0);
      const quarantined = (await s.offsets([config.failback.quarantineTopic])).reduce(
        (n, o) => n + o.high,
        0,
      );
      await Promise.all([p.close(), s.close(), primaryClient.close(), secondaryClient.close()]);
      if (salvaged !== RECORDS || quarantined !== RECORDS) {
        throw new Error(`incomplete salvage: salvaged ${salvaged}, quarantine holds ${quarantined}`);
      }
      return { ms, journalWrites };
    };

    const plainRun = async (): Promise<number> => {
      // The plainest kafkajs copy, into a fresh topic.
      console.error('copying with the plain kafkajs loop...');
      const target = uniqueName('bench-copy');
      const sAdmin = secondary.admin();
      await sAdmin.connect();
      await sAdmin.createTopics({
        topics: [{ topic: target, numPartitions: PARTITIONS }],
        waitForLeaders: true,
      });
      const out = secondary.producer({ allowAutoTopicCreation: false });
      await out.connect();
      const consumer = primary.consumer({ groupId: uniqueName('bench-baseline'), maxWaitTimeInMs: 250 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let copied = 0;
      const t1 = performance.now();
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (let i = 0; i < batch.messages.length; i += 400) {
                const slice = batch.messages.slice(i, i + 400);
                await out.send({
                  topic: target,
                  acks: -1,
                  messages: slice.map((m) => ({
                    key: m.key,
                    value: m.value,
                    headers: m.headers,
                    timestamp: m.timestamp,
                    partition: batch.partition,
                  })),
                });
                copied += slice.length;
              }
              if (copied >= RECORDS) resolve();
            },
          })
          .catch(reject);
      });
      const ms = performance.now() - t1;
      await consumer.disconnect();
      await out.disconnect();
      const copiedHigh = (await sAdmin.fetchTopicOffsets(target)).reduce((n, o) => n + Number(o.high), 0);
      await sAdmin.disconnect();
      if (copiedHigh !== RECORDS) throw new Error(`incomplete plain copy: ${copiedHigh} of ${RECORDS}`);
      return ms;
    };

    let journalWrites = 0;
    const compared = await interleave(RECORDS, ROUNDS, {
      copy: async () => {
        const run = await salvageRun();
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
      salvageMs: compared.copyMedianMs,
      plainMs: compared.plainMedianMs,
      salvageCpuMs: compared.copyCpuMedianMs,
      plainCpuMs: compared.plainCpuMedianMs,
      salvageJournalWrites: journalWrites,
      recordsPerInvocationEstimate: Math.round(compared.recordsPerSecond * 14 * 60),
      loadAverage: compared.loadAverage,
      samples: compared.samples.map(({ copyMs, copyCpuMs, ...s }) => ({
        ...s,
        salvageMs: copyMs,
        salvageCpuMs: copyCpuMs,
      })),
    };
    mkdirSync(path.dirname(resultFile), { recursive: true });
    writeFileSync(resultFile, `${JSON.stringify(results, null, 2)}\n`);
    const rows: Array<[string, string | number]> = [
      ['records x bytes', `${RECORDS} x ${RECORD_BYTES}`],
      ['salvage ms (median)', results.salvageMs],
      ['salvage records/s', results.recordsPerSecond],
      ['salvage journal writes', results.salvageJournalWrites],
      ['plain copy ms (median)', results.plainMs],
      ['plain copy records/s', results.plainRecordsPerSecond],
      ['throughput salvage / plain copy', results.ratio],
      ['records per 14-minute invocation (est.)', results.recordsPerInvocationEstimate],
      ['Node CPU ms salvage / plain (median)', `${results.salvageCpuMs} / ${results.plainCpuMs}`],
      ['load average at start / end', `${results.loadAverage.start[0]} / ${results.loadAverage.end[0]}`],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(42)} ${v}`);
    console.log(`written to ${path.relative(process.cwd(), resultFile)}`);
  } finally {
    await h.stop();
  }
}

await main();
