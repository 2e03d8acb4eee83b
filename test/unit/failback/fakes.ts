import type {
  CopiedRecord,
  FailbackCluster,
  PartitionOffsets,
  RangeRead,
  TopicSpec,
} from '#shared/failback/cluster-ops.ts';
import type {
  Flow,
  MirrorController,
  MirrorOutcome,
  PartitionPosition,
  ReverseFlowSpec,
} from '#shared/failback/mirror-controller.ts';
import type { TimedOffsetSync } from '#shared/kafka/mm2-internal-topics.ts';
import { parseTpKey, tpKey } from '#shared/kafka/topic-partition.ts';
import type { Checkpoint } from '#shared/offsets/offset-translation.ts';
import type { JournalEntry, RunJournal } from '#shared/store/dynamo-journal.ts';
import type { FakeLock } from '../failover/fakes.ts';

/** One partition's log: records by offset (gaps allowed), its start and its end. */
interface MemoryPartition {
  /** Log start offset: records below it were deleted. */
  low: number;
  /** Log end offset: the next offset written. */
  high: number;
  /** Data records, oldest first; offsets without a record are transaction markers or compacted away. */
  records: CopiedRecord[];
  /** Offsets of records whose transaction was aborted: a read_committed reader skips them. */
  aborted: Set<number>;
}

/**
 * An in-memory Kafka cluster with a broker's offsets: records, transaction markers, compaction gaps and aborted
 * transactions each take offsets, and a read answers like the direct fetch does (its `nextOffset` accounts for
 * every offset it covered). Knobs make reads misbehave the way real ones can (empty or short answers).
 */
export class MemoryCluster implements FailbackCluster {
  readonly alias: string;
  healthy = true;
  readonly topics = new Map<string, MemoryPartition[]>();
  /** group -> tpKey(topic, partition) -> committed offset */
  readonly committed = new Map<string, Map<string, number>>();
  checkpoints: Checkpoint[] = [];
  /** Members of a consumer group on this cluster, asked at each describe (default: none). */
  membersOf: (group: string) => number = () => 0;
  readonly calls: string[] = [];
  /** Fail the next append after writing (a crash between the write and the journal). */
  failAfterNextAppend = false;
  /** The next this-many reads answer nothing although their range holds records (a slow group join). */
  emptyReads = 0;
  /** Records one read returns at most (a small number: slow reads). */
  readBatch = 1000;
  /** Called before each read answers (e.g. to let retention move the log start meanwhile). */
  beforeRead: (topic: string, partition: number) => void = () => {};
  /** MM2 offset syncs held in this cluster's offset-syncs topics, by topic name, oldest first. */
  readonly syncs = new Map<string, TimedOffsetSync[]>();
  /** How each topic was created through {@link ensureTopic}. */
  readonly created = new Map<string, TopicSpec>();

  constructor(alias: string) {
    this.alias = alias;
  }

  createTopic(topic: string, partitions: number): void {
    if (!this.topics.has(topic)) {
      this.topics.set(
        topic,
        Array.from({ length: partitions }, () => ({
          low: 0,
          high: 0,
          records: [],
          aborted: new Set<number>(),
        })),
      );
    }
  }

