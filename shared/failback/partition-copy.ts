import type { Offset } from '../kafka/offset.ts';
import type { CopiedRecord, FailbackCluster, RangeRead } from './cluster-ops.ts';
import type { PartitionPosition } from './mirror-controller.ts';
import type { PhaseContext } from './phase-context.ts';

/**
 * Copy ranges of one partition into one partition of another cluster, exactly once: the loop salvage (primary →
 * quarantine) and copy-back (secondary → primary) share.
 *
 * Progress is counted in broker offsets only: a read proves every offset up to its `nextOffset` copied or holding
 * nothing (markers, compaction gaps, aborted records); an empty answer proves nothing and is retried with backoff,
 * and a partition that makes no progress stays not done. Offsets the source deleted before they were read are
 * recorded as lost, never as done. Copies keep key, value, headers and timestamp and add provenance headers (the
 * source's cluster, topic, partition and offset); progress is journaled after every batch, and a re-run first scans
 * the target partition past the journaled mark for records it already wrote (a crash between a write and its
 * journal entry), so nothing is copied twice.
 *
 * The next read is in flight while the current batch is written: reads and writes go to different clusters.
 */

export const PROVENANCE = {
  cluster: 'mm2-failover.source-cluster',
  topic: 'mm2-failover.source-topic',
  partition: 'mm2-failover.source-partition',
  offset: 'mm2-failover.source-offset',
} as const;

/** Empty answers in a row before a partition is left for the next invocation; the waits double from the first. */
const MAX_EMPTY_READS = 6;
const FIRST_BACKOFF_MS = 250;

/** One range of source offsets; every offset in [from, next) is accounted for. */
interface CopyRange {
  from: Offset;
  to: Offset;
  next: Offset;
}

/** What a copy journals per source partition (salvage's and copy-back's partition state have these fields). */
interface CopyProgress {
  ranges: CopyRange[];
  copied: number;
  absent: number;
  lost: Array<{ from: Offset; to: Offset }>;
}

export interface CopyJob {
  source: { cluster: FailbackCluster; topic: string; partition: number };
  target: { cluster: FailbackCluster; topic: string; partition: number };
  /** Mutated in place and journaled by `ctx.save`. */
  progress: CopyProgress;
  /** The target partition's log end after the last journaled batch: the crash scan starts there. */
  mark: { get(): Offset; set(offset: Offset): void };
  /**
   * Told where each written batch landed (copy-back keeps samples to translate group offsets): its first and last
   * source offsets, where its first record went, and how many records it held.
   */
  onBatch?(firstSourceOffset: Offset, targetBase: Offset, count: number, lastSourceOffset: Offset): void;
  /** Prefix of log messages, e.g. 'failback salvage'. */
  label: string;
}

/** A partition that made no progress in this invocation, and why; it is tried again in the next. */
interface Stall {
  topic: string;
  partition: number;
  at: Offset;
  reason: string;
}

type Work = Pick<PhaseContext, 'deps' | 'save' | 'pause' | 'remainingMs'>;

export type CopyOutcome = { kind: 'done' } | { kind: 'deadline' } | { kind: 'stalled'; stalled: Stall[] };

/** Groups copied at once; the jobs of one group (sharing a target partition) go one after another. */
const CONCURRENCY = 4;

/**
 * Run copy jobs, groups at once. Journal writes go out one at a time, in order, each with the whole state as it is
 * then; once anything fails (a lost lease, a broken connection), no copy starts another batch.
 */
export async function copyAll(ctx: Work, groups: CopyJob[][]): Promise<CopyOutcome> {
  let failed = false;
  let journaled = Promise.resolve();
  const work: Work = {
    deps: ctx.deps,
    save: () => {
      journaled = journaled.then(() => ctx.save());
      return journaled;
    },
    // Backoffs are seconds, far below the lease; pausing through ctx would journal outside the order above.
    pause: (ms) => ctx.deps.sleep(ms),
    remainingMs: () => (failed ? 0 : ctx.remainingMs()),
  };
  const queue = [...groups];
  const outcomes: Array<'done' | 'deadline' | Stall> = [];
  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      for (const job of group) {
        try {
          outcomes.push(await copyPartition(work, job));
        } catch (e: unknown) {
          failed = true;
          throw e;
        }
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker),
  );
  const error = settled.find((r) => r.status === 'rejected');
  if (error) throw error.reason;
  if (outcomes.includes('deadline')) return { kind: 'deadline' };
  const stalled = outcomes.filter((o): o is Stall => typeof o === 'object');
  return stalled.length === 0 ? { kind: 'done' } : { kind: 'stalled', stalled };
}

