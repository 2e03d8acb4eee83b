import type { OffsetSync } from '../kafka/mm2-internal-topics.ts';
import type { Offset } from '../kafka/offset.ts';
import type { SecondaryGroupOffsets } from '../offsets/offset-translation.ts';

/**
 * What failback needs from one Kafka cluster. Small on purpose: unit tests pass an in-memory cluster, the
 * Lambda passes the kafkajs adapter (kafkajs-cluster.ts), integration tests the same adapter on the harness.
 * Offsets are {@link Offset}s, as everywhere in the product's logic.
 */
export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** Log start offset. */
  low: Offset;
  /** Log end offset (the next offset to be written). */
  high: Offset;
}

/** A record as copied: bytes, headers and timestamp untouched. */
export interface CopiedRecord {
  offset: Offset;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
  /** Milliseconds since the epoch, as a string (kafkajs' form). */
  timestamp: string;
}

export interface FailbackCluster extends SecondaryGroupOffsets {
  readonly alias: string;
  /** One metadata call and one offsets call with short timeouts: is the cluster serving? */
  health(): Promise<{ healthy: boolean; detail: string }>;
  /** Log start and end of every partition of these topics; a topic that does not exist is left out. */
  offsets(topics: readonly string[]): Promise<PartitionOffsets[]>;
  /**
   * Records of `topic` in [from, to) per partition, oldest first, at most `maxRecords` in all (an adapter may
   * return fewer, e.g. to bound memory, but always at least one when the range has any); a partition whose range
   * holds no records (control records, compaction) comes back empty.
   */
  read(
    topic: string,
    ranges: ReadonlyArray<{ partition: number; from: Offset; to: Offset }>,
    maxRecords: number,
  ): Promise<Map<number, CopiedRecord[]>>;
  /** Create the topic if missing; returns its partition count. */
  ensureTopic(topic: string, partitions: number): Promise<number>;
  /** Append to one partition with acks=all through an idempotent producer; returns the first offset written. */
  append(topic: string, partition: number, records: readonly Omit<CopiedRecord, 'offset'>[]): Promise<Offset>;
  /** Delete every record before `offset` (Kafka DeleteRecords). */
  deleteRecordsBefore(
    topic: string,
    partitions: ReadonlyArray<{ partition: number; offset: Offset }>,
  ): Promise<void>;
  /** The last sync per partition of an MM2 offset-syncs topic on this cluster; empty if the topic is absent. */
  readOffsetSyncs(topic: string): Promise<OffsetSync[]>;
}
