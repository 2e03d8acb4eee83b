// `npm run bench:groups`: failover's offset translation at a large deployment's size, on a harness of its own
// (real Kafka, MirrorMaker 2 copying two 48-partition topics). Then MM2 is stopped (the primary's disaster), MM2's
// checkpoints topic on the secondary receives, in MM2's record format, the checkpoints of 500 consumer groups over
// every partition (why not MM2 itself: see below), and the groups' offsets on the secondary are deleted before
// each measurement, so that every measured path commits all 48,000 group partitions.
//
// translateMs: the failover's own code (shared/offsets: planGroupOffsets + commitGroupOffsets over
// kafkaGroupOffsets), from reading the checkpoints to the last commit. naiveMs: a per-group loop over the kafkajs
// admin (describe, fetch, `setOffsets` per topic, one group after the other; measured on a sample of 50 groups
// and scaled), what the failover did before less its parallelism. Both are checked: afterwards every group's committed offsets on the secondary equal the
// checkpoints' downstream offsets. Goal: translateMs at most 3,000. Writes `groups500` into
// bench/results/failover.json (the rest of that file is bench:failover's).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { logLevel } from 'kafkajs';
import { startHarness } from '#harness/harness.ts';
import { kafkaClient } from '#harness/kafka-clients.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { createClusterClient } from '#shared/kafka/cluster-client.ts';
import { readCheckpoints } from '#shared/kafka/mm2-internal-topics.ts';
import { encodeCheckpointKey, encodeCheckpointValue } from '#shared/kafka/mm2-records.ts';
import { fixRequestQueueTimer } from '#shared/kafka/request-queue-timer-fix.ts';
import { kafkaGroupOffsets } from '#shared/offsets/kafka-group-offsets.ts';
import { commitGroupOffsets, planGroupOffsets } from '#shared/offsets/offset-translation.ts';

