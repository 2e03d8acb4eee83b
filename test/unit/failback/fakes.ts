import { LockHeldError } from '#shared/errors.ts';
import type { CopiedRecord, FailbackCluster, PartitionOffsets } from '#shared/failback/cluster-ops.ts';
import type {
  Flow,
  MirrorController,
  MirrorOutcome,
  PartitionPosition,
  ReverseFlowSpec,
} from '#shared/failback/mirror-controller.ts';
import type { OffsetSync } from '#shared/kafka/mm2-internal-topics.ts';
import { parseTpKey, tpKey } from '#shared/kafka/topic-partition.ts';
import type { Checkpoint } from '#shared/offsets/offset-translation.ts';
import type { JournalEntry, RunJournal } from '#shared/store/dynamo-journal.ts';
import type { DeploymentLock, Lease } from '#shared/store/dynamo-lock.ts';

/** An in-memory Kafka cluster: per partition a log with a start offset; offsets are array positions. */
export class MemoryCluster implements FailbackCluster {
  readonly alias: string;
  healthy = true;
  readonly topics = new Map<string, Array<{ low: number; records: CopiedRecord[] }>>();
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
  /** Called before each read answers (e.g. to let retention move the log start meanwhile). */
  beforeRead: (topic: string, partition: number) => void = () => {};
  /** MM2 offset syncs held in this cluster's offset-syncs topics, by topic name, oldest first. */
  readonly syncs = new Map<string, OffsetSync[]>();
  /** How each topic was created through {@link ensureTopic}. */
  readonly created = new Map<string, unknown>();

  constructor(alias: string) {
    this.alias = alias;
  }

  createTopic(topic: string, partitions: number): void {
    if (!this.topics.has(topic)) {
      this.topics.set(
        topic,
        Array.from({ length: partitions }, () => ({ low: 0, records: [] })),
      );
    }
  }

  write(topic: string, partition: number, values: string[]): void {
    const p = this.topics.get(topic)?.[partition];
    if (!p) throw new Error(`no ${topic}[${partition}]`);
    for (const v of values) {
      p.records.push({
        offset: p.records.length,
        key: Buffer.from(v),
        value: Buffer.from(v),
        headers: { h: Buffer.from('1') },
        timestamp: '1000',
      });
    }
  }

  values(topic: string): string[] {
    return (this.topics.get(topic) ?? []).flatMap((p) =>
      p.records.filter((r) => r.offset >= p.low).map((r) => String(r.value)),
    );
  }

  async health() {
    return { healthy: this.healthy, detail: this.healthy ? 'ok' : 'down' };
  }

  async offsets(topics: readonly string[]): Promise<PartitionOffsets[]> {
    this.calls.push('offsets');
    if (!this.healthy) throw new Error(`${this.alias} is down`);
    return topics.flatMap((topic) =>
      (this.topics.get(topic) ?? []).map((p, partition) => ({
        topic,
        partition,
        low: p.low,
        high: p.records.length,
      })),
    );
  }

  async read(
    topic: string,
    ranges: ReadonlyArray<{ partition: number; from: number; to: number }>,
    max: number,
  ) {
    this.calls.push(`read ${topic}`);
    const out = new Map<number, CopiedRecord[]>();
    let n = 0;
    for (const r of ranges) this.beforeRead(topic, r.partition);
    if (this.emptyReads > 0) {
      this.emptyReads -= 1;
      for (const r of ranges) out.set(r.partition, []);
      return out;
    }
    for (const r of ranges) {
      const p = this.topics.get(topic)?.[r.partition];
      const list = (p?.records ?? []).filter(
        (x) => x.offset >= Math.max(r.from, p?.low ?? 0) && x.offset < r.to,
      );
      const take = list.slice(0, Math.max(0, max - n));
      n += take.length;
      out.set(r.partition, take);
    }
    return out;
  }

  async ensureTopic(topic: string, partitions: number): Promise<number> {
    this.calls.push(`ensureTopic ${topic}`);
    if (!this.topics.has(topic)) this.created.set(topic, { partitions });
    this.createTopic(topic, partitions);
    return this.topics.get(topic)?.length ?? partitions;
  }

