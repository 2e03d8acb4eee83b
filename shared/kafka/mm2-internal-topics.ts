import type { ClusterClient } from './cluster-client.ts';
import { LatestByKeyReader, type LatestSnapshot } from './latest-by-key.ts';
import {
  type CheckpointKey,
  decodeCheckpointKey,
  decodeCheckpointValue,
  decodeOffsetSyncKey,
  decodeOffsetSyncValue,
  type OffsetSyncKey,
} from './mm2-records.ts';
import { type Offset, toOffset } from './offset.ts';
import { type TopicPartition, tpKey } from './topic-partition.ts';

/**
 * The one reader of MirrorMaker 2's internal topics, as `MirrorClient` reads them: each topic from the beginning
 * to its current end, without a consumer group (no join, nothing committed), keeping the last record per key.
 *
 * - **Offset syncs** (`mm2-offset-syncs.<alias>.internal`): per source (topic, partition), the last sync MM2 wrote:
 *   upstream offset u was copied to downstream offset d. The probe's backlog and failback's salvage start there.
 * - **Checkpoints** (`<source alias>.checkpoints.internal` on the target): per (group, topic, partition), the
 *   last checkpoint. Its topic is the *target-side* name (`primary.orders` under the default policy), and
 *   `downstreamOffset` is where the group resumes on the target. The probe's checkpoint lag and offset
 *   translation (failover, and failback back to the primary) start there.
 *
 * Readers are incremental: kept per container (the probe keeps them), each read costs only what MM2 appended since
 * the last one. `readOffsetSyncs` and `readCheckpoints` read once from the beginning. Offsets come out as
 * {@link Offset}s; a record whose offsets a number cannot hold is counted as malformed, like one that does not
 * decode, so it never turns into a wrong offset.
 *
 * ```ts
 * const cps = await readCheckpoints(secondaryClient, policy.checkpointsTopic('primary'), { groups: ['billing'] });
 * for (const cp of cps.byGroup.get('billing') ?? []) commit(cp.topic, cp.partition, cp.downstreamOffset);
 * ```
 */

/** What every read of an internal topic reports besides its records. */
interface Mm2TopicRead {
  topic: string;
  /** False when the topic does not exist (the connector that writes it never ran). */
  exists: boolean;
  /** False when a `shouldContinue` stopped the read before the end; the next read carries on. */
  complete: boolean;
  /** Records that did not decode (skipped; a healthy MM2 writes none). */
  malformed: number;
  /** The first decoding problem seen, for the log: a description, never the bytes. */
  firstMalformed?: string;
}

export interface ReadOptions {
  /** Asked before each further fetch: no stops the read with `complete: false`. */
  shouldContinue?: () => boolean;
  /** Reuse a metadata answer of the client younger than this to locate the topic. */
  metadataMaxAgeMs?: number;
}

type Reader = Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch'>;

/** One MM2 offset sync; `topic` is the source-side name. */
export interface OffsetSync extends TopicPartition {
  upstreamOffset: Offset;
  downstreamOffset: Offset;
}

export interface OffsetSyncs extends Mm2TopicRead {
  /** The last sync per source partition, by {@link tpKey}. */
  byPartition: Map<string, OffsetSync>;
}

/** One MM2 checkpoint; `topic` is the target-side name. */
export interface Checkpoint extends CheckpointKey {
  upstreamOffset: Offset;
  downstreamOffset: Offset;
  metadata: string;
  /** When MM2 wrote it (the record timestamp, ms). */
  emittedAt: number;
}

export interface Checkpoints extends Mm2TopicRead {
  /** Last checkpoint per (topic, partition), grouped by consumer group, sorted by topic then partition. */
  byGroup: Map<string, Checkpoint[]>;
}

export interface CheckpointReadOptions {
  /** Only these groups (others are skipped before their value is decoded). Default: every group. */
  groups?: readonly string[];
}

/** The identity of a checkpoint: group ids may hold any character but NUL, and topic-partition keys hold none. */
export function checkpointKey(k: CheckpointKey): string {
  return `${k.group}\u0000${tpKey(k.topic, k.partition)}`;
}

/** Incremental reader of one offset-syncs topic. */
export class OffsetSyncReader {
  readonly #reader: LatestByKeyReader<OffsetSyncKey, { upstreamOffset: Offset; downstreamOffset: Offset }>;