  #partition(topic: string, partition: number): MemoryPartition {
    const p = this.topics.get(topic)?.[partition];
    if (!p) throw new Error(`no ${topic}[${partition}]`);
    return p;
  }

  /** Records acknowledged with these values (as key and value), one offset each. */
  write(topic: string, partition: number, values: string[]): void {
    const p = this.#partition(topic, partition);
    for (const v of values) {
      p.records.push({
        offset: p.high,
        key: Buffer.from(v),
        value: Buffer.from(v),
        headers: { h: Buffer.from('1') },
        timestamp: '1000',
      });
      p.high += 1;
    }
  }

  /** A transaction marker: an offset that holds no record. */
  marker(topic: string, partition: number): void {
    this.#partition(topic, partition).high += 1;
  }

  /** Records of a transaction that was aborted, and its abort marker: never acknowledged. */
  writeAborted(topic: string, partition: number, values: string[]): void {
    const p = this.#partition(topic, partition);
    const from = p.high;
    this.write(topic, partition, values);
    for (let o = from; o < p.high; o += 1) p.aborted.add(o);
    this.marker(topic, partition);
  }

  /** Compaction removed the records at these offsets; their offsets stay taken. */
  compact(topic: string, partition: number, offsets: readonly number[]): void {
    const p = this.#partition(topic, partition);
    const gone = new Set(offsets);
    p.records = p.records.filter((r) => !gone.has(r.offset));
  }

  /** Values of the live, committed records, partition by partition. */
  values(topic: string): string[] {
    return (this.topics.get(topic) ?? []).flatMap((p) =>
      p.records.filter((r) => r.offset >= p.low && !p.aborted.has(r.offset)).map((r) => String(r.value)),
    );
  }

  async health() {
    return { healthy: this.healthy, detail: this.healthy ? 'ok' : 'down' };
  }

  async offsets(topics: readonly string[]): Promise<PartitionOffsets[]> {
    this.calls.push('offsets');
    if (!this.healthy) throw new Error(`${this.alias} is down`);
    return topics.flatMap((topic) =>
      (this.topics.get(topic) ?? []).map((p, partition) => ({ topic, partition, low: p.low, high: p.high })),
    );
  }

  async read(topic: string, partition: number, from: number): Promise<RangeRead> {
    this.calls.push(`read ${topic}`);
    this.beforeRead(topic, partition);
    const p = this.#partition(topic, partition);
    if (from < p.low || from > p.high) return { records: [], nextOffset: from, logStart: p.low };
    if (this.emptyReads > 0) {
      this.emptyReads -= 1;
      return { records: [], nextOffset: from, logStart: p.low, logEnd: p.high };
    }
    const live = p.records.filter((r) => r.offset >= from);
    const taken = live.slice(0, this.readBatch);
    const last = taken[taken.length - 1];
    // A full answer covers up to the end: markers, gaps and aborted records are accounted for by the broker.
    const nextOffset = taken.length < live.length && last !== undefined ? last.offset + 1 : p.high;
    return {
      records: taken.filter((r) => !p.aborted.has(r.offset)).map((r) => ({ ...r })),
      nextOffset,
      logStart: p.low,
      logEnd: p.high,
    };
  }

  async ensureTopic(topic: string, spec: TopicSpec): Promise<number> {
    this.calls.push(`ensureTopic ${topic}`);
    if (!this.topics.has(topic)) this.created.set(topic, spec);
    this.createTopic(topic, spec.partitions);
    return this.topics.get(topic)?.length ?? spec.partitions;
  }

  async append(
    topic: string,
    partition: number,
    records: readonly Omit<CopiedRecord, 'offset'>[],
  ): Promise<number> {
    this.calls.push(`append ${topic}`);
    const p = this.#partition(topic, partition);
    const base = p.high;
    for (const r of records) {
      p.records.push({ ...r, offset: p.high });
      p.high += 1;
    }
    if (this.failAfterNextAppend) {
      this.failAfterNextAppend = false;
      throw new Error('crashed after writing');
    }
    return base;
  }

  async deleteRecordsBefore(topic: string, partitions: ReadonlyArray<{ partition: number; offset: number }>) {
    this.calls.push(`deleteRecordsBefore ${topic}`);
    for (const { partition, offset } of partitions) {
      const p = this.#partition(topic, partition);
      if (offset > p.high) throw new Error('OFFSET_OUT_OF_RANGE');
      p.low = Math.max(p.low, offset);
    }
  }

  async readOffsetSyncs(topic: string): Promise<TimedOffsetSync[]> {
    return [...(this.syncs.get(topic) ?? [])];
  }

  async readCheckpoints(groups: readonly string[]) {
    return this.checkpoints.filter((c) => groups.includes(c.group));
  }

  async describeGroup(group: string) {
    const members = this.membersOf(group);
    return { state: members > 0 ? 'Stable' : 'Empty', members };
  }

  async committedOffsets(group: string, topics: readonly string[]) {
    return [...(this.committed.get(group) ?? new Map<string, number>())]
      .map(([k, offset]) => ({ ...parseTpKey(k), offset }))
      .filter((x) => topics.includes(x.topic));
  }

  async commitOffsets(
    group: string,
    topic: string,
    partitions: Array<{ partition: number; offset: number }>,
  ) {
    this.calls.push(`commitOffsets ${group}`);
    const committed = this.committed.get(group) ?? new Map<string, number>();
    for (const p of partitions) committed.set(tpKey(topic, p.partition), p.offset);
    this.committed.set(group, committed);
  }
}

