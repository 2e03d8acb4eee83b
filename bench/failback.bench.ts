// `npm run bench:failback`: how fast salvage copies a primary's un-replicated tail into quarantine.
//
// Salvage is the one failback phase whose work grows with the data: a Lambda has 15 minutes per invocation, so
// its throughput says how large a tail one invocation clears. On a harness of its own (identity policy, no
// mirror, no moto), RECORDS records of RECORD_BYTES bytes are written to a 4-partition topic on the primary, and
// copied to the secondary twice:
// - salvage: the phase's own code path (copyTails: ranged reads through a throw-away consumer group, provenance
//   headers, idempotent writes in requests of at most 512 KiB, progress journaled after every batch to an
//   in-memory journal);
// - baseline: the plainest correct copy with kafkajs (one consumer group, eachBatch, one acks=all send per batch,
//   no headers added, nothing journaled).
// Both copies are verified complete. Reported: records/s of each and salvage/baseline. No target beyond "clears a
// million small records well within one invocation"; the ratio shows what provenance and resumability cost.
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
import { tpKey } from '#shared/kafka/topic-partition.ts';

const RECORDS = Number(process.env.BENCH_FAILBACK_RECORDS ?? 100_000);
const RECORD_BYTES = Number(process.env.BENCH_FAILBACK_RECORD_BYTES ?? 1_000);
const PARTITIONS = 4;
const resultFile = path.join(import.meta.dirname, 'results', 'failback.json');

// The mirror below reports exactly what was replicated (nothing), so salvage never reads MM2's offset syncs.
const noSyncs = async (): Promise<never> => {
  throw new Error('the benchmark reads no MM2 internal topic');
};

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

    // Salvage, through the phase's own code.
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
    const p = new KafkajsCluster({
      alias: 'primary',
      kafka: primary,
      groups: unusedGroups,
      clusterClient: noSyncs,
    });
    const s = new KafkajsCluster({
      alias: 'secondary',
      kafka: secondary,
      groups: unusedGroups,
      clusterClient: noSyncs,
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
      },
      mirror: nothingReplicated,
      state: {
        salvage: { forwardStopped: true, quarantineTopic: config.failback.quarantineTopic, partitions: {} },
      },
      save: async () => {
        journalWrites += 1;
      },
      remainingMs: () => Number.POSITIVE_INFINITY,
    } as unknown as PhaseContext;
    const offsets = await p.offsets([topic]);
    const qCount = await s.ensureTopic(config.failback.quarantineTopic, PARTITIONS);
    const salvageState = ctx.state.salvage as NonNullable<PhaseContext['state']['salvage']>;
    for (const part of await measureTail(ctx, offsets, qCount, new Map())) {
      salvageState.partitions[tpKey(part.topic, part.partition)] = part;
    }
    console.error('salvaging...');
    const t0 = performance.now();
    await copyTails(ctx);
    const salvageMs = performance.now() - t0;
    const salvaged = Object.values(salvageState.partitions).reduce((n, x) => n + x.copied, 0);
    const quarantined = (await s.offsets([config.failback.quarantineTopic])).reduce((n, o) => n + o.high, 0);
    await Promise.all([p.close(), s.close()]);

    // Baseline: the plainest kafkajs copy.
    console.error('copying with the baseline...');
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
    const baselineMs = performance.now() - t1;
    await consumer.disconnect();
    await out.disconnect();
    const copiedHigh = (await sAdmin.fetchTopicOffsets(target)).reduce((n, o) => n + Number(o.high), 0);
    await sAdmin.disconnect();

    if (salvaged !== RECORDS || quarantined !== RECORDS || copiedHigh !== RECORDS) {
      throw new Error(
        `incomplete copy: salvaged ${salvaged}, quarantine holds ${quarantined}, baseline ${copiedHigh}`,
      );
    }
    const results = {
      records: RECORDS,
      recordBytes: RECORD_BYTES,
      partitions: PARTITIONS,
      salvageMs: Math.round(salvageMs),
      salvageRecordsPerSec: Math.round((RECORDS / salvageMs) * 1000),
      salvageJournalWrites: journalWrites,
      baselineMs: Math.round(baselineMs),
      baselineRecordsPerSec: Math.round((RECORDS / baselineMs) * 1000),
      ratioSalvageToBaseline: Math.round((baselineMs / salvageMs) * 100) / 100,
      recordsPerInvocationEstimate: Math.round((RECORDS / salvageMs) * (14 * 60_000)),
    };
    mkdirSync(path.dirname(resultFile), { recursive: true });
    writeFileSync(resultFile, `${JSON.stringify(results, null, 2)}\n`);
    const rows: Array<[string, string | number]> = [
      ['records x bytes', `${RECORDS} x ${RECORD_BYTES}`],
      ['salvage ms', results.salvageMs],
      ['salvage records/s', results.salvageRecordsPerSec],
      ['salvage journal writes', results.salvageJournalWrites],
      ['baseline ms', results.baselineMs],
      ['baseline records/s', results.baselineRecordsPerSec],
      ['throughput salvage / baseline', results.ratioSalvageToBaseline],
      ['records per 14-minute invocation (est.)', results.recordsPerInvocationEstimate],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(42)} ${v}`);
    console.log(`written to ${path.relative(process.cwd(), resultFile)}`);
  } finally {
    await h.stop();
  }
}

await main();
