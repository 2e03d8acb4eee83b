import { KafkaOperationError } from '../errors.ts';
import type { ClusterClient, FetchedRecord } from './cluster-client.ts';
import { reasonForErrorType } from './failure-reason.ts';
import type { Offset } from './offset.ts';

/**
 * Reads a compacted topic (MM2's checkpoints or offset syncs) from the beginning to its current end and keeps the
 * last value per key, the way MirrorClient does — without a consumer group (no join, nothing committed). Kept per
 * container, later `refresh()` calls read only what was appended since, so a probe cycle pays for new records only.
 * A topic that was recreated or truncated under us (end before our position, start after it) is re-read.
 */
export interface LatestByKeyOptions<K, V> {
  topic: string;
  /** Identity of a key (what "the same key" means); also the map key of {@link LatestSnapshot.entries}. */
  keyId: (key: K) => string;
  decodeKey: (bytes: Buffer | null) => K;
  decodeValue: (bytes: Buffer | null) => V;
  /** Records of no interest are skipped before their value is decoded (e.g. other consumer groups). */
  accept?: (key: K) => boolean;
  /** Bytes per partition per fetch (default 1 MiB). */
  maxBytes?: number;
  /** Called with every decoded entry in log order, not only the last per key (for a reader that keeps history). */
  onEntry?: (entry: LatestEntry<K, V>) => void;
}

export interface LatestEntry<K, V> {
  key: K;
  value: V;
  /** The record's offset and timestamp in the internal topic. */
  offset: Offset;
  partition: number;
  timestamp: number;
}

export interface LatestSnapshot<K, V> {
  topic: string;
  /** False when the topic does not exist on the cluster (yet). */
  exists: boolean;
  /** False when reading stopped before the end (see `shouldContinue`). */
  complete: boolean;
  entries: Map<string, LatestEntry<K, V>>;
  /** Records that did not decode (skipped and counted; a healthy MM2 writes none). */
  malformed: number;
  /** The first decoding problem seen, for the log: a description, never the bytes. */
  firstMalformed?: string;
  /** End offsets (per partition) the snapshot covers. */
  readUpTo: Map<number, Offset>;
}

type Reader = Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch'>;

export class LatestByKeyReader<K, V> {
  readonly #options: LatestByKeyOptions<K, V>;
  readonly #entries = new Map<string, LatestEntry<K, V>>();
  readonly #positions = new Map<number, Offset>();
  #malformed = 0;
  #firstMalformed: string | undefined;

  constructor(options: LatestByKeyOptions<K, V>) {
    this.#options = options;
  }

  get topic(): string {
    return this.#options.topic;
  }

  /** Forget everything read so far (the next refresh starts from the beginning). */
  reset(): void {
    this.#entries.clear();
    this.#positions.clear();
    this.#malformed = 0;
    this.#firstMalformed = undefined;
  }

