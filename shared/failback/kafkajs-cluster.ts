import type { Admin, Kafka } from 'kafkajs';
import { describeError, KafkaOperationError } from '../errors.ts';
import { ClientCache } from '../kafka/client-factory.ts';
import type { ClusterClient, FetchedRecord } from '../kafka/cluster-client.ts';
import { reasonForErrorType } from '../kafka/failure-reason.ts';
import { readOffsetSyncHistory, type TimedOffsetSync } from '../kafka/mm2-internal-topics.ts';
import { type Offset, toOffset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { Checkpoint, SecondaryGroupOffsets } from '../offsets/offset-translation.ts';
import type { CopiedRecord, FailbackCluster, PartitionOffsets, RangeRead, TopicSpec } from './cluster-ops.ts';

/**
 * {@link FailbackCluster} on kafkajs. The admin is created once per container and forgotten after a failure.
 * Ranges are read through the cluster client's direct fetch (no consumer group: no join, nothing committed),
 * read_committed, headers kept, so that what salvage copies is measured in the broker's own offsets; copies are
 * written through the same client as idempotent batches it encodes itself (`appendBatch`: kafkajs' producer spent
 * more on encoding the provenance headers than the rest of the copy cost), each partition's writes one at a time. MM2's offset syncs are read through the same client, by the product's one reader of
 * MM2's internal topics. Offsets from kafkajs become {@link Offset}s through `toOffset`.
 */
export interface KafkajsClusterOptions {
  alias: string;
  kafka: Kafka;
  /**
   * Group offsets on this cluster (`kafkaGroupOffsets`, reading the checkpoints MM2 writes here:
   * `<secondary alias>.checkpoints.internal` on the primary for failback).
   */
  groups: SecondaryGroupOffsets;
  /** The cluster client ranges and MM2's internal topics are read through (the one `groups` reads with). */
  clusterClient(): Promise<Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch' | 'appendBatch'>>;
  /** Called after a failed read through the cluster client, so a cached one with half-dead sockets is rebuilt. */
  onClusterClientFailure?(): void;
  /** Bytes of records one read asks the broker for (memory bound of a Lambda); default 4 MiB. */
  readMaxBytes?: number;
}

export class KafkajsCluster implements FailbackCluster {
  readonly alias: string;
  readonly #kafka: Kafka;
  readonly #groups: SecondaryGroupOffsets;
  readonly #clusterClient: KafkajsClusterOptions['clusterClient'];
  readonly #onClusterClientFailure: (() => void) | undefined;
  readonly #readMaxBytes: number;
  readonly #admins = new ClientCache<Admin>((a) => a.disconnect());

  constructor(options: KafkajsClusterOptions) {
    this.alias = options.alias;
    this.#kafka = options.kafka;
    this.#groups = options.groups;
    this.#clusterClient = options.clusterClient;
    this.#onClusterClientFailure = options.onClusterClientFailure;
    this.#readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  }

  async close(): Promise<void> {
    await this.#admins.closeAll();
  }

  async health(): Promise<{ healthy: boolean; detail: string }> {
    try {
      const admin = await this.#admin();
      const cluster = await admin.describeCluster();
      return { healthy: cluster.brokers.length > 0, detail: `${cluster.brokers.length} broker(s) answering` };
    } catch (e: unknown) {
      this.#admins.forget('admin');
      return { healthy: false, detail: describeError(e) };
    }
  }

  async offsets(topics: readonly string[]): Promise<PartitionOffsets[]> {
    return this.#withAdmin('read offsets', async (admin) => {
      const existing = new Set(await admin.listTopics());
      const out: PartitionOffsets[] = [];
      for (const topic of topics) {
        if (!existing.has(topic)) continue;
        for (const p of await admin.fetchTopicOffsets(topic)) {
          const tp = tpKey(topic, p.partition);
          out.push({
            topic,
            partition: p.partition,
            low: toOffset(p.low, `log start of ${tp}`),
            high: toOffset(p.high, `log end of ${tp}`),
          });
        }
      }
      return out.sort((a, b) =>
        a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
      );
    });
  }

  async read(
    topic: string,
    partition: number,
    from: Offset,
    options: { maxBytes?: number } = {},
  ): Promise<RangeRead> {
    const tp = tpKey(topic, partition);
    let client: Pick<ClusterClient, 'listOffsets' | 'fetch'>;
    let answer: Awaited<ReturnType<ClusterClient['fetch']>>[number] | undefined;
    try {
      client = await this.#clusterClient();
      [answer] = await client.fetch(
        [{ topic, partition, offset: from, maxBytes: options.maxBytes ?? this.#readMaxBytes }],
        { isolation: 'read-committed' },
      );
      if (answer?.error === 'OFFSET_OUT_OF_RANGE') {
        // Below the log start (retention deleted it) or past the end: the caller judges which from the start.
        const [start] = await client.listOffsets([{ topic, partition }], 'earliest');
        return {
          records: [],
          nextOffset: from,
          ...(start?.offset === undefined ? {} : { logStart: start.offset }),
        };
      }
    } catch (e: unknown) {
      this.#onClusterClientFailure?.();
      throw new KafkaOperationError(
        'read-failed',
        `reading ${tp} on ${this.alias} failed: ${describeError(e)}`,
        {
          cause: e,
        },
      );
    }
    if (answer === undefined) {
      throw new KafkaOperationError(
        'read-failed',
        `reading ${tp} on ${this.alias}: expected an answer for the partition, got none`,
      );
    }
    if (answer.error !== undefined) {
      throw new KafkaOperationError(
        reasonForErrorType(answer.error),
        `reading ${tp} from offset ${from} on ${this.alias} failed: ${answer.error}`,
      );
    }
    const end = answer.lastStableOffset ?? answer.highWatermark;
    return {
      records: answer.records.map(copied),
      nextOffset: answer.nextOffset,
      ...(answer.logStartOffset === undefined ? {} : { logStart: answer.logStartOffset }),
      ...(end === undefined ? {} : { logEnd: end }),
    };
  }

  async ensureTopic(topic: string, spec: TopicSpec): Promise<number> {
    return this.#withAdmin('create topic', async (admin) => {
      const existing = new Set(await admin.listTopics());
      if (!existing.has(topic)) {
        const like = spec.replicationFactorOf.find((t) => existing.has(t));
        const replicas =
          like === undefined
            ? undefined
            : (await admin.fetchTopicMetadata({ topics: [like] })).topics[0]?.partitions[0]?.replicas.length;
        await admin.createTopics({
          topics: [
            {
              topic,
              numPartitions: spec.partitions,
              // -1: the cluster's default.replication.factor (KIP-464), never a client-side default of 1.
              replicationFactor: replicas ?? -1,
              configEntries: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
            },
          ],
          waitForLeaders: true,
        });
      }
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]?.partitions.length ?? spec.partitions;
    });
  }

  async append(
    topic: string,
    partition: number,
    records: readonly Omit<CopiedRecord, 'offset'>[],
  ): Promise<Offset> {
    try {
      const client = await this.#clusterClient();
      let first = -1;
      for (const chunk of chunksOf(records, MAX_REQUEST_BYTES)) {
        const base = await client.appendBatch(topic, partition, chunk);
        if (first < 0) first = base;
      }
      return first;
    } catch (e: unknown) {
      this.#onClusterClientFailure?.();
      throw new KafkaOperationError(
        'produce-failed',
        `writing to ${topic} on ${this.alias} failed: ${describeError(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  async deleteRecordsBefore(
    topic: string,
    partitions: ReadonlyArray<{ partition: number; offset: Offset }>,
  ): Promise<void> {
    await this.#withAdmin('delete records', (admin) =>
      admin.deleteTopicRecords({
        topic,
        partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
      }),
    );
  }

  async readOffsetSyncs(topic: string): Promise<TimedOffsetSync[]> {
    try {
      return await readOffsetSyncHistory(await this.#clusterClient(), topic);
    } catch (e: unknown) {
      this.#onClusterClientFailure?.();
      throw new KafkaOperationError(
        'read-failed',
        `reading offset syncs ${topic} on ${this.alias} failed: ${describeError(e)}`,
        { cause: e },
      );
    }
  }

  readCheckpoints(groups: readonly string[]): Promise<Checkpoint[]> {
    return this.#groups.readCheckpoints(groups);
  }

  describeGroup(group: string): Promise<{ state: string; members: number }> {
    return this.#groups.describeGroup(group);
  }

  committedOffsets(group: string, topics: readonly string[]) {
    return this.#groups.committedOffsets(group, topics);
  }

  commitOffsets(group: string, topic: string, partitions: Array<{ partition: number; offset: Offset }>) {
    return this.#groups.commitOffsets(group, topic, partitions);
  }

  #admin(): Promise<Admin> {
    return this.#admins.get('admin', 'v1', async () => {
      const admin = this.#kafka.admin({ retry: { retries: 2 } });
      await admin.connect();
      return admin;
    });
  }

  async #withAdmin<T>(what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.#admin());
    } catch (e: unknown) {
      this.#admins.forget('admin');
      throw new KafkaOperationError('admin-failed', `${what} on ${this.alias} failed: ${describeError(e)}`, {
        cause: e,
      });
    }
  }
}

/**
 * Each write is one record batch, and brokers refuse a batch over
 * `message.max.bytes` (1 MiB by default): salvage writes in chunks well below that.
 */
const MAX_REQUEST_BYTES = 512 * 1024;

export function chunksOf<T extends Omit<CopiedRecord, 'offset'>>(
  records: readonly T[],
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of records) {
    let size = 70 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    for (const [k, v] of Object.entries(r.headers)) {
      for (const b of Array.isArray(v) ? v : [v]) size += k.length + b.length + 10;
    }
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function copied(r: FetchedRecord): CopiedRecord {
  return { offset: r.offset, key: r.key, value: r.value, headers: r.headers, timestamp: String(r.timestamp) };
}