  constructor(topic: string) {
    this.#reader = new LatestByKeyReader({
      topic,
      keyId: (k) => tpKey(k.topic, k.partition),
      decodeKey: decodeOffsetSyncKey,
      decodeValue: decodeSync,
    });
  }

  async read(client: Reader, options: ReadOptions = {}): Promise<OffsetSyncs> {
    const snapshot = await this.#reader.refresh(client, options);
    const byPartition = new Map<string, OffsetSync>();
    for (const [id, { key, value }] of snapshot.entries) byPartition.set(id, { ...key, ...value });
    return { ...readOf(snapshot), byPartition };
  }
}

/** Incremental reader of one checkpoints topic. */
export class CheckpointReader {
  readonly #reader: LatestByKeyReader<
    CheckpointKey,
    { upstreamOffset: Offset; downstreamOffset: Offset; metadata: string }
  >;

  constructor(topic: string, options: CheckpointReadOptions = {}) {
    const groups = options.groups ? new Set(options.groups) : undefined;
    this.#reader = new LatestByKeyReader({
      topic,
      keyId: checkpointKey,
      decodeKey: decodeCheckpointKey,
      decodeValue: (bytes) => {
        const v = decodeCheckpointValue(bytes);
        return {
          upstreamOffset: toOffset(v.upstreamOffset, 'checkpoint upstreamOffset'),
          downstreamOffset: toOffset(v.downstreamOffset, 'checkpoint downstreamOffset'),
          metadata: v.metadata,
        };
      },
      ...(groups ? { accept: (k: CheckpointKey) => groups.has(k.group) } : {}),
    });
  }

  async read(client: Reader, options: ReadOptions = {}): Promise<Checkpoints> {
    const snapshot = await this.#reader.refresh(client, options);
    const byGroup = new Map<string, Checkpoint[]>();
    for (const { key, value, timestamp } of snapshot.entries.values()) {
      const list = byGroup.get(key.group) ?? [];
      list.push({ ...key, ...value, emittedAt: timestamp });
      byGroup.set(key.group, list);
    }
    for (const list of byGroup.values()) {
      list.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    }
    return { ...readOf(snapshot), byGroup };
  }

  reset(): void {
    this.#reader.reset();
  }
}

/** Read an offset-syncs topic once, from the beginning. */
export function readOffsetSyncs(client: Reader, topic: string): Promise<OffsetSyncs> {
  return new OffsetSyncReader(topic).read(client);
}

/** An offset sync with when MM2 wrote it (the record's timestamp, ms). */
export interface TimedOffsetSync extends OffsetSync {
  writtenAt: number;
}

/**
 * Every offset sync still in the topic, oldest first — not only the last per partition. MirrorClient keeps the
 * same history; compaction keeps at least the last sync per partition. A record upstream at or after a sync's
 * upstream offset was copied at or after its downstream offset, so the history bounds where old records went;
 * MM2 writes a sync for the first record a flow copies, so the history also says where a new flow started.
 */
export async function readOffsetSyncHistory(client: Reader, topic: string): Promise<TimedOffsetSync[]> {
  const history: TimedOffsetSync[] = [];
  const reader = new LatestByKeyReader<OffsetSyncKey, { upstreamOffset: Offset; downstreamOffset: Offset }>({
    topic,
    keyId: (k) => tpKey(k.topic, k.partition),
    decodeKey: decodeOffsetSyncKey,
    decodeValue: decodeSync,
    onEntry: ({ key, value, timestamp }) => history.push({ ...key, ...value, writtenAt: timestamp }),
  });
  await reader.refresh(client);
  return history;
}

function decodeSync(bytes: Buffer | null): { upstreamOffset: Offset; downstreamOffset: Offset } {
  const v = decodeOffsetSyncValue(bytes);
  return {
    upstreamOffset: toOffset(v.upstreamOffset, 'offset sync upstreamOffset'),
    downstreamOffset: toOffset(v.downstreamOffset, 'offset sync downstreamOffset'),
  };
}

/** Read a checkpoints topic once, from the beginning. */
export function readCheckpoints(
  client: Reader,
  topic: string,
  options: CheckpointReadOptions = {},
): Promise<Checkpoints> {
  return new CheckpointReader(topic, options).read(client);
}

function readOf(snapshot: LatestSnapshot<unknown, unknown>): Mm2TopicRead {
  return {
    topic: snapshot.topic,
    exists: snapshot.exists,
    complete: snapshot.complete,
    malformed: snapshot.malformed,
    ...(snapshot.firstMalformed ? { firstMalformed: snapshot.firstMalformed } : {}),
  };
}
