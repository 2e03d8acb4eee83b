import type { RecordHeaders } from '../kafka/cluster-client.ts';
import type { TimedOffsetSync } from '../kafka/mm2-internal-topics.ts';
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
  headers: RecordHeaders;
  /** Milliseconds since the epoch, as a string (kafkajs' form). */
  timestamp: string;
}

/**
 * One read of a partition, measured in broker offsets: every offset in [from, nextOffset) is either in
 * `records` or proven to hold nothing to copy (a transaction marker, a record compacted away, a record of an
 * aborted transaction). An answer with `nextOffset === from` proves nothing: it is no progress, never "the end".
 */
export interface RangeRead {
  /** Committed data records at or after `from`, oldest first. */
  records: CopiedRecord[];
  nextOffset: Offset;
  /** The partition's log start, when the broker reported it (always when `from` was below it). */
  logStart?: Offset;
  /** The partition's readable end (last stable offset) when the broker reported it. */
  logEnd?: Offset;
}

/** How a topic failback creates is made. */
export interface TopicSpec {
  partitions: number;
  /** Topic configs (the quarantine topic: unlimited retention). */
  configs: Record<string, string>;
  /** Take the replication factor of the first of these topics that exists; none: the cluster's default. */
  replicationFactorOf: readonly string[];
}

export interface FailbackCluster extends SecondaryGroupOffsets {
  readonly alias: string;
  /** One metadata call and one offsets call with short timeouts: is the cluster serving? */
  health(): Promise<{ healthy: boolean; detail: string }>;
  /** Log start and end of every partition of these topics; a topic that does not exist is left out. */
  offsets(topics: readonly string[]): Promise<PartitionOffsets[]>;
  /**
   * One read of `topic`/`partition` from `from` on, without a consumer group (no join, nothing committed), as a
   * read_committed consumer sees the log; about `maxBytes` of records at most (always at least one batch).
   */
  read(topic: string, partition: number, from: Offset, options?: { maxBytes?: number }): Promise<RangeRead>;
  /** Create the topic if missing; returns its partition count. */
  ensureTopic(topic: string, spec: TopicSpec): Promise<number>;
  /** Append to one partition with acks=all through an idempotent producer; returns the first offset written. */
  append(topic: string, partition: number, records: readonly Omit<CopiedRecord, 'offset'>[]): Promise<Offset>;
  /** Delete every record before `offset` (Kafka DeleteRecords). */
  deleteRecordsBefore(
    topic: string,
    partitions: ReadonlyArray<{ partition: number; offset: Offset }>,
  ): Promise<void>;
  /**
   * Every sync still in an MM2 offset-syncs topic on this cluster, oldest first (at least the last one per
   * partition: the topic is compacted); empty if the topic is absent.
   */
  readOffsetSyncs(topic: string): Promise<TimedOffsetSync[]>;
}
