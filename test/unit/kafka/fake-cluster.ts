import type {
  ClusterClient,
  ClusterMetadata,
  CreateTopicSpec,
  FetchRequest,
  FetchResult,
  GroupDescription,
  GroupOffset,
  OffsetSpec,
  PartitionOffset,
  ProduceRecord,
  ProduceResult,
} from '#shared/kafka/cluster-client.ts';
import { type Offset, toOffset } from '#shared/kafka/offset.ts';
import type { BatchRecord } from '#shared/kafka/record-batch.ts';
import { parseTpKey, type TopicPartition, tpKey } from '#shared/kafka/topic-partition.ts';

/**
 * An in-memory Kafka cluster behind the project's {@link ClusterClient} interface, for unit tests: topics with
 * partitions, leaders, ISR, logs with offsets (gaps allowed, as after compaction or transaction markers), and
 * switches to make calls fail or hang. It records every call so tests can assert what was asked.
 */
interface FakeRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer>;
  control?: boolean;
}
export interface FakePartition {
  leader: number;
  replicas: number[];
  isr: number[];
  log: FakeRecord[];
  /** Log start offset (records before it were deleted). */
  start: number;
  /** Next offset to assign. */
  next: number;
  /** Error returned for produce to this partition. */
  produceError?: string;
}

export class FakeCluster implements ClusterClient {
  brokers = [1, 2, 3];
  topics = new Map<string, FakePartition[]>();
  calls: { op: string; detail?: unknown }[] = [];
  /** Records returned per fetch per partition (to exercise incremental reads). */
  fetchBatch = 1000;
  /** When set, every call rejects with it. */
  failWith: Error | undefined;
  /** When set, every call waits on it before answering. */
  gate: Promise<void> | undefined;
  closed = false;

  addTopic(
    topic: string,
    partitions: number,
    options: { leader?: (p: number) => number; rf?: number } = {},
  ): this {
    const rf = options.rf ?? 1;
    this.topics.set(
      topic,
      Array.from({ length: partitions }, (_, p) => {
        const leader = options.leader ? options.leader(p) : (this.brokers[p % this.brokers.length] ?? 1);
        const replicas = [leader, ...this.brokers.filter((b) => b !== leader)].slice(0, rf);
        return { leader, replicas, isr: [...replicas], log: [], start: 0, next: 0 };
      }),
    );
    return this;
  }

  partition(topic: string, partition: number): FakePartition {
    const p = this.topics.get(topic)?.[partition];
    if (!p) throw new Error(`fake cluster has no ${topic}-${partition}`);
    return p;
  }

  append(
    topic: string,
    partition: number,
    key: Buffer | null,
    value: Buffer | null,
    timestamp = 0,
    headers: Record<string, Buffer> = {},
  ): number {
    const p = this.partition(topic, partition);
    const offset = p.next;
    p.log.push({ offset, timestamp, key, value, headers });
    p.next += 1;
    return offset;
  }

  /** Advance the log end without data records (a transaction marker, or records compacted away). */
  gap(topic: string, partition: number, count: number, options: { control?: boolean } = {}): void {
    const p = this.partition(topic, partition);
    for (let i = 0; i < count; i++) {
      if (options.control)
        p.log.push({ offset: p.next, timestamp: 0, key: null, value: null, control: true });
      p.next += 1;
    }
  }

