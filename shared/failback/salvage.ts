import type { OffsetSync } from '../kafka/mm2-internal-topics.ts';
import type { Offset } from '../kafka/offset.ts';
import { offsetSyncsTopic, replicationPolicy } from '../kafka/replication-policy.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { CopiedRecord, FailbackCluster, PartitionOffsets, RangeRead } from './cluster-ops.ts';
import type { MirrorController, PartitionPosition } from './mirror-controller.ts';
import { type PhaseContext, type PhaseOutcome, waitingForMirror } from './phase-context.ts';
import { firstProvable, sampleSyncs, syncHistory } from './replica-proof.ts';
import type { SalvagePartition, SalvageRange } from './state.ts';

/**
 * Salvage: copy into the quarantine topic on the secondary every record of the primary that may exist nowhere
 * else once purge has run.
 *
 * "Never reached" is measured, not guessed: the forward mirror is stopped first (on Kafka Connect that flushes
 * its source offsets), then per partition the tail is [last replicated upstream offset + 1, primary log end).
 * The last replicated offset comes from MM2's own source offsets when the controller can read them (exact), or
 * else from the newest offset sync (conservative: up to `offset.lag.max` records may then be both on the secondary
 * and in quarantine; never one in neither). Replicated records whose copies the secondary cannot be proven to
 * still hold (its retention ran past them: see replica-proof.ts) are copied too, as an `unproven` range.
 *
 * Progress is counted in broker offsets only: a read proves every offset up to its `nextOffset` copied or
 * holding nothing (markers, compaction gaps, aborted records); an empty answer proves nothing and is retried with
 * backoff, and a partition that makes no progress stays not done. Offsets the primary deleted before salvage
 * read them are recorded as lost, never as done. Copies keep key, value, headers and timestamp, and add
 * provenance headers; progress is journaled after every batch, and a re-run first scans the quarantine partition
 * past the journaled mark for records it already wrote (a crash between a write and its journal entry), so
 * nothing is copied twice.
 */

export const PROVENANCE = {
  cluster: 'mm2-failover.source-cluster',
  topic: 'mm2-failover.source-topic',
  partition: 'mm2-failover.source-partition',
  offset: 'mm2-failover.source-offset',
} as const;

/** The quarantine topic keeps what it holds until an operator deletes it: it may hold the only copy. */
const QUARANTINE_CONFIGS = { 'retention.ms': '-1', 'retention.bytes': '-1' };

/** Partitions copied at once (each group of partitions sharing a quarantine partition goes one after another). */
const CONCURRENCY = 4;

/** Empty answers in a row before a partition is left for the next invocation; the waits double from the first. */
const MAX_EMPTY_READS = 6;
const FIRST_BACKOFF_MS = 250;

/** Where each partition's replication stopped, exact when possible. */
export async function lastReplicatedPositions(
  mirror: Pick<MirrorController, 'lastReplicated'>,
  flow: 'forward' | 'reverse',
  syncs: { cluster: FailbackCluster; topic: string }[],
): Promise<{ positions: Map<string, number>; source: 'connect-offsets' | 'offset-syncs' }> {
  const exact = await mirror.lastReplicated(flow);
  if (exact !== undefined) {
    return {
      positions: new Map(exact.map((p) => [tpKey(p.topic, p.partition), p.offset])),
      source: 'connect-offsets',
    };
  }
  return { positions: newestUpstream(await syncHistory(syncs)), source: 'offset-syncs' };
}

function newestUpstream(history: Map<string, OffsetSync[]>): Map<string, number> {
  const positions = new Map<string, number>();
  for (const [k, list] of history) positions.set(k, Math.max(-1, ...list.map((s) => s.upstreamOffset)));
  return positions;
}

