import { KafkaOperationError } from '../errors.ts';
import type { ClusterClient, GroupDescription } from '../kafka/cluster-client.ts';
import { readCheckpoints } from '../kafka/mm2-internal-topics.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { Checkpoint, SecondaryGroupOffsets } from './offset-translation.ts';

/**
 * {@link SecondaryGroupOffsets} on a real cluster, through the cluster client alone: checkpoints read without a
 * consumer group (fetching the partition directly, as MirrorClient does); group states asked in one DescribeGroups
 * per coordinator for every group asked in the same turn of the event loop (translation asks for all its groups at
 * once); committed offsets one OffsetFetch per group; commits one OffsetCommit per group and topic, as Kafka's own
 * admin client commits for an empty group (the coordinator refuses it while the group has members, a second
 * guard). kafkajs' admin asked FindCoordinator before every call and its `setOffsets` joined the group with a
 * throwaway consumer for every commit: about 10 s per group on this project's machine, against 2.8 s for all 500
 * groups this way (bench/groups.bench.ts).
 */
export interface KafkaGroupOffsetsDeps {
  cluster(): Promise<
    Pick<
      ClusterClient,
      'metadata' | 'listOffsets' | 'fetch' | 'describeGroups' | 'groupOffsets' | 'commitGroupOffsets'
    >
  >;
  /** `<primary alias>.checkpoints.internal` (the replication policy names it). */
  checkpointsTopic: string;
  /** Called after a failed operation, so cached clients with half-dead sockets are rebuilt. */
  onFailure?(): void;
}

export function kafkaGroupOffsets(deps: KafkaGroupOffsetsDeps): SecondaryGroupOffsets {
  const guarded = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (e: unknown) {
      deps.onFailure?.();
      throw e;
    }
  };
  // Groups asked for in the same turn, answered by one describeGroups.
  let batch: Map<string, Array<(r: PromiseSettledResult<GroupDescription>) => void>> | undefined;
  const flush = async (asked: NonNullable<typeof batch>) => {
    let answers: Map<string, GroupDescription> | undefined;
    let failure: unknown;
    try {
      const described = await guarded(async () => (await deps.cluster()).describeGroups([...asked.keys()]));
      answers = new Map(described.map((d) => [d.groupId, d]));
    } catch (e: unknown) {
      failure = e;
    }
    for (const [group, waiters] of asked) {
      const d = answers?.get(group) ?? { groupId: group, state: 'Dead', members: 0 };
      for (const w of waiters)
        w(
          failure === undefined ? { status: 'fulfilled', value: d } : { status: 'rejected', reason: failure },
        );
    }
  };
  return {
    readCheckpoints: (groups) =>
      guarded(async () => {
        const read = await readCheckpoints(await deps.cluster(), deps.checkpointsTopic, { groups });
        const all: Checkpoint[] = [];
        for (const list of read.byGroup.values()) all.push(...list);
        return all;
      }),
    describeGroup: (group) =>
      new Promise((resolve, reject) => {
        if (batch === undefined) {
          const asked = new Map<string, Array<(r: PromiseSettledResult<GroupDescription>) => void>>();
          batch = asked;
          setImmediate(() => {
            batch = undefined;
            void flush(asked);
          });
        }
        const waiters = batch.get(group) ?? [];
        waiters.push((r) =>
          r.status === 'fulfilled'
            ? resolve({ state: r.value.state, members: r.value.members })
            : reject(r.reason),
        );
        batch.set(group, waiters);
      }),
    committedOffsets: (group, topics) =>
      guarded(async () => {
        if (topics.length === 0) return [];
        const wanted = new Set(topics);
        const offsets = await (await deps.cluster()).groupOffsets(group);
        const failed = offsets.find((o) => wanted.has(o.topic) && o.error !== undefined);
        if (failed !== undefined) {
          throw new KafkaOperationError(
            'unknown',
            `offsets of group ${group} in ${tpKey(failed.topic, failed.partition)}: ${failed.error}`,
          );
        }
        return offsets.flatMap((o) =>
          wanted.has(o.topic) && o.offset !== undefined
            ? [{ topic: o.topic, partition: o.partition, offset: o.offset }]
            : [],
        );
      }),
    commitOffsets: (group, topic, partitions) =>
      guarded(async () => {
        await (await deps.cluster()).commitGroupOffsets(
          group,
          partitions.map((p) => ({ topic, partition: p.partition, offset: p.offset })),
        );
      }),
  };
}
