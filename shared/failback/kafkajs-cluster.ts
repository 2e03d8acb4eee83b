import { randomBytes } from 'node:crypto';
import type { Admin, IHeaders, Kafka, Producer } from 'kafkajs';
import { describeError, KafkaOperationError } from '../errors.ts';
import { ClientCache } from '../kafka/client-factory.ts';
import type { ClusterClient } from '../kafka/cluster-client.ts';
import { type OffsetSync, readOffsetSyncs } from '../kafka/mm2-internal-topics.ts';
import { type Offset, toOffset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { Checkpoint, SecondaryGroupOffsets } from '../offsets/offset-translation.ts';
import type { CopiedRecord, FailbackCluster, PartitionOffsets } from './cluster-ops.ts';

/**
 * {@link FailbackCluster} on kafkajs. The admin and the idempotent producer are created once per container and
 * forgotten after a failure; ranges are read by a short-lived consumer in a throw-away group that seeks each
 * partition and never commits (the cluster client's direct fetch drops headers, and salvage must keep them).
 * MM2's offset syncs hold no headers: they are read through the cluster client, by the product's one reader of
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
  /** The cluster client MM2's internal topics are read through (the one `groups` reads checkpoints with). */
  clusterClient(): Promise<Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch'>>;
  /** Called after a failed read through the cluster client, so a cached one with half-dead sockets is rebuilt. */
  onClusterClientFailure?(): void;
  /** A read that makes no progress for this long ends with what it has. */
  readIdleMs?: number;
  readTimeoutMs?: number;
  /** One read stops collecting past this many bytes of keys and values (memory bound of a Lambda). */
  readMaxBytes?: number;
}

export class KafkajsCluster implements FailbackCluster {
  readonly alias: string;
  readonly #kafka: Kafka;
  readonly #groups: SecondaryGroupOffsets;
  readonly #clusterClient: KafkajsClusterOptions['clusterClient'];
  readonly #onClusterClientFailure: (() => void) | undefined;
  readonly #readIdleMs: number;
  readonly #readTimeoutMs: number;
  readonly #readMaxBytes: number;
  readonly #admins = new ClientCache<Admin>((a) => a.disconnect());
  readonly #producers = new ClientCache<Producer>((p) => p.disconnect());

  constructor(options: KafkajsClusterOptions) {
    this.alias = options.alias;
    this.#kafka = options.kafka;
    this.#groups = options.groups;
    this.#clusterClient = options.clusterClient;
    this.#onClusterClientFailure = options.onClusterClientFailure;
    this.#readIdleMs = options.readIdleMs ?? 4_000;
    this.#readTimeoutMs = options.readTimeoutMs ?? 60_000;
    this.#readMaxBytes = options.readMaxBytes ?? 32 * 1024 * 1024;
  }

  async close(): Promise<void> {
    await Promise.all([this.#admins.closeAll(), this.#producers.closeAll()]);
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
    ranges: ReadonlyArray<{ partition: number; from: Offset; to: Offset }>,
    maxRecords: number,
  ): Promise<Map<number, CopiedRecord[]>> {
    const result = new Map<number, CopiedRecord[]>(ranges.map((r) => [r.partition, []]));
    const wanted = new Map(ranges.filter((r) => r.to > r.from).map((r) => [r.partition, r]));
    if (wanted.size === 0 || maxRecords <= 0) return result;
    const consumer = this.#kafka.consumer({
      groupId: `mm2-failover-failback-read-${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: 250,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      retry: { retries: 2 },
    });
    let total = 0;
    let bytes = 0;
    const next = new Map<number, Offset>();
    const finished = new Set<number>();
    let lastProgress = Date.now();
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const range = wanted.get(batch.partition);
          if (range === undefined || finished.has(batch.partition)) return;
          const list = result.get(batch.partition) ?? [];
          for (const m of batch.messages) {
            const offset = toOffset(m.offset, `record offset in ${tpKey(topic, batch.partition)}`);
            // Until the seek takes effect, batches fetched from the beginning still arrive, and the sought
            // position is fetched again: take each offset once, in order. Both streams are contiguous and start
            // at or before the next offset wanted, so taking "the next one or later" never leaves a gap.
            if (offset < (next.get(batch.partition) ?? range.from)) continue;
            if (offset >= range.to || total >= maxRecords || bytes >= this.#readMaxBytes) {
              finished.add(batch.partition);
              break;
            }
            list.push({
              offset,
              key: m.key ?? null,
              value: m.value ?? null,
              headers: normaliseHeaders(m.headers),
              timestamp: m.timestamp,
            });
            next.set(batch.partition, offset + 1);
            total += 1;
            bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
            lastProgress = Date.now();
            if (offset + 1 >= range.to) finished.add(batch.partition);
          }
          result.set(batch.partition, list);
        },
      });
      for (const r of wanted.values())
        consumer.seek({ topic, partition: r.partition, offset: String(r.from) });
      const deadline = Date.now() + this.#readTimeoutMs;
      lastProgress = Date.now();
      // The group join takes a moment before anything arrives, so idleness counts only after the first record
      // or after a generous start-up allowance.
      let sawAny = false;
      while (
        finished.size < wanted.size &&
        total < maxRecords &&
        bytes < this.#readMaxBytes &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 100));
        if (total > 0) sawAny = true;
        const idleFor = Date.now() - lastProgress;
        if (idleFor > (sawAny ? this.#readIdleMs : this.#readIdleMs * 4)) break;
      }
      return result;
    } catch (e: unknown) {
      throw new KafkaOperationError(
        'read-failed',
        `reading ${topic} on ${this.alias} failed: ${describeError(e)}`,
        {
          cause: e,
        },
      );
    } finally {
      await consumer.disconnect().catch(() => {});
    }
  }

  async ensureTopic(topic: string, partitions: number): Promise<number> {
    return this.#withAdmin('create topic', async (admin) => {
      if (!(await admin.listTopics()).includes(topic)) {
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      }
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]?.partitions.length ?? partitions;
    });
  }

  async append(
    topic: string,
    partition: number,
    records: readonly Omit<CopiedRecord, 'offset'>[],
  ): Promise<Offset> {
    try {
      const producer = await this.#producers.get('idempotent', 'v1', async () => {
        const p = this.#kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
        });
        await p.connect();
        return p;
      });
      let first = -1;
      for (const chunk of chunksOf(records, MAX_REQUEST_BYTES)) {
        const meta = await producer.send({
          topic,
          acks: -1,
          messages: chunk.map((r) => ({
            partition,
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp: r.timestamp,
          })),
        });
        const base = toOffset(
          meta.find((m) => m.partition === partition)?.baseOffset ?? -1,
          `base offset in ${tpKey(topic, partition)}`,
        );
        if (first < 0) first = base;
      }
      return first;
    } catch (e: unknown) {
      this.#producers.forget('idempotent');
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

  async readOffsetSyncs(topic: string): Promise<OffsetSync[]> {
    try {
      return [...(await readOffsetSyncs(await this.#clusterClient(), topic)).byPartition.values()];
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
 * kafkajs sends one record batch per partition per request, and brokers refuse a batch over
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

function normaliseHeaders(headers: IHeaders | undefined): Record<string, Buffer | Buffer[]> {
  const out: Record<string, Buffer | Buffer[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    if (Array.isArray(v)) out[k] = v.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x)));
    else out[k] = Buffer.isBuffer(v) ? v : Buffer.from(v);
  }
  return out;
}