/**
 * A mirror that really moves data between two {@link MemoryCluster}s: the forward flow copies primary →
 * secondary, the reverse flow secondary → primary, whenever its positions are read (one "poll" per read).
 */
export class MemoryMirror implements MirrorController {
  readonly kind = 'kafka-connect' as const;
  canSetForwardOffsets = true;
  readonly calls: string[] = [];
  forward: 'running' | 'stopped' = 'running';
  reverse: 'absent' | 'running' = 'absent';
  /** Last copied upstream offset per `topic:partition`, per flow. */
  readonly positions: Record<Flow, Map<string, number>> = { forward: new Map(), reverse: new Map() };
  /** A frozen flow runs but copies nothing (a slow or stuck task). */
  readonly frozen: Record<Flow, boolean> = { forward: false, reverse: false };
  /** Write an offset sync for the first record copied per partition and then every this-many records. */
  syncEvery = 1;
  /** The clock MM2 stamps its offset syncs with. */
  now: () => number = () => 0;
  /**
   * The replication policy: `default` names the copy `<source alias>.<topic>` (forward only: a reverse flow under
   * the default policy never brings a prefixed topic back, which is why failback copies back itself).
   */
  policy: 'identity' | 'default' = 'identity';
  readonly #primary: MemoryCluster;
  readonly #secondary: MemoryCluster;
  readonly #topics: string[];
  readonly #sinceSync = new Map<string, number>();

  constructor(primary: MemoryCluster, secondary: MemoryCluster, topics: string[]) {
    this.#primary = primary;
    this.#secondary = secondary;
    this.#topics = topics;
  }

  /**
   * When set, which flows run is read from here before each poll (e.g. from the Aiven API fake's flows) instead
   * of being set by this class's own controller methods. A flow that starts anew copies from the earliest offset.
   */
  flowsFrom: (() => { forward: boolean; reverse: boolean }) | undefined;

