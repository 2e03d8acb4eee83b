import type { OffsetSync, TimedOffsetSync } from '../kafka/mm2-internal-topics.ts';
import type { Offset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { FailbackCluster, PartitionOffsets } from './cluster-ops.ts';

/**
 * Proof that a replicated record of the primary is still on the secondary, from MM2's offset syncs.
 *
 * A sync (u, d) says the record at upstream offset u was written at downstream offset d. MM2 copies a partition
 * in order and resumes at or before where it stopped, so a record at upstream x ≥ u has a copy at downstream
 * ≥ d. Retention (and DeleteRecords) only ever removes a prefix of the secondary's log, so that copy still exists
 * when the secondary's log start is at or below d: the newest bound is the largest d of any sync with u ≤ x.
 * With no sync at or below x the only bound is 0, which proves something only when the secondary never
 * deleted anything (log start 0). A sync whose downstream offset is past the secondary's log end means the
 * topic was recreated or truncated there: nothing is proven then.
 */

/**
 * Every offset sync still readable in a flow's offset-syncs topics (`offsetSyncsLocations`), per source
 * partition ({@link tpKey}); an unreadable topic adds none.
 */
export async function syncHistory(
  locations: ReadonlyArray<{ cluster: Pick<FailbackCluster, 'readOffsetSyncs'>; topic: string }>,
): Promise<Map<string, TimedOffsetSync[]>> {
  const byPartition = new Map<string, TimedOffsetSync[]>();
  for (const { cluster, topic } of locations) {
    let syncs: TimedOffsetSync[];
    try {
      syncs = await cluster.readOffsetSyncs(topic);
    } catch {
      // Fewer syncs only weaken the proof: more is salvaged, nothing is trusted that was not read.
      continue;
    }
    for (const s of syncs) {
      const k = tpKey(s.topic, s.partition);
      byPartition.set(k, [...(byPartition.get(k) ?? []), s]);
    }
  }
  return byPartition;
}

/**
 * The lowest upstream offset in [from, to) from which on every replicated record provably has a copy on the
 * secondary; `to` when none does. Records in [from, result) cannot be proven to exist there.
 */
export function firstProvable(
  syncs: ReadonlyArray<Pick<OffsetSync, 'upstreamOffset' | 'downstreamOffset'>>,
  secondary: Pick<PartitionOffsets, 'low' | 'high'> | undefined,
  from: Offset,
  to: Offset,
): Offset {
  if (from >= to) return to;
  if (secondary === undefined) return to;
  if (syncs.some((s) => s.downstreamOffset >= secondary.high)) return to;
  if (secondary.low === 0) return from;
  let first = to;
  for (const s of syncs) {
    if (s.downstreamOffset >= secondary.low) first = Math.min(first, s.upstreamOffset);
  }
  return Math.min(to, Math.max(from, first));
}

/** Syncs kept in the journal per partition at most: a subset bounds less tightly, never wrongly. */
const SAMPLE = 32;

/**
 * The syncs that matter for proving [from, to), at most {@link SAMPLE}: the tightest bound at `from`, the first
 * sync that proves against the secondary's log start now, and the rest spread evenly (later log starts).
 */
export function sampleSyncs(
  syncs: ReadonlyArray<Pick<OffsetSync, 'upstreamOffset' | 'downstreamOffset'>>,
  from: Offset,
  to: Offset,
  secondaryLow: Offset | undefined,
): Array<Pick<OffsetSync, 'upstreamOffset' | 'downstreamOffset'>> {
  const relevant = syncs
    .filter((s) => s.upstreamOffset < to)
    .map((s) => ({ upstreamOffset: s.upstreamOffset, downstreamOffset: s.downstreamOffset }))
    .sort((a, b) => a.upstreamOffset - b.upstreamOffset || a.downstreamOffset - b.downstreamOffset);
  if (relevant.length <= SAMPLE) return relevant;
  const keep = new Set<number>();
  let atFrom = -1;
  relevant.forEach((s, i) => {
    if (
      s.upstreamOffset <= from &&
      (atFrom < 0 || s.downstreamOffset >= (relevant[atFrom]?.downstreamOffset ?? 0))
    )
      atFrom = i;
  });
  if (atFrom >= 0) keep.add(atFrom);
  const proving = relevant.findIndex((s) => secondaryLow !== undefined && s.downstreamOffset >= secondaryLow);
  if (proving >= 0) keep.add(proving);
  for (let i = 0; keep.size < SAMPLE && i < SAMPLE; i += 1) {
    keep.add(Math.round((i * (relevant.length - 1)) / (SAMPLE - 1)));
  }
  return [...keep].sort((a, b) => a - b).flatMap((i) => relevant[i] ?? []);
}

/**
 * Offsets of the secondary that it deleted after the reverse mirror was asked for and before the mirror copied
 * them. `logStartThen` is the secondary's log start when the flow was asked for; the flow starts at the earliest
 * offset when it first reads, which is where MM2 writes its first sync for the partition (`syncs`: the reverse
 * flow's, written since it was asked for); `copiedTo` is the last offset it copied. Without a sync of this flow,
 * where it started is unknown and everything deleted since is counted.
 */
export function reverseGap(
  logStartThen: Offset,
  logStartNow: Offset,
  syncs: ReadonlyArray<Pick<OffsetSync, 'upstreamOffset'>>,
  copiedTo: Offset,
): Array<{ from: Offset; to: Offset }> {
  if (logStartNow <= logStartThen) return [];
  const startedAt = syncs.length === 0 ? undefined : Math.min(...syncs.map((s) => s.upstreamOffset));
  if (startedAt === undefined) return [{ from: logStartThen, to: logStartNow }];
  return uncovered(logStartThen, logStartNow, [{ from: startedAt, to: copiedTo + 1 }]);
}

/** The parts of [from, to) that none of `covered` holds, in order. */
export function uncovered(
  from: Offset,
  to: Offset,
  covered: ReadonlyArray<{ from: Offset; to: Offset }>,
): Array<{ from: Offset; to: Offset }> {
  const out: Array<{ from: Offset; to: Offset }> = [];
  let at = from;
  for (const c of [...covered].sort((a, b) => a.from - b.from)) {
    if (c.to <= at) continue;
    if (c.from >= to) break;
    if (c.from > at) out.push({ from: at, to: c.from });
    at = Math.max(at, c.to);
  }
  if (at < to) out.push({ from: at, to });
  return out;
}