/** The offset-syncs topics a flow may write, on whichever cluster the deployment put them (KIP-716). */
export function offsetSyncsLocations(
  ctx: Pick<PhaseContext, 'deps'>,
  flow: 'forward' | 'reverse',
): { cluster: FailbackCluster; topic: string }[] {
  const { config, primary, secondary } = ctx.deps;
  const policy = replicationPolicy(config);
  const [sourceAlias, targetAlias] =
    flow === 'forward'
      ? [config.clusters.primary.alias, config.clusters.secondary.alias]
      : [config.clusters.secondary.alias, config.clusters.primary.alias];
  const [source, target] = flow === 'forward' ? [primary, secondary] : [secondary, primary];
  const onTarget = offsetSyncsTopic(policy, { sourceAlias, targetAlias, location: 'target' });
  const onSource = offsetSyncsTopic(policy, { sourceAlias, targetAlias, location: 'source' });
  return [
    { cluster: target, topic: onTarget.topic },
    { cluster: source, topic: onSource.topic },
  ];
}

/** Read-only: what salvage would copy now. Used by `plan` and by the phase itself. */
export async function measureTail(
  ctx: Pick<PhaseContext, 'deps' | 'mirror'>,
  primaryOffsets: PartitionOffsets[],
  quarantine: { partitions: number; highs: Map<number, number> },
): Promise<SalvagePartition[]> {
  const history = await syncHistory(offsetSyncsLocations(ctx, 'forward'));
  const exact = await ctx.mirror.lastReplicated('forward');
  const positions =
    exact === undefined
      ? newestUpstream(history)
      : new Map(exact.map((p) => [tpKey(p.topic, p.partition), p.offset]));
  const source = exact === undefined ? 'offset-syncs' : 'connect-offsets';
  const secondary = new Map(
    (await ctx.deps.secondary.offsets(ctx.deps.config.topics)).map((o) => [tpKey(o.topic, o.partition), o]),
  );
  return primaryOffsets.map((o) => {
    const k = tpKey(o.topic, o.partition);
    const last = positions.get(k);
    const tailFrom = Math.min(Math.max((last ?? -1) + 1, o.low), o.high);
    const syncs = history.get(k) ?? [];
    const provenFrom = firstProvable(syncs, secondary.get(k), o.low, tailFrom);
    const ranges: SalvageRange[] = [];
    if (provenFrom > o.low) ranges.push({ kind: 'unproven', from: o.low, to: provenFrom, next: o.low });
    ranges.push({ kind: 'tail', from: tailFrom, to: o.high, next: tailFrom });
    const q = o.partition % quarantine.partitions;
    const secondaryLow = secondary.get(k)?.low;
    return {
      topic: o.topic,
      partition: o.partition,
      lastReplicated: last ?? -1,
      source: last === undefined ? 'none' : source,
      logStart: o.low,
      logEnd: o.high,
      ranges,
      copied: 0,
      absent: 0,
      lost: [],
      ...(secondaryLow === undefined ? {} : { secondaryLogStart: secondaryLow }),
      forwardSyncs: provenFrom >= tailFrom ? [] : sampleSyncs(syncs, provenFrom, tailFrom, secondaryLow),
      quarantinePartition: q,
      quarantineMark: quarantine.highs.get(q) ?? 0,
    };
  });
}

export async function runSalvage(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
  const quarantine = deps.config.failback.quarantineTopic;
  if (!state.salvage?.forwardStopped) {
    const stopped = await ctx.mirror.stopForward();
    if (!stopped.done) return waitingForMirror(stopped);
    state.salvage = { forwardStopped: true, quarantineTopic: quarantine, partitions: {} };
    await ctx.save();
    deps.logger.info('failback salvage: forward mirror stopped', { detail: stopped.detail });
  }
  const salvage = state.salvage;
  if (salvage === undefined) throw new Error('unreachable: salvage state missing');
  if (Object.keys(salvage.partitions).length === 0) {
    const primaryOffsets = await deps.primary.offsets(deps.config.topics);
    const partitions = Math.max(1, ...primaryOffsets.map((o) => o.partition + 1));
    const qCount = await deps.secondary.ensureTopic(quarantine, {
      partitions,
      configs: QUARANTINE_CONFIGS,
      replicationFactorOf: deps.config.topics,
    });
    const highs = new Map((await deps.secondary.offsets([quarantine])).map((o) => [o.partition, o.high]));
    for (const p of await measureTail(ctx, primaryOffsets, { partitions: qCount, highs })) {
      salvage.partitions[tpKey(p.topic, p.partition)] = p;
    }
    await ctx.save();
  }
  const copied = await copyTails(ctx);
  const summary = salvageSummary(state.salvage);
  if (copied.kind === 'done') return { kind: 'done', summary };
  return {
    kind: 'deadline',
    summary: copied.kind === 'stalled' ? { ...summary, stalled: copied.stalled } : summary,
  };
}