async function copyPartition(ctx: Work, job: CopyJob): Promise<'done' | 'deadline' | Stall> {
  const { source, target, progress: p } = job;
  let scanned = false;
  for (const range of p.ranges) {
    let empties = 0;
    let ahead: { at: Offset; read: Promise<RangeRead> } | undefined;
    const readAt = (at: Offset): Promise<RangeRead> =>
      source.cluster.read(source.topic, source.partition, at);
    while (range.next < range.to) {
      if (ctx.remainingMs() <= 0) return 'deadline';
      if (!scanned) {
        const found = await resumeFromTarget(ctx, job, range);
        if (found !== 'scanned') return found;
        scanned = true;
        continue;
      }
      const read = ahead?.at === range.next ? await ahead.read : await readAt(range.next);
      ahead = undefined;
      if (read.logStart !== undefined && read.logStart > range.next) {
        const to = Math.min(read.logStart, range.to);
        ctx.deps.logger.warn(`${job.label}: the source deleted records before they were read`, {
          topic: source.topic,
          partition: source.partition,
          from: range.next,
          to,
        });
        addLost(p, range.next, to);
        range.next = to;
        await ctx.save();
        continue;
      }
      const through = Math.min(read.nextOffset, range.to);
      if (through <= range.next) {
        empties += 1;
        const wait = FIRST_BACKOFF_MS * 2 ** (empties - 1);
        if (empties >= MAX_EMPTY_READS || ctx.remainingMs() < wait) return stallOf(job, range, empties, read);
        await ctx.pause(wait);
        continue;
      }
      empties = 0;
      const records = read.records.filter((r) => r.offset >= range.next && r.offset < through);
      if (through < range.to) {
        const next = { at: through, read: readAt(through) };
        next.read.catch(() => {}); // awaited in the next round, or abandoned with the invocation
        ahead = next;
      }
      if (records.length > 0) {
        const base = await target.cluster.append(
          target.topic,
          target.partition,
          records.map((r) => withProvenance(r, source.cluster.alias, source.topic, source.partition)),
        );
        if (base >= 0) {
          job.mark.set(base + records.length);
          job.onBatch?.(
            (records[0] as CopiedRecord).offset,
            base,
            records.length,
            (records[records.length - 1] as CopiedRecord).offset,
          );
        }
      }
      p.copied += records.length;
      p.absent += through - range.next - records.length;
      range.next = through;
      await ctx.save();
    }
  }
  return 'done';
}

function stallOf(job: CopyJob, range: CopyRange, reads: number, last: RangeRead): Stall {
  const end =
    last.logEnd !== undefined && last.logEnd <= range.next
      ? `; the source's readable end is ${last.logEnd} (an open transaction holds it back, or the log was truncated)`
      : '';
  return {
    topic: job.source.topic,
    partition: job.source.partition,
    at: range.next,
    reason: `${reads} read(s) from offset ${range.next} returned nothing although the range ends at ${range.to}${end}; not counted as copied, tried again in the next invocation`,
  };
}

function addLost(p: CopyProgress, from: Offset, to: Offset): void {
  const last = p.lost[p.lost.length - 1];
  if (last !== undefined && last.to === from) last.to = to;
  else p.lost.push({ from, to });
}

/**
 * Records of this source partition already in the target past the journaled mark (a crash between a write and its
 * journal entry): the range resumes after the last of them. They are a prefix of one batch, read from the
 * journaled `next` on, so the offsets between them that are not in the target held nothing to copy.
 */
async function resumeFromTarget(ctx: Work, job: CopyJob, range: CopyRange): Promise<'scanned' | Stall> {
  const { source, target, progress: p } = job;
  const t = (await target.cluster.offsets([target.topic])).find((o) => o.partition === target.partition);
  const mark = job.mark.get();
  if (t === undefined || t.high <= mark) return 'scanned';
  let max = -1;
  let count = 0;
  let at = Math.max(mark, t.low);
  let empties = 0;
  while (at < t.high) {
    const read = await target.cluster.read(target.topic, target.partition, at);
    if (read.nextOffset <= at && !(read.logStart !== undefined && read.logStart > at)) {
      empties += 1;
      if (empties >= MAX_EMPTY_READS || ctx.remainingMs() <= 0) {
        return {
          topic: source.topic,
          partition: source.partition,
          at: range.next,
          reason: `${target.topic} partition ${target.partition} could not be read past offset ${at} to find records an earlier invocation wrote; nothing copied, so as not to copy twice`,
        };
      }
      await ctx.pause(FIRST_BACKOFF_MS * 2 ** (empties - 1));
      continue;
    }
    empties = 0;
    if (read.logStart !== undefined && read.logStart > at) {
      at = read.logStart;
      continue;
    }
    for (const r of read.records) {
      const src = provenanceOf(r);
      if (
        src?.cluster === source.cluster.alias &&
        src.topic === source.topic &&
        src.partition === source.partition &&
        src.offset >= range.next &&
        src.offset < range.to
      ) {
        if (max < 0) job.onBatch?.(src.offset, r.offset, 1, src.offset);
        max = Math.max(max, src.offset);
        count += 1;
      }
    }
    at = read.nextOffset;
  }
  if (max >= 0) {
    ctx.deps.logger.warn(`${job.label}: resuming after records already copied`, {
      topic: source.topic,
      partition: source.partition,
      found: count,
    });
    p.copied += count;
    p.absent += max + 1 - range.next - count;
    range.next = max + 1;
  }
  job.mark.set(t.high);
  await ctx.save();
  return 'scanned';
}

function withProvenance(
  r: CopiedRecord,
  alias: string,
  topic: string,
  partition: number,
): Omit<CopiedRecord, 'offset'> {
  return {
    key: r.key,
    value: r.value,
    timestamp: r.timestamp,
    headers: {
      ...r.headers,
      [PROVENANCE.cluster]: Buffer.from(alias),
      [PROVENANCE.topic]: Buffer.from(topic),
      [PROVENANCE.partition]: Buffer.from(String(partition)),
      [PROVENANCE.offset]: Buffer.from(String(r.offset)),
    },
  };
}

function provenanceOf(
  r: Pick<CopiedRecord, 'headers'>,
): (PartitionPosition & { cluster?: string }) | undefined {
  const get = (k: string): string | undefined => {
    const v = r.headers[k];
    const b = Array.isArray(v) ? v[v.length - 1] : v;
    return b?.toString();
  };
  const topic = get(PROVENANCE.topic);
  const partition = Number(get(PROVENANCE.partition));
  const offset = Number(get(PROVENANCE.offset));
  if (topic === undefined || !Number.isInteger(partition) || !Number.isInteger(offset)) return undefined;
  const cluster = get(PROVENANCE.cluster);
  return { topic, partition, offset, ...(cluster === undefined ? {} : { cluster }) };
}