  /** Copy what the running flows have not copied yet. */
  poll(): void {
    if (this.flowsFrom) {
      const flows = this.flowsFrom();
      this.forward = flows.forward ? 'running' : 'stopped';
      if (flows.reverse && this.reverse !== 'running') this.#startAnew('reverse');
      this.reverse = flows.reverse ? 'running' : 'absent';
    }
    if (this.forward === 'running' && this.#primary.healthy)
      this.#copy('forward', this.#primary, this.#secondary);
    if (this.reverse === 'running') this.#copy('reverse', this.#secondary, this.#primary);
  }

  /** Forget a flow's offsets (Kafka Connect's `DELETE /connectors/<n>/offsets`): it copies from the earliest next. */
  resetFlow(flow: Flow): void {
    this.#startAnew(flow);
  }

  /** A flow created anew copies from the earliest offset, and MM2 writes a sync for its first record again. */
  #startAnew(flow: Flow): void {
    this.positions[flow].clear();
    for (const k of [...this.#sinceSync.keys()]) if (k.startsWith(`${flow} `)) this.#sinceSync.delete(k);
  }

  #copy(flow: Flow, from: MemoryCluster, to: MemoryCluster): void {
    if (this.frozen[flow]) return;
    // MM2's default: the offset syncs live on the source cluster, named after the target.
    const syncTopic = `mm2-offset-syncs.${to.alias}.internal`;
    for (const topic of this.#topics) {
      const partitions = from.topics.get(topic) ?? [];
      const copy = this.policy === 'default' ? `${from.alias}.${topic}` : topic;
      if (this.policy === 'default' && flow === 'reverse') continue;
      to.createTopic(copy, partitions.length);
      partitions.forEach((p, partition) => {
        const key = tpKey(topic, partition);
        const last = this.positions[flow].get(key) ?? -1;
        const todo = p.records.filter(
          (r) => r.offset > last && r.offset >= p.low && !p.aborted.has(r.offset),
        );
        const target = to.topics.get(copy)?.[partition];
        if (target === undefined) return;
        for (const r of todo) {
          const downstream = target.high;
          target.records.push({ ...r, offset: downstream });
          target.high += 1;
          const since = this.#sinceSync.get(`${flow} ${key}`);
          if (since === undefined || since + 1 >= this.syncEvery) {
            const list = from.syncs.get(syncTopic) ?? [];
            list.push({
              topic,
              partition,
              upstreamOffset: r.offset,
              downstreamOffset: downstream,
              writtenAt: this.now(),
            });
            from.syncs.set(syncTopic, list);
            this.#sinceSync.set(`${flow} ${key}`, 0);
          } else this.#sinceSync.set(`${flow} ${key}`, since + 1);
        }
        const lastRecord = todo[todo.length - 1];
        if (lastRecord) this.positions[flow].set(key, lastRecord.offset);
      });
    }
  }

  describeChanges(spec: ReverseFlowSpec): string[] {
    return [`reverse ${spec.topics.join(',')} excluding ${spec.excludeTopics.join(',')}`];
  }

  async stopForward(): Promise<MirrorOutcome> {
    this.calls.push('stopForward');
    this.forward = 'stopped';
    return { done: true, detail: 'stopped' };
  }

  async startReverse(spec: ReverseFlowSpec): Promise<MirrorOutcome> {
    this.calls.push(`startReverse ${spec.excludeTopics.join(',')}`);
    if (this.forward === 'running') throw new Error('cycle: forward still running while reverse starts');
    if (this.reverse !== 'running') this.#startAnew('reverse');
    this.reverse = 'running';
    return { done: true, detail: 'started' };
  }

  async removeReverse(): Promise<MirrorOutcome> {
    this.calls.push('removeReverse');
    this.reverse = 'absent';
    return { done: true, detail: 'removed' };
  }

  async startForward(startAt?: readonly PartitionPosition[]): Promise<MirrorOutcome> {
    this.calls.push(`startForward ${JSON.stringify(startAt ?? null)}`);
    if (this.reverse === 'running') throw new Error('cycle: reverse still running while forward starts');
    for (const p of startAt ?? []) this.positions.forward.set(tpKey(p.topic, p.partition), p.offset - 1);
    this.forward = 'running';
    return { done: true, detail: 'started' };
  }

  async lastReplicated(flow: Flow): Promise<PartitionPosition[]> {
    this.poll();
    return [...this.positions[flow].entries()].map(([k, offset]) => ({ ...parseTpKey(k), offset }));
  }
}

/**
 * The shared run journal in memory, with the real one's rules: begin once, steps only while in progress, and
 * every write fenced by the lock (it renews the holder's lease, and fails for anyone else, as the DynamoDB
 * transaction does).
 */
export class MemoryRunJournal implements RunJournal {
  readonly entries: JournalEntry[] = [];
  writes = 0;
  readonly #lock: FakeLock;

  constructor(lock: FakeLock) {
    this.#lock = lock;
  }

  async latest(): Promise<JournalEntry | undefined> {
    const e = this.entries[this.entries.length - 1];
    return e ? structuredClone(e) : undefined;
  }

  async begin(runId: string, plan: unknown, holder: string): Promise<void> {
    this.#lock.renew(holder);
    if (this.entries.some((e) => e.runId === runId)) throw new Error(`run ${runId} exists`);
    this.writes += 1;
    const now = new Date().toISOString();
    this.entries.push({
      kind: 'failback',
      runId,
      status: 'in-progress',
      plan: structuredClone(plan),
      steps: [],
      startedAt: now,
      startedBy: holder,
      updatedAt: now,
    });
  }

  async recordStep(runId: string, step: string, result: unknown, holder: string): Promise<void> {
    this.#lock.renew(holder);
    const e = this.entries.find((x) => x.runId === runId);
    if (e?.status !== 'in-progress') throw new Error(`run ${runId} is not in progress`);
    this.writes += 1;
    e.steps = [...e.steps.filter((s) => s.name !== step), { name: step, result: structuredClone(result) }];
  }

  async finish(
    runId: string,
    status: 'completed' | 'abandoned',
    outcome: unknown,
    holder: string,
  ): Promise<void> {
    this.#lock.renew(holder);
    const e = this.entries.find((x) => x.runId === runId);
    if (e?.status !== 'in-progress') throw new Error(`run ${runId} is not in progress`);
    this.writes += 1;
    e.status = status;
    e.outcome = outcome;
  }
}
