import type { ClusterClient } from './cluster-client.ts';
import { LatestByKeyReader, type LatestSnapshot } from './latest-by-key.ts';
import {
  type CheckpointKey,
  type CheckpointValue,
  decodeCheckpointKey,
  decodeCheckpointValue,
} from './mm2-records.ts';
import { tpKey } from './topic-partition.ts';

/**
 * MM2 checkpoints as `MirrorClient.remoteConsumerOffsets` reads them: the whole `<source>.checkpoints.internal`
 * topic on the target cluster, from the beginning, keeping the last checkpoint per (group, topic, partition).
 * The topic in a checkpoint is the *target-side* name (`primary.orders` with the default policy), and
 * `downstreamOffset` is where the group resumes on the target. Used by the probe (checkpoint lag) and by failover
 * (offset translation).
 *
 * ```ts
 * const cps = await readCheckpoints(secondaryClient, policy.checkpointsTopic('primary'), { groups: ['billing'] });
 * for (const cp of cps.byGroup.get('billing') ?? []) commit(cp.topic, cp.partition, cp.downstreamOffset);
 * ```
 */
export interface Checkpoint extends CheckpointKey {
  upstreamOffset: bigint;
  downstreamOffset: bigint;
  metadata: string;
  /** When MM2 wrote it (the record timestamp, ms). */
  emittedAt: number;
}

export interface Checkpoints {
  topic: string;
  /** False when the checkpoints topic does not exist (MM2's checkpoint connector never ran). */
  exists: boolean;
  /** False when a `shouldContinue` stopped the read before the end. */
  complete: boolean;
  /** Last checkpoint per (topic, partition), grouped by consumer group, sorted by topic then partition. */
  byGroup: Map<string, Checkpoint[]>;
  /** Records that did not decode as checkpoints (skipped). */
  malformed: number;
  firstMalformed?: string;
}

export interface CheckpointReadOptions {
  /** Only these groups (others are skipped before their value is decoded). Default: every group. */
  groups?: readonly string[];
}

type Reader = Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch'>;

// Group ids may hold any character but NUL; topic-partition keys never hold one.
const keyId = (k: CheckpointKey): string => `${k.group}\u0000${tpKey(k.topic, k.partition)}`;

/**
 * Incremental reader for one checkpoints topic: keep one per container (the probe does), and each `read` costs
 * only what MM2 appended since the last one.
 */
export class CheckpointReader {
  readonly #reader: LatestByKeyReader<CheckpointKey, CheckpointValue>;

  constructor(topic: string, options: CheckpointReadOptions = {}) {
    const groups = options.groups ? new Set(options.groups) : undefined;
    this.#reader = new LatestByKeyReader({
      topic,
      keyId,
      decodeKey: decodeCheckpointKey,
      decodeValue: decodeCheckpointValue,
      ...(groups ? { accept: (k: CheckpointKey) => groups.has(k.group) } : {}),
    });
  }

  async read(
    client: Reader,
    options: { shouldContinue?: () => boolean; metadataMaxAgeMs?: number } = {},
  ): Promise<Checkpoints> {
    return toCheckpoints(await this.#reader.refresh(client, options));
  }

  reset(): void {
    this.#reader.reset();
  }
}

/** Read a checkpoints topic once, from the beginning. */
export async function readCheckpoints(
  client: Reader,
  topic: string,
  options: CheckpointReadOptions = {},
): Promise<Checkpoints> {
  return new CheckpointReader(topic, options).read(client);
}

function toCheckpoints(snapshot: LatestSnapshot<CheckpointKey, CheckpointValue>): Checkpoints {
  const byGroup = new Map<string, Checkpoint[]>();
  for (const { key, value, timestamp } of snapshot.entries.values()) {
    const list = byGroup.get(key.group) ?? [];
    list.push({
      group: key.group,
      topic: key.topic,
      partition: key.partition,
      upstreamOffset: value.upstreamOffset,
      downstreamOffset: value.downstreamOffset,
      metadata: value.metadata,
      emittedAt: timestamp,
    });
    byGroup.set(key.group, list);
  }
  for (const list of byGroup.values()) {
    list.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }
  return {
    topic: snapshot.topic,
    exists: snapshot.exists,
    complete: snapshot.complete,
    byGroup,
    malformed: snapshot.malformed,
    ...(snapshot.firstMalformed ? { firstMalformed: snapshot.firstMalformed } : {}),
  };
}