  /**
   * Read up to the topic's current end and return the last value per key. `shouldContinue` is asked before
   * each further fetch: when it says no, the snapshot is returned with `complete: false` and the next refresh
   * carries on from there (a first read of a big topic spread over several probe cycles). With
   * `metadataMaxAgeMs`, a recent metadata answer of the client is reused for locating the topic.
   */
  async refresh(
    client: Reader,
    options: { shouldContinue?: () => boolean; metadataMaxAgeMs?: number } = {},
  ): Promise<LatestSnapshot<K, V>> {
    const { topic } = this.#options;
    const metadata = await client.metadata(
      [topic],
      options.metadataMaxAgeMs === undefined ? undefined : { maxAgeMs: options.metadataMaxAgeMs },
    );
    const info = metadata.topics.get(topic);
    if (!info || info.error === 'UNKNOWN_TOPIC_OR_PARTITION' || info.partitions.length === 0) {
      this.reset();
      return this.#snapshot(false);
    }
    const partitions = info.partitions.map((p) => ({ topic, partition: p.partition }));
    const [starts, ends] = await Promise.all([
      client.listOffsets(partitions, 'earliest'),
      client.listOffsets(partitions, 'latest'),
    ]);
    const failed = [...starts, ...ends].find((o) => o.error !== undefined || o.offset === undefined);
    if (failed) {
      throw readError(topic, failed.partition, failed.error ?? 'no offset returned');
    }
    const end = new Map(ends.map((o) => [o.partition, o.offset ?? 0]));
    const start = new Map(starts.map((o) => [o.partition, o.offset ?? 0]));
    for (const [partition, endOffset] of end) {
      const position = this.#positions.get(partition);
      const startOffset = start.get(partition) ?? 0;
      if (position !== undefined && (position > endOffset || position < startOffset)) {
        // Recreated or truncated under us: what we hold may no longer be true.
        this.reset();
        break;
      }
    }
    for (const [partition] of end) {
      if (!this.#positions.has(partition)) this.#positions.set(partition, start.get(partition) ?? 0);
    }

    let pending = [...end].filter(([p, e]) => (this.#positions.get(p) ?? 0) < e).map(([p]) => p);
    let stalls = 0;
    while (pending.length > 0) {
      if (options.shouldContinue && !options.shouldContinue()) break;
      const results = await client.fetch(
        pending.map((partition) => ({
          topic,
          partition,
          offset: this.#positions.get(partition) ?? 0,
          maxBytes: this.#options.maxBytes ?? 1024 * 1024,
        })),
      );
      let progressed = false;
      for (const r of results) {
        if (r.error) throw readError(topic, r.partition, r.error);
        for (const record of r.records) this.#apply(r.partition, record);
        const before = this.#positions.get(r.partition) ?? 0;
        if (r.nextOffset > before) {
          this.#positions.set(r.partition, r.nextOffset);
          progressed = true;
        }
      }
      // A batch emptied by compaction can hold offsets without records; never spin on it.
      stalls = progressed ? 0 : stalls + 1;
      if (stalls >= 3) break;
      pending = pending.filter((p) => (this.#positions.get(p) ?? 0) < (end.get(p) ?? 0));
    }
    return this.#snapshot(true, end, pending.length === 0 || stalls >= 3);
  }

  #apply(partition: number, record: FetchedRecord): void {
    const o = this.#options;
    let key: K;
    try {
      key = o.decodeKey(record.key);
    } catch (e: unknown) {
      this.#noteMalformed(partition, record, e);
      return;
    }
    if (o.accept && !o.accept(key)) return;
    const id = o.keyId(key);
    if (record.value === null) {
      this.#entries.delete(id); // tombstone
      return;
    }
    try {
      const entry = {
        key,
        value: o.decodeValue(record.value),
        offset: record.offset,
        partition,
        timestamp: record.timestamp,
      };
      this.#entries.set(id, entry);
      o.onEntry?.(entry);
    } catch (e: unknown) {
      this.#noteMalformed(partition, record, e);
    }
  }

  #noteMalformed(partition: number, record: FetchedRecord, e: unknown): void {
    this.#malformed += 1;
    this.#firstMalformed ??= `${this.#options.topic}-${partition}@${record.offset}: ${e instanceof Error ? e.message : 'undecodable'}`;
  }

  #snapshot(exists: boolean, end: Map<number, Offset> = new Map(), complete = true): LatestSnapshot<K, V> {
    return {
      topic: this.#options.topic,
      exists,
      complete,
      entries: new Map(this.#entries),
      malformed: this.#malformed,
      ...(this.#firstMalformed ? { firstMalformed: this.#firstMalformed } : {}),
      readUpTo: new Map(end),
    };
  }
}

function readError(topic: string, partition: number, kafkaError: string): KafkaOperationError {
  return new KafkaOperationError(
    reasonForErrorType(kafkaError),
    `reading ${topic}-${partition} failed: ${kafkaError}`,
  );
}