/** A partition that made no progress in this invocation, and why; it is tried again in the next. */
interface Stall {
  topic: string;
  partition: number;
  at: Offset;
  reason: string;
}

type CopyOutcome = { kind: 'done' } | { kind: 'deadline' } | { kind: 'stalled'; stalled: Stall[] };

/**
 * Copy every partition's remaining ranges; resumable at any point. Partitions that write to different quarantine
 * partitions are copied at once (the marks and the crash scan are per quarantine partition, so those sharing one
 * go one after another). Journal writes go out one at a time, in order, each with the whole state as it is then;
 * once anything fails (a lost lease, a broken connection), no copy starts another batch.
 */
export async function copyTails(ctx: PhaseContext): Promise<CopyOutcome> {
  const salvage = ctx.state.salvage;
  if (salvage === undefined) throw new Error('salvage has not measured anything');
  let failed = false;
  let journaled = Promise.resolve();
  const work: PhaseContext = {
    ...ctx,
    save: () => {
      journaled = journaled.then(() => ctx.save());
      return journaled;
    },
    // Backoffs are seconds, far below the lease; pausing through ctx would journal outside the order above.
    pause: (ms) => ctx.deps.sleep(ms),
    remainingMs: () => (failed ? 0 : ctx.remainingMs()),
  };
  const groups = new Map<number, SalvagePartition[]>();
  for (const p of Object.values(salvage.partitions)) {
    groups.set(p.quarantinePartition, [...(groups.get(p.quarantinePartition) ?? []), p]);
  }
  const queue = [...groups.values()];
  const outcomes: Array<'done' | 'deadline' | Stall> = [];
  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      for (const p of group) {
        try {
          outcomes.push(await copyPartition(work, p, salvage.quarantineTopic));
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

async function copyPartition(
  ctx: PhaseContext,
  p: SalvagePartition,
  quarantine: string,
): Promise<'done' | 'deadline' | Stall> {
  const { primary, secondary, logger } = ctx.deps;
  let scanned = false;
  for (const range of p.ranges) {
    let empties = 0;
    // The next batch is read while the current one is written: reads and writes go to different clusters.
    let ahead: { at: Offset; read: Promise<RangeRead> } | undefined;
    const readAt = (at: Offset): Promise<RangeRead> => primary.read(p.topic, p.partition, at);
    while (range.next < range.to) {
      if (ctx.remainingMs() <= 0) return 'deadline';
      if (!scanned) {
        const found = await resumeFromQuarantine(ctx, p, range, quarantine);
        if (found !== 'scanned') return found;
        scanned = true;
        continue;
      }
      const read = ahead?.at === range.next ? await ahead.read : await readAt(range.next);
      ahead = undefined;
      if (read.logStart !== undefined && read.logStart > range.next) {
        const to = Math.min(read.logStart, range.to);
        logger.warn('failback salvage: the primary deleted records before salvage read them', {
          topic: p.topic,
          partition: p.partition,
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
        if (empties >= MAX_EMPTY_READS || ctx.remainingMs() < wait) {
          return stallOf(p, range, empties, read);
        }
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
        const base = await secondary.append(
          quarantine,
          p.quarantinePartition,
          records.map((r) => withProvenance(r, primary.alias, p.topic, p.partition)),
        );
        if (base >= 0) p.quarantineMark = base + records.length;
      }
      p.copied += records.length;
      p.absent += through - range.next - records.length;
      range.next = through;
      await ctx.save();
    }
  }
  return 'done';
}

function stallOf(p: SalvagePartition, range: SalvageRange, reads: number, last: RangeRead): Stall {
  const end =
    last.logEnd !== undefined && last.logEnd <= range.next
      ? `; the primary's readable end is ${last.logEnd} (an open transaction holds it back, or the log was truncated)`
      : '';
  return {
    topic: p.topic,
    partition: p.partition,
    at: range.next,
    reason: `${reads} read(s) from offset ${range.next} returned nothing although the range ends at ${range.to}${end}; not counted as salvaged, tried again in the next invocation`,
  };
}

function addLost(p: SalvagePartition, from: Offset, to: Offset): void {
  const last = p.lost[p.lost.length - 1];
  if (last !== undefined && last.to === from) last.to = to;
  else p.lost.push({ from, to });
}

/**
 * Records of this source partition already in quarantine past the journaled mark (a crash between a write and its
 * journal entry): the range resumes after the last of them. They are a prefix of one batch, read from the
 * journaled `next` on, so the offsets between them that are not in quarantine held nothing to copy.
 */
async function resumeFromQuarantine(
  ctx: PhaseContext,
  p: SalvagePartition,
  range: SalvageRange,
  quarantine: string,
): Promise<'scanned' | Stall> {
  const q = (await ctx.deps.secondary.offsets([quarantine])).find(
    (o) => o.partition === p.quarantinePartition,
  );
  if (q === undefined || q.high <= p.quarantineMark) return 'scanned';
  let max = -1;
  let count = 0;
  let at = Math.max(p.quarantineMark, q.low);
  let empties = 0;
  while (at < q.high) {
    const read = await ctx.deps.secondary.read(quarantine, p.quarantinePartition, at);
    if (read.nextOffset <= at && !(read.logStart !== undefined && read.logStart > at)) {
      empties += 1;
      if (empties >= MAX_EMPTY_READS || ctx.remainingMs() <= 0) {
        return {
          topic: p.topic,
          partition: p.partition,
          at: range.next,
          reason: `the quarantine partition ${p.quarantinePartition} could not be read past offset ${at} to find records an earlier invocation wrote; nothing copied, so as not to copy twice`,
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
        src?.topic === p.topic &&
        src.partition === p.partition &&
        src.offset >= range.next &&
        src.offset < range.to
      ) {
        max = Math.max(max, src.offset);
        count += 1;
      }
    }
    at = read.nextOffset;
  }
  if (max >= 0) {
    ctx.deps.logger.warn('failback salvage: resuming after records already in quarantine', {
      topic: p.topic,
      partition: p.partition,
      found: count,
    });
    p.copied += count;
    p.absent += max + 1 - range.next - count;
    range.next = max + 1;
  }
  p.quarantineMark = q.high;
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

function provenanceOf(r: Pick<CopiedRecord, 'headers'>): PartitionPosition | undefined {
  const get = (k: string): string | undefined => {
    const v = r.headers[k];
    const b = Array.isArray(v) ? v[v.length - 1] : v;
    return b?.toString();
  };
  const topic = get(PROVENANCE.topic);
  const partition = Number(get(PROVENANCE.partition));
  const offset = Number(get(PROVENANCE.offset));
  if (topic === undefined || !Number.isInteger(partition) || !Number.isInteger(offset)) return undefined;
  return { topic, partition, offset };
}

const size = (ranges: ReadonlyArray<{ from: number; to: number }>): number =>
  ranges.reduce((n, r) => n + Math.max(0, r.to - r.from), 0);

export function salvageSummary(salvage: { partitions: Record<string, SalvagePartition> } | undefined) {
  const partitions = Object.values(salvage?.partitions ?? {}).map((p) => ({
    topic: p.topic,
    partition: p.partition,
    lastReplicated: p.lastReplicated,
    measuredBy: p.source,
    primaryLogEnd: p.logEnd,
    toSalvage: size(p.ranges),
    /** Replicated records copied too: the secondary cannot be proven to still hold them. */
    unprovenReplicated: size(p.ranges.filter((r) => r.kind === 'unproven')),
    salvaged: p.copied,
    provenAbsent: p.absent,
    lostToRetention: size(p.lost),
    remaining: p.ranges.reduce((n, r) => n + Math.max(0, r.to - r.next), 0),
  }));
  return {
    partitions,
    totalSalvaged: partitions.reduce((n, p) => n + p.salvaged, 0),
    totalRemaining: partitions.reduce((n, p) => n + p.remaining, 0),
    totalLostToRetention: partitions.reduce((n, p) => n + p.lostToRetention, 0),
  };
}
