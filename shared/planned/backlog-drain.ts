import * as z from 'zod';
import type { Clock } from '../clock.ts';
import { describeError, KafkaOperationError } from '../errors.ts';
import type { ClusterClient } from '../kafka/cluster-client.ts';
import { CheckpointReader, OffsetSyncReader, type OffsetSyncs } from '../kafka/mm2-internal-topics.ts';
import type { ReplicationPolicy } from '../kafka/replication-policy.ts';
import { type TopicPartition, tpKey } from '../kafka/topic-partition.ts';

/**
 * Whether MM2 has copied everything the fenced primary holds, and checkpointed every group, per partition.
 *
 * With the fence up the primary's log end offsets no longer move, so "copied everything" is exact: MM2's next
 * upstream offset for a partition is anchored on its last offset sync (upstream u was written downstream at d)
 * and counted forward by the secondary's progress since, next = u + (secondaryEnd - d), the probe's backlog
 * measure; the partition is drained when next reaches the primary's end. Never "secondary end = primary end":
 * the offsets of the two logs diverge. Transaction markers or compaction upstream make `next` lag the end by the
 * records that do not exist, so such a partition does not drain and the switchover is refused (never switched
 * with a record left behind).
 *
 * A group is checkpointed when MM2's last checkpoint of each partition it committed on the primary carries that
 * very committed offset: then the translated offsets the switch commits on the secondary resume where the group
 * stopped, and nothing is consumed twice beyond what MM2's sparse syncs force.
 */

const partitionDrainSchema = z
  .object({
    topic: z.string(),
    partition: z.int().min(0),
    /** The primary's log end offset (fenced: it no longer moves). */
    primaryEnd: z.int(),
    /** The secondary's log end offset of the remote topic. */
    secondaryEnd: z.int().nullable(),
    /** MM2's last offset sync of the partition: upstream u was written downstream at d. */
    sync: z.object({ upstream: z.int(), downstream: z.int() }).strict().nullable(),
    /** The next upstream offset MM2 will copy (u + secondaryEnd - d). */
    copiedThrough: z.int(),
    /** Records on the primary not on the secondary: primaryEnd - copiedThrough, never below 0. */
    behind: z.int().min(0),
  })
  .strict();

const groupDrainSchema = z
  .object({
    group: z.string(),
    topic: z.string(),
    partition: z.int().min(0),
    /** What the group committed on the primary. */
    committed: z.int(),
    /** The upstream offset of MM2's last checkpoint of it; null when none. */
    checkpointed: z.int().nullable(),
  })
  .strict();

export const drainMeasureSchema = z
  .object({
    measuredAt: z.iso.datetime(),
    partitions: z.array(partitionDrainSchema),
    groups: z.array(groupDrainSchema),
    /** Records not yet on the secondary, all partitions. */
    recordsBehind: z.int().min(0),
    /** Group partitions whose last checkpoint is not at the committed offset. */
    groupsBehind: z.int().min(0),
  })
  .strict();
export type DrainMeasure = z.output<typeof drainMeasureSchema>;

/** One measurement of the backlog and the checkpoints. */
export type MeasureDrain = () => Promise<DrainMeasure>;

export interface DrainProbeInput {
  policy: ReplicationPolicy;
  primaryAlias: string;
  secondaryAlias: string;
  /** Watched topics, as named on the primary. */
  topics: readonly string[];
  groups: readonly string[];
}