const GROUPS = Number(process.env.BENCH_GROUPS ?? 500);
const PARTITIONS = 48;
const TOPICS = 2;
const TARGET_MS = 3_000;
const NAIVE_SAMPLE = Number(process.env.BENCH_GROUPS_NAIVE_SAMPLE ?? 50);
const resultFile = path.join(import.meta.dirname, 'results', 'failover.json');
const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main(): Promise<void> {
  fixRequestQueueTimer();
  const h = await startHarness({ moto: false, log });
  try {
    // Patient clients: the machine this runs on is small and often loaded.
    const quiet = {
      logLevel: logLevel.NOTHING,
      config: { connectionTimeout: 20_000, authenticationTimeout: 20_000, requestTimeout: 60_000 },
    };
    const topics = Array.from({ length: TOPICS }, (_, i) => uniqueName(`bench-groups-${i}`));
    // The harness's MM2 runs the default replication policy: the groups read `primary.<topic>` on the secondary.
    const remote = topics.map((t) => `primary.${t}`);
    const groups = Array.from({ length: GROUPS }, (_, i) => `bench-group-${String(i).padStart(3, '0')}`);
    const kafkaConfigOf = (role: 'primary' | 'secondary') => ({
      clientId: 'bench-groups',
      brokers: h.info.clusters[role].bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 20_000,
      requestTimeout: 30_000,
    });

    const primaryAdmin = kafkaClient(h.info, 'primary', quiet).admin();
    await primaryAdmin.connect();
    await primaryAdmin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })),
      waitForLeaders: true,
    });
    await primaryAdmin.disconnect();
    const producer = kafkaClient(h.info, 'primary', quiet).producer();
    await producer.connect();
    // Right after creation a loaded broker can still answer NOT_LEADER for a partition it has not loaded yet.
    for (const topic of topics) {
      await waitFor(
        () =>
          producer
            .send({
              topic,
              acks: -1,
              messages: Array.from({ length: PARTITIONS * 4 }, (_, i) => ({
                partition: i % PARTITIONS,
                value: `r${i}`,
              })),
            })
            .then(() => true),
        { timeoutMs: 120_000, intervalMs: 2_000, what: `records written to ${topic}` },
      );
    }
    await producer.disconnect();

    // The mirrored topics on the secondary, with every record copied.
    const secondary = createClusterClient(kafkaConfigOf('secondary'));
    const checkpointsTopic = 'primary.checkpoints.internal';
    const secondaryAdmin = kafkaClient(h.info, 'secondary', quiet).admin();
    await secondaryAdmin.connect();
    // What the primary holds (a producer retry under load can have written a batch twice).
    const primaryEnds = kafkaClient(h.info, 'primary', quiet).admin();
    await primaryEnds.connect();
    let written = 0;
    for (const topic of topics)
      written += (await primaryEnds.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
    await primaryEnds.disconnect();
    await waitFor(
      async () => {
        let copied = 0;
        for (const topic of remote) {
          const offsets = await secondaryAdmin.fetchTopicOffsets(topic).catch(() => []);
          copied += offsets.reduce((n, o) => n + Number(o.high), 0);
        }
        log(`  ${copied} of ${written} records mirrored`);
        return copied >= written;
      },
      { timeoutMs: 300_000, intervalMs: 5_000, what: 'the topics mirrored to the secondary' },
    );
    await secondaryAdmin.disconnect();
    await h.stopMirror();

    // The checkpoints MM2 would have written for 500 groups, each 1-3 records into every partition, in MM2's own
    // record format (shared/kafka/mm2-records.ts), into MM2's checkpoints topic. Letting MM2 write them was tried
    // first: on this two-core machine, loaded, its checkpoint task emitted about 800 group partitions a minute,
    // an hour for all 48,000, and what is measured here is the failover's side, not MM2's.
    log(`writing checkpoints for ${GROUPS} groups x ${TOPICS * PARTITIONS} partitions`);
    const checkpointProducer = kafkaClient(h.info, 'secondary', quiet).producer();
    await checkpointProducer.connect();
    for (let g = 0; g < GROUPS; g += 50) {
      await checkpointProducer.send({
        topic: checkpointsTopic,
        acks: -1,
        messages: groups.slice(g, g + 50).flatMap((group, i) =>
          remote.flatMap((topic) =>
            Array.from({ length: PARTITIONS }, (_, partition) => {
              const offset = BigInt(1 + ((g + i) % 3));
              return {
                key: encodeCheckpointKey({ group, topic, partition }),
                value: encodeCheckpointValue({ upstreamOffset: offset, downstreamOffset: offset }),
              };
            }),
          ),
        ),
      });
    }
    await checkpointProducer.disconnect();

    const config = deploymentConfigSchema.parse({
      name: 'bench-groups',
      mode: 'active-passive',
      replicationPolicy: 'default',
      clusters: {
        primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
        secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
      },
      topics,
      consumerGroups: groups,
      mirror: { kind: 'kafka-connect', forwardUrl: 'http://fwd:8083', reverseUrl: 'http://rev:8083' },
    });
    const admin = kafkaClient(h.info, 'secondary', quiet).admin();
    await admin.connect();
    const want = new Map<string, number>();
    for (const [group, list] of (await readCheckpoints(secondary, checkpointsTopic, { groups })).byGroup)
      for (const c of list)
        if (remote.includes(c.topic)) want.set(`${group} ${c.topic} ${c.partition}`, c.downstreamOffset);

    const clearSecondary = async () => {
      for (let i = 0; i < groups.length; i += 100) {
        await admin.deleteGroups(groups.slice(i, i + 100)).catch(() => {});
      }
    };
    const verify = async (what: string, which: readonly string[] = groups) => {
      let wrong = 0;
      let checked = 0;
      for (const group of which) {
        for (const t of await admin.fetchOffsets({ groupId: group, topics: remote })) {
          for (const p of t.partitions) {
            checked += 1;
            if (Number(p.offset) !== want.get(`${group} ${t.topic} ${p.partition}`)) wrong += 1;
          }
        }
      }
      if (wrong > 0) throw new Error(`${what}: ${wrong} group partitions not at their checkpointed offset`);
      log(`${what}: all ${checked} group partitions at their checkpointed offsets`);
    };

    // The failover's own path.
    await clearSecondary();
    const offsets = kafkaGroupOffsets({
      cluster: async () => secondary,
      checkpointsTopic,
    });
    const t0 = performance.now();
    const plans = await planGroupOffsets(config, offsets);
    const outcomes = await commitGroupOffsets(plans, offsets);
    const translateMs = Math.round(performance.now() - t0);
    const committed = outcomes.filter((o) => o.outcome === 'committed').length;
    if (committed !== GROUPS) {
      const other = outcomes.find((o) => o.outcome !== 'committed');
      throw new Error(`translate: ${committed} of ${GROUPS} committed; e.g. ${JSON.stringify(other)}`);
    }
    log(`translate: ${translateMs} ms`);
    await verify('translate');

    // The naive loop, in the same run, on the same cluster: on a sample of the groups (one group takes a consumer
    // join per topic, about a second on this machine), its time scaled to all of them.
    await clearSecondary();
    const sample = groups.slice(0, NAIVE_SAMPLE);
    const t1 = performance.now();
    const checkpoints = await readCheckpoints(secondary, checkpointsTopic, { groups: sample });
    for (const group of sample) {
      const list = checkpoints.byGroup.get(group) ?? [];
      const { groups: described } = await admin.describeGroups([group]);
      if ((described[0]?.members.length ?? 0) > 0) continue;
      await admin.fetchOffsets({ groupId: group, topics: remote });
      for (const topic of remote) {
        await admin.setOffsets({
          groupId: group,
          topic,
          partitions: list
            .filter((c) => c.topic === topic)
            .map((c) => ({ partition: c.partition, offset: String(c.downstreamOffset) })),
        });
      }
    }
    const naiveSampleMs = Math.round(performance.now() - t1);
    const naiveMs = Math.round((naiveSampleMs * GROUPS) / sample.length);
    log(`naive: ${naiveSampleMs} ms for ${sample.length} groups, ${naiveMs} ms scaled to ${GROUPS}`);
    await verify('naive', sample);
    await admin.disconnect();
    await secondary.close();

    const groups500 = {
      groups: GROUPS,
      partitionsPerGroup: TOPICS * PARTITIONS,
      translateMs,
      naiveMs,
      naiveSample: { groups: NAIVE_SAMPLE, ms: naiveSampleMs },
      ratio: Number((naiveMs / translateMs).toFixed(1)),
      targetMs: TARGET_MS,
      met: translateMs <= TARGET_MS,
      naive:
        'per group, one after the other: describeGroups, fetchOffsets, kafkajs admin.setOffsets per topic',
    };
    const previous = existsSync(resultFile)
      ? (JSON.parse(readFileSync(resultFile, 'utf8')) as Record<string, unknown>)
      : {};
    mkdirSync(path.dirname(resultFile), { recursive: true });
    writeFileSync(resultFile, `${JSON.stringify({ ...previous, groups500 }, null, 2)}\n`);
    const row = (name: string, value: string | number, note = '') =>
      `${name.padEnd(30)} ${String(value).padStart(10)}  ${note}`;
    console.log(
      [
        `offset translation, ${GROUPS} groups x ${TOPICS * PARTITIONS} partitions (real Kafka, MM2 checkpoints)`,
        row(
          'translate + commit ms',
          translateMs,
          `target <= ${TARGET_MS}: ${groups500.met ? 'met' : 'NOT met'}`,
        ),
        row(
          'naive per-group loop ms',
          naiveMs,
          `${groups500.ratio}x the translate time (${naiveSampleMs} ms measured for ${NAIVE_SAMPLE} groups, scaled)`,
        ),
        `written to ${path.relative(process.cwd(), resultFile)} (groups500)`,
      ].join('\n'),
    );
  } finally {
    await h.stop();
  }
}

await main();
