import type { Admin } from 'kafkajs';
import type { ClusterClient } from '../kafka/cluster-client.ts';
import { readCheckpoints } from '../kafka/mm2-internal-topics.ts';
import { toOffset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { Checkpoint, SecondaryGroupOffsets } from './offset-translation.ts';

/**
 * {@link SecondaryGroupOffsets} on a real cluster: checkpoints read without a consumer group (the cluster
 * client fetches the partition directly, as MirrorClient does), group state, committed offsets and commits
 * through the kafkajs admin (`setOffsets` refuses a group with running members, a second guard).
 */
export interface KafkaGroupOffsetsDeps {
  admin(): Promise<Pick<Admin, 'describeGroups' | 'fetchOffsets' | 'setOffsets'>>;
  cluster(): Promise<Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch'>>;
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
        await (await deps.admin()).setOffsets({
          groupId: group,
          topic,
          partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
        });
      }),
  };
}