  async append(
    topic: string,
    partition: number,
    records: readonly Omit<CopiedRecord, 'offset'>[],
  ): Promise<number> {
    this.calls.push(`append ${topic}`);
    const p = this.topics.get(topic)?.[partition];
    if (!p) throw new Error(`no ${topic}[${partition}]`);
    const base = p.records.length;
    for (const r of records) p.records.push({ ...r, offset: p.records.length });
    if (this.failAfterNextAppend) {
      this.failAfterNextAppend = false;
      throw new Error('crashed after writing');
    }
    return base;
  }

  async deleteRecordsBefore(topic: string, partitions: ReadonlyArray<{ partition: number; offset: number }>) {
    this.calls.push(`deleteRecordsBefore ${topic}`);
    for (const { partition, offset } of partitions) {
      const p = this.topics.get(topic)?.[partition];
      if (!p || offset > p.records.length) throw new Error('OFFSET_OUT_OF_RANGE');
      p.low = Math.max(p.low, offset);
    }
  }

  async readOffsetSyncs(topic: string): Promise<OffsetSync[]> {
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
      if (flows.reverse && this.reverse !== 'running') this.positions.reverse.clear();
      this.reverse = flows.reverse ? 'running' : 'absent';
    }
    if (this.forward === 'running' && this.#primary.healthy)
      this.#copy('forward', this.#primary, this.#secondary);
    if (this.reverse === 'running') this.#copy('reverse', this.#secondary, this.#primary);
  }

  #copy(flow: Flow, from: MemoryCluster, to: MemoryCluster): void {
    if (this.frozen[flow]) return;
    // MM2's default: the offset syncs live on the source cluster, named after the target.
    const syncTopic = `mm2-offset-syncs.${to.alias}.internal`;
    for (const topic of this.#topics) {
      const partitions = from.topics.get(topic) ?? [];
      to.createTopic(topic, partitions.length);
      partitions.forEach((p, partition) => {
        const key = tpKey(topic, partition);
        const last = this.positions[flow].get(key) ?? -1;
        const todo = p.records.filter((r) => r.offset > last && r.offset >= p.low);
        const target = to.topics.get(topic)?.[partition];
        if (target === undefined) return;
        for (const r of todo) {
          const downstream = target.records.length;
          target.records.push({ ...r, offset: downstream });
          const since = this.#sinceSync.get(`${flow} ${key}`);
          if (since === undefined || since + 1 >= this.syncEvery) {
            const list = from.syncs.get(syncTopic) ?? [];
            list.push({ topic, partition, upstreamOffset: r.offset, downstreamOffset: downstream });
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
    if (this.reverse !== 'running') this.positions.reverse.clear();
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

/** The shared run journal in memory, with the real one's rules: begin once, steps only while in progress. */
export class MemoryRunJournal implements RunJournal {
  readonly entries: JournalEntry[] = [];
  writes = 0;

  async latest(): Promise<JournalEntry | undefined> {
    const e = this.entries[this.entries.length - 1];
    return e ? structuredClone(e) : undefined;
  }

  async begin(runId: string, plan: unknown): Promise<void> {
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
      startedBy: 'x',
      updatedAt: now,
    });
  }

  async recordStep(runId: string, step: string, result: unknown): Promise<void> {
    const e = this.entries.find((x) => x.runId === runId);
    if (e?.status !== 'in-progress') throw new Error(`run ${runId} is not in progress`);
    this.writes += 1;
    e.steps = [...e.steps.filter((s) => s.name !== step), { name: step, result: structuredClone(result) }];
  }

  async finish(runId: string, status: 'completed' | 'abandoned', outcome: unknown): Promise<void> {
    const e = this.entries.find((x) => x.runId === runId);
    if (e?.status !== 'in-progress') throw new Error(`run ${runId} is not in progress`);
    this.writes += 1;
    e.status = status;
    e.outcome = outcome;
  }
}

export class MemoryLock implements DeploymentLock {
  holder: string | undefined;
  readonly acquisitions: string[] = [];

  async acquire(holder: string): Promise<Lease> {
    if (this.holder !== undefined && this.holder !== holder)
      throw new LockHeldError('lock#test', this.holder);
    this.holder = holder;
    this.acquisitions.push(holder);
    return { holder, leaseUntil: Date.now() + 60_000 };
  }

  async release(holder: string): Promise<void> {
    if (this.holder === holder) this.holder = undefined;
  }
}