  async #enter(op: string, detail?: unknown): Promise<void> {
    this.calls.push({ op, detail });
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
  }

  /** Committed offsets per group: `group -> tpKey(topic, partition) -> offset`. */
  groups = new Map<string, Map<string, number>>();

  commit(group: string, topic: string, partition: number, offset: number): void {
    const g = this.groups.get(group) ?? new Map<string, number>();
    g.set(tpKey(topic, partition), offset);
    this.groups.set(group, g);
  }

  async groupOffsets(groupId: string): Promise<GroupOffset[]> {
    await this.#enter('groupOffsets', groupId);
    return [...(this.groups.get(groupId) ?? new Map<string, number>())].map(([k, offset]) => ({
      ...parseTpKey(k),
      offset,
    }));
  }

  async metadata(topics: readonly string[], _options?: { maxAgeMs?: number }): Promise<ClusterMetadata> {
    await this.#enter('metadata', topics);
    const names = topics.length === 0 ? [...this.topics.keys()] : topics;
    return {
      clusterId: 'fake',
      controllerId: this.brokers[0] ?? null,
      brokers: this.brokers.map((nodeId) => ({ nodeId, host: 'fake', port: 9000 + nodeId, rack: null })),
      topics: new Map(
        names.map((topic) => {
          const ps = this.topics.get(topic);
          if (!ps) return [topic, { topic, error: 'UNKNOWN_TOPIC_OR_PARTITION', partitions: [] }];
          return [
            topic,
            {
              topic,
              partitions: ps.map((p, partition) => ({
                partition,
                leader: p.leader,
                replicas: p.replicas,
                isr: p.isr,
                offlineReplicas: [],
                ...(p.leader < 0 ? { error: 'LEADER_NOT_AVAILABLE' } : {}),
              })),
            },
          ];
        }),
      ),
    };
  }

  async listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<PartitionOffset[]> {
    await this.#enter('listOffsets', { count: partitions.length, spec });
    return partitions.map(({ topic, partition }) => {
      const p = this.topics.get(topic)?.[partition];
      if (!p) return { topic, partition, error: 'UNKNOWN_TOPIC_OR_PARTITION' };
      if (p.leader < 0) return { topic, partition, error: 'LEADER_NOT_AVAILABLE' };
      if (spec === 'earliest') return { topic, partition, offset: p.start };
      if (spec === 'latest') return { topic, partition, offset: p.next };
      const hit = p.log.find((r) => !r.control && r.offset >= p.start && r.timestamp >= spec.timestamp);
      return hit ? { topic, partition, offset: hit.offset } : { topic, partition };
    });
  }

  async fetch(requests: readonly FetchRequest[]): Promise<FetchResult[]> {
    await this.#enter(
      'fetch',
      requests.map((r) => `${r.topic}-${r.partition}@${r.offset}`),
    );
    return requests.map(({ topic, partition, offset }) => {
      const p = this.topics.get(topic)?.[partition];
      if (!p)
        return { topic, partition, records: [], nextOffset: offset, error: 'UNKNOWN_TOPIC_OR_PARTITION' };
      if (offset < p.start || offset > p.next) {
        return { topic, partition, records: [], nextOffset: offset, error: 'OFFSET_OUT_OF_RANGE' };
      }
      const slice = p.log.filter((r) => r.offset >= offset).slice(0, this.fetchBatch);
      const last = slice[slice.length - 1];
      return {
        topic,
        partition,
        records: slice
          .filter((r) => !r.control)
          .map((r) => ({
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers ?? {},
          })),
        nextOffset: last ? last.offset + 1 : offset,
        highWatermark: p.next,
        logStartOffset: p.start,
      };
    });
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: { timeoutMs: number; acks?: -1 | 1 },
  ): Promise<ProduceResult[]> {
    await this.#enter('produce', {
      topic,
      partitions: records.map((r) => r.partition),
      acks: options.acks ?? -1,
    });
    return records.map((r) => {
      const p = this.topics.get(topic)?.[r.partition];
      if (!p) return { topic, partition: r.partition, error: 'UNKNOWN_TOPIC_OR_PARTITION' };
      if (p.leader < 0) return { topic, partition: r.partition, error: 'LEADER_NOT_AVAILABLE' };
      if (p.produceError) return { topic, partition: r.partition, error: p.produceError };
      const toBuf = (v: Buffer | string | null | undefined) =>
        v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
      const baseOffset = this.append(
        topic,
        r.partition,
        toBuf(r.key),
        toBuf(r.value),
        r.timestamp ?? Date.now(),
      );
      return { topic, partition: r.partition, baseOffset };
    });
  }

  async appendBatch(topic: string, partition: number, records: readonly BatchRecord[]): Promise<Offset> {
    await this.#enter('appendBatch', { topic, partition, count: records.length });
    const p = this.partition(topic, partition);
    if (p.produceError) throw new Error(p.produceError);
    const base = p.next;
    for (const r of records) {
      const headers: Record<string, Buffer> = {};
      // The fake's log keeps one value per header key: the last, as a reader of a repeated key sees it.
      for (const [k, v] of Object.entries(r.headers))
        headers[k] = Buffer.isBuffer(v) ? v : (v.at(-1) ?? Buffer.alloc(0));
      this.append(topic, partition, r.key, r.value, Number(r.timestamp), headers);
    }
    return toOffset(base, `base offset in ${tpKey(topic, partition)}`);
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    await this.#enter('describeGroups', groupIds);
    return groupIds.map((groupId) => ({
      groupId,
      state: this.groups.has(groupId) ? 'Empty' : 'Dead',
      members: 0,
    }));
  }

  async commitGroupOffsets(
    groupId: string,
    offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>,
  ): Promise<void> {
    await this.#enter('commitGroupOffsets', groupId);
    const group = this.groups.get(groupId) ?? new Map<string, number>();
    for (const o of offsets) group.set(tpKey(o.topic, o.partition), o.offset);
    this.groups.set(groupId, group);
  }

  async createTopic(spec: CreateTopicSpec): Promise<'created' | 'exists'> {
    await this.#enter('createTopic', spec);
    if (this.topics.has(spec.topic)) return 'exists';
    this.addTopic(spec.topic, spec.numPartitions, { rf: spec.replicationFactor });
    return 'created';
  }

  async close(): Promise<void> {
    this.calls.push({ op: 'close' });
    this.closed = true;
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }
}