/** The measure on the two clusters; the offset-sync and checkpoint readers are kept so each poll reads only what is new. */
export function drainProbe(
  input: DrainProbeInput,
  clusters: { primary(): Promise<ClusterClient>; secondary(): Promise<ClusterClient> },
  clock: Pick<Clock, 'now'>,
): MeasureDrain {
  const { policy, primaryAlias, secondaryAlias, topics, groups } = input;
  const remoteOf = (t: string) => policy.formatRemoteTopic(primaryAlias, t);
  // MirrorSourceConfig.offsetSyncsTopic(): on the target named after the source, on the source after the target.
  const syncsOnSecondary = new OffsetSyncReader(policy.offsetSyncsTopicName(primaryAlias));
  const syncsOnPrimary = new OffsetSyncReader(policy.offsetSyncsTopicName(secondaryAlias));
  const checkpoints = new CheckpointReader(policy.checkpointsTopic(primaryAlias), { groups });

  return async () => {
    const [primary, secondary] = await Promise.all([clusters.primary(), clusters.secondary()]);
    const md = await primary.metadata(topics);
    const parts: TopicPartition[] = topics.flatMap((topic) =>
      (md.topics.get(topic)?.partitions ?? []).map((p) => ({ topic, partition: p.partition })),
    );
    const remoteParts = parts.map((p) => ({ topic: remoteOf(p.topic), partition: p.partition }));
    await secondary.metadata(remoteParts.map((p) => p.topic));
    const [primaryEnds, primaryStarts, secondaryEnds, syncs, cps, committed] = await Promise.all([
      primary.listOffsets(parts, 'latest'),
      primary.listOffsets(parts, 'earliest'),
      secondary.listOffsets(remoteParts, 'latest'),
      readSyncs(syncsOnSecondary, secondary, syncsOnPrimary, primary),
      groups.length === 0 ? undefined : checkpoints.read(secondary),
      Promise.all(groups.map(async (group) => ({ group, offsets: await primary.groupOffsets(group) }))),
    ]);
    const byKey = <T extends TopicPartition & { offset?: number }>(list: T[]) =>
      new Map(list.map((o) => [tpKey(o.topic, o.partition), o.offset]));
    const ends = byKey(primaryEnds);
    const starts = byKey(primaryStarts);
    const remoteEnds = byKey(secondaryEnds);

    const partitions = parts.map(({ topic, partition }) => {
      const primaryEnd = ends.get(tpKey(topic, partition));
      if (primaryEnd === undefined) {
        throw new KafkaOperationError(
          'no-leader',
          `expected the primary's end offset of ${tpKey(topic, partition)}, got none (no leader?)`,
        );
      }
      const start = starts.get(tpKey(topic, partition)) ?? 0;
      const secondaryEnd = remoteEnds.get(tpKey(remoteOf(topic), partition));
      const s = syncs?.byPartition.get(tpKey(topic, partition));
      const copiedThrough = nextUpstream(start, s, secondaryEnd);
      return {
        topic,
        partition,
        primaryEnd,
        secondaryEnd: secondaryEnd ?? null,
        sync: s ? { upstream: s.upstreamOffset, downstream: s.downstreamOffset } : null,
        copiedThrough,
        behind: Math.max(0, primaryEnd - Math.max(copiedThrough, start)),
      };
    });

    const watched = new Set(topics);
    const groupRows = committed.flatMap(({ group, offsets }) => {
      const last = new Map(
        (cps?.byGroup.get(group) ?? []).map((c) => [tpKey(c.topic, c.partition), c.upstreamOffset]),
      );
      return offsets
        .filter((o) => watched.has(o.topic) && o.offset !== undefined && o.offset >= 0)
        .map((o) => ({
          group,
          topic: o.topic,
          partition: o.partition,
          committed: o.offset ?? 0,
          checkpointed: last.get(tpKey(remoteOf(o.topic), o.partition)) ?? null,
        }));
    });
    return {
      measuredAt: new Date(clock.now()).toISOString(),
      partitions,
      groups: groupRows,
      recordsBehind: partitions.reduce((n, p) => n + p.behind, 0),
      groupsBehind: groupRows.filter((g) => g.checkpointed === null || g.checkpointed < g.committed).length,
    };
  };
}

/** The offset syncs from the secondary (`offset-syncs.topic.location=target`) or else from the primary. */
async function readSyncs(
  onSecondary: OffsetSyncReader,
  secondary: ClusterClient,
  onPrimary: OffsetSyncReader,
  primary: ClusterClient,
): Promise<OffsetSyncs | undefined> {
  const target = await onSecondary.read(secondary);
  if (target.exists) return target;
  const source = await onPrimary.read(primary);
  return source.exists ? source : undefined;
}

function sameEnds(a: DrainMeasure | undefined, b: DrainMeasure): boolean {
  if (!a || a.partitions.length !== b.partitions.length) return false;
  const ends = new Map(a.partitions.map((p) => [tpKey(p.topic, p.partition), p.primaryEnd]));
  return b.partitions.every((p) => ends.get(tpKey(p.topic, p.partition)) === p.primaryEnd);
}

/** The next upstream offset MM2 copies: counted forward from its last sync by the secondary's progress since. */
export function nextUpstream(
  start: number,
  sync: { upstreamOffset: number; downstreamOffset: number } | undefined,
  secondaryEnd: number | undefined,
): number {
  if (!sync || secondaryEnd === undefined || secondaryEnd <= sync.downstreamOffset) return start;
  return sync.upstreamOffset + (secondaryEnd - sync.downstreamOffset);
}

export type DrainOutcome =
  | { drained: true; measure: DrainMeasure; waitedMs: number }
  | { drained: false; measure: DrainMeasure | undefined; waitedMs: number; lastError?: string };

/**
 * Poll until nothing is behind, records and checkpoints, with the primary's ends unchanged since the previous
 * measurement, or `timeoutMs` passed. The unchanged ends are the proof the fence is in force: a broker applies the
 * fence when it applies the controller's metadata record, a moment after AlterConfigs was acknowledged, so a
 * write may still land right after the fence was "raised"; two equal ends an interval apart rule that out. A failed measurement is retried
 * until the deadline (the clusters are healthy; a blip must not refuse the switchover) and reported if it is the
 * last word.
 */
export async function waitForDrain(
  measure: MeasureDrain,
  options: { timeoutMs: number; intervalMs: number },
  clock: Pick<Clock, 'now' | 'sleep'>,
): Promise<DrainOutcome> {
  const started = clock.now();
  let last: DrainMeasure | undefined;
  let lastError: string | undefined;
  for (;;) {
    try {
      const previous = last;
      last = await measure();
      lastError = undefined;
      if (last.recordsBehind === 0 && last.groupsBehind === 0 && sameEnds(previous, last)) {
        return { drained: true, measure: last, waitedMs: clock.now() - started };
      }
    } catch (e: unknown) {
      lastError = describeError(e);
    }
    const waited = clock.now() - started;
    if (waited >= options.timeoutMs) {
      return { drained: false, measure: last, waitedMs: waited, ...(lastError ? { lastError } : {}) };
    }
    await clock.sleep(Math.min(options.intervalMs, options.timeoutMs - waited));
  }
}
