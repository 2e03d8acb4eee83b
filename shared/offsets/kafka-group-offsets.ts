import type { Admin } from 'kafkajs';
import type { ClusterClient } from '../kafka/cluster-client.ts';
import { readCheckpoints } from '../kafka/mm2-internal-topics.ts';
import { toOffset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { Checkpoint, SecondaryGroupOffsets } from './offset-translation.ts';

/**
 * {@link SecondaryGroupOffsets} on a real cluster: checkpoints read without a consumer group (the cluster
 * client fetches the partition directly, as MirrorClient does), group state and committed offsets through the
 * kafkajs admin, and commits as one OffsetCommit per group and topic to its coordinator, as Kafka's own admin
 * client commits for an empty group (the coordinator refuses it while the group has members, a second guard).
 * kafkajs' `admin.setOffsets` would join the group with a throwaway consumer for every commit: a group join and a
 * fetch per group, which made a 500-group failover take minutes (bench/groups.bench.ts).
 */
export interface KafkaGroupOffsetsDeps {
  admin(): Promise<Pick<Admin, 'describeGroups' | 'fetchOffsets'>>;
  cluster(): Promise<Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch' | 'commitGroupOffsets'>>;
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
  return {
    readCheckpoints: (groups) =>
      guarded(async () => {
        const read = await readCheckpoints(await deps.cluster(), deps.checkpointsTopic, { groups });
        const all: Checkpoint[] = [];
        for (const list of read.byGroup.values()) all.push(...list);
        return all;
      }),
    describeGroup: (group) =>
      guarded(async () => {
        const { groups } = await (await deps.admin()).describeGroups([group]);
        const g = groups.find((x) => x.groupId === group);
        return { state: g?.state ?? 'Dead', members: g?.members.length ?? 0 };
      }),
    committedOffsets: (group, topics) =>
      guarded(async () => {
        if (topics.length === 0) return [];
        const fetched = await (await deps.admin()).fetchOffsets({ groupId: group, topics: [...topics] });
        return fetched.flatMap(({ topic, partitions }) =>
          partitions.map((p) => ({
            topic,
            partition: p.partition,
            offset: toOffset(p.offset, `offset of group ${group} in ${tpKey(topic, p.partition)}`),
          })),
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
