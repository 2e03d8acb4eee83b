import type { TimedOffsetSync } from '../kafka/mm2-internal-topics.ts';
import type { Offset } from '../kafka/offset.ts';
import { replicationPolicy } from '../kafka/replication-policy.ts';
import { parseTpKey, tpKey } from '../kafka/topic-partition.ts';
import { progressOf } from './catch-up.ts';
import type { PartitionOffsets } from './cluster-ops.ts';
import { type CopyJob, type CopyOutcome, copyAll } from './partition-copy.ts';
import { type PhaseContext, type PhaseOutcome, waitingForMirror } from './phase-context.ts';
import { syncHistory } from './replica-proof.ts';
import { refuseUnlessSwitchHolds } from './restore.ts';
import { offsetSyncsLocations } from './salvage.ts';
import type { CopyBackPartition, CopyBackRange } from './state.ts';

/**
 * Copy-back: failback of an active-passive deployment with the default (prefixing) replication policy.
 *
 * After the failover, clients wrote into `primary.orders` on the secondary, beside what MM2 had copied there. MM2
 * will not mirror `primary.orders` back into the primary (it skips topics that came from its target, and it cannot
 * rename them), so failback copies those records itself, into `orders` on the primary, appended after what the
 * primary holds: nothing on the primary is deleted. Per partition, exactly once, resumable (partition-copy.ts:
 * journaled progress, provenance headers read back from the primary's tail after a crash).
 *
 * Where the clients' records begin is measured from MM2's own offset syncs, with the forward mirror stopped:
 * - the syncs written before the failover switched end MM2's first run: it wrote upstream u at downstream d, and
 *   each next upstream record at the next downstream offset until the next sync;
 * - a sync written after the failover is MM2 resuming once the primary came back: its records (the primary's tail)
 *   sit between the clients' and are not copied back (they are on the primary already).
 * MM2 writes a sync whenever its downstream position drifts from the upstream one by more than `offset.lag.max`,
 * so with `offset.lag.max = 0` every record a client wrote in between shows as such a drift and the ranges are
 * exact. With a larger `offset.lag.max`, up to that many client records next to a resumption could be taken for
 * MM2's (docs/failback.md, "Default replication policy").
 *
 * The source topic is a parameter: by default the prefixed topic clients wrote to (`<primary alias>.<topic>`);
 * a deployment whose clients write a local `<topic>` on the secondary passes that instead.
 */

/** Batches of progress kept to translate group offsets (a lower bound: fewer samples, more re-read, never less). */
const MAX_SAMPLES = 64;

export type SourceTopicOf = (topic: string) => string;

/** The topic clients wrote to on the secondary after the failover, in the default policy's first variant. */
function prefixedSource(config: PhaseContext['deps']['config']): SourceTopicOf {
  const policy = replicationPolicy(config);
  return (topic) => policy.formatRemoteTopic(config.clusters.primary.alias, topic);
}

/**
 * The ranges of one source partition to copy back: [from, logEnd) minus what MM2 wrote after the failover.
 * `syncs` are the forward flow's offset syncs of the upstream partition, `lastReplicated` the last upstream offset
 * MM2 copied (exact: the forward mirror is stopped), `failoverAt` when the failover switched (epoch ms).
 */
export function copyBackRanges(
  syncs: readonly TimedOffsetSync[],
  lastReplicated: Offset,
  failoverAt: number,
  log: Pick<PartitionOffsets, 'low' | 'high'>,
): { from: Offset; ranges: CopyBackRange[]; mm2After: Array<{ from: Offset; to: Offset }> } {
  const sorted = [...syncs].sort((a, b) => a.upstreamOffset - b.upstreamOffset);
  // MM2's run from sync i: upstream [u_i, end) at downstream [d_i, d_i + end - u_i), until the next sync.
  const run = (i: number): { from: Offset; to: Offset } => {
    const s = sorted[i] as TimedOffsetSync;
    const end = Math.min(sorted[i + 1]?.upstreamOffset ?? lastReplicated + 1, lastReplicated + 1);
    return { from: s.downstreamOffset, to: s.downstreamOffset + Math.max(0, end - s.upstreamOffset) };
  };
  const lastBefore = sorted.findLastIndex((s) => s.writtenAt < failoverAt);
  const firstRunEnd = lastBefore < 0 ? log.low : run(lastBefore).to;
  const from = Math.min(Math.max(firstRunEnd, log.low), log.high);
  const mm2After = sorted
    .map((s, i) => ({ s, i }))
    .filter(({ s, i }) => s.writtenAt >= failoverAt && i > lastBefore)
    .map(({ i }) => run(i))
    .filter((r) => r.to > r.from && r.to > from)
    .sort((a, b) => a.from - b.from);
  const ranges: CopyBackRange[] = [];
  let at = from;
  for (const skip of mm2After) {
    if (skip.from > at) ranges.push({ from: at, to: Math.min(skip.from, log.high), next: at });
    at = Math.max(at, skip.to);
  }
  // The last range always exists and ends at the log end: catch-up and restore extend it as clients write on.
  const tail = Math.min(at, log.high);
  ranges.push({ from: tail, to: log.high, next: tail });
  return { from, ranges: ranges.filter((r, i) => r.to > r.from || i === ranges.length - 1), mm2After };
}

/** When the failover this failback undoes switched clients to the secondary (epoch ms). */
async function failoverTime(ctx: PhaseContext): Promise<number> {
  const { deps, state } = ctx;
  const record = await deps.authority.read();
  if (record?.epoch === state.startEpoch && record.cluster === 'secondary') {
    return Date.parse(record.writtenAt ?? record.claimedAt);
  }
  // A failover by a version before the epoch authority: the failback's own start is later than the switch and
  // earlier than MM2 could resume only if the forward mirror was stopped; the journal says which was used.
  return Date.parse(state.startedAt);
}

/**
 * The `reverse` phase under the default policy: stop the forward mirror, measure where the clients' records are,
 * copy them back. Resumable at every step.
 */
export async function runCopyBack(
  ctx: PhaseContext,
  sourceTopicOf: SourceTopicOf = prefixedSource(ctx.deps.config),
): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
  if (!state.copyBack?.forwardStopped) {
    const stopped = await ctx.mirror.stopForward();
    if (!stopped.done) return waitingForMirror(stopped);
    state.copyBack = {
      forwardStopped: true,
      failoverAt: new Date(await failoverTime(ctx)).toISOString(),
      partitions: {},
    };
    await ctx.save();
    deps.logger.info('failback copy-back: forward mirror stopped', { detail: stopped.detail });
  }
  const copyBack = state.copyBack;
  if (copyBack === undefined) throw new Error('unreachable: copy-back state missing');
  if (Object.keys(copyBack.partitions).length === 0) {
    await measureCopyBack(ctx, sourceTopicOf, Date.parse(copyBack.failoverAt));
  }
  const copied = await copyBackAll(ctx);
  const summary = copyBackSummary(state.copyBack);
  if (copied.kind === 'done') return { kind: 'done', summary };
  return {
    kind: 'deadline',
    summary: copied.kind === 'stalled' ? { ...summary, stalled: copied.stalled } : summary,
  };
}

async function measureCopyBack(
  ctx: PhaseContext,
  sourceTopicOf: SourceTopicOf,
  failoverAt: number,
): Promise<void> {
  const { deps, state } = ctx;
  const copyBack = state.copyBack;
  if (copyBack === undefined) throw new Error('copy-back has not started');
  const history = await syncHistory(offsetSyncsLocations(ctx, 'forward'));
  const exact = await ctx.mirror.lastReplicated('forward');
  const targets = new Map(
    (await deps.primary.offsets(deps.config.topics)).map((o) => [tpKey(o.topic, o.partition), o]),
  );
  for (const topic of deps.config.topics) {
    const sourceTopic = sourceTopicOf(topic);
    for (const o of await deps.secondary.offsets([sourceTopic])) {
      const key = tpKey(topic, o.partition);
      const syncs = history.get(key) ?? [];
      const last =
        exact?.find((p) => p.topic === topic && p.partition === o.partition)?.offset ??
        Math.max(-1, ...syncs.map((s) => s.upstreamOffset));
      // Identity of source and target (a local topic on the secondary, variant two) has no MM2 records in it.
      const local = sourceTopic === topic;
      const measured = local
        ? { from: o.low, ranges: [{ from: o.low, to: o.high, next: o.low }], mm2After: [] }
        : copyBackRanges(syncs, last, failoverAt, o);
      const target = targets.get(key);
      if (target === undefined) {
        throw new Error(
          `copy-back: ${topic} partition ${o.partition} is missing on the primary (expected it beside ${sourceTopic} on the secondary)`,
        );
      }
      copyBack.partitions[key] = {
        topic,
        partition: o.partition,
        sourceTopic,
        from: measured.from,
        ranges: measured.ranges,
        mm2After: measured.mm2After,
        copied: 0,
        absent: 0,
        lost: [],
        targetStart: target.high,
        targetMark: target.high,
        samples: [],
      };
    }
  }
  await ctx.save();
}

function copyBackJob(ctx: PhaseContext, p: CopyBackPartition): CopyJob {
  return {
    source: { cluster: ctx.deps.secondary, topic: p.sourceTopic, partition: p.partition },
    target: { cluster: ctx.deps.primary, topic: p.topic, partition: p.partition },
    progress: p,
    mark: {
      get: () => p.targetMark,
      set: (offset) => {
        p.targetMark = offset;
      },
    },
    onBatch: (source, target, count, lastSource) => addSample(p, source, target, count, lastSource),
    label: 'failback copy-back',
  };
}

/**
 * Keep at most {@link MAX_SAMPLES} batch starts, thinning evenly: any subset still bounds from below. A batch whose
 * records sat at consecutive source offsets (no marker, compaction gap or skipped range inside) is `dense`: an
 * offset inside it translates exactly, not to the batch's start.
 */
function addSample(
  p: CopyBackPartition,
  source: Offset,
  target: Offset,
  count: number,
  lastSource: Offset,
): void {
  const last = p.samples[p.samples.length - 1];
  if (last !== undefined && last.source >= source) return;
  p.samples.push({ source, target, ...(lastSource - source + 1 === count ? { dense: count } : {}) });
  if (p.samples.length > MAX_SAMPLES)
    p.samples = p.samples.filter((_, i) => i % 2 === 0 || i === p.samples.length - 1);
}

/** Every partition's remaining ranges, partitions at once (each writes its own primary partition). */
function copyBackAll(ctx: PhaseContext): Promise<CopyOutcome> {
  const copyBack = ctx.state.copyBack;
  if (copyBack === undefined) throw new Error('copy-back has not measured anything');
  return copyAll(
    ctx,
    Object.values(copyBack.partitions).map((p) => [copyBackJob(ctx, p)]),
  );
}

/**
 * Extend every partition's last range to the source's log end now (clients on the secondary kept writing) and
 * report how many records that leaves to copy.
 */
async function extendToEnd(ctx: PhaseContext): Promise<number> {
  const copyBack = ctx.state.copyBack;
  if (copyBack === undefined) throw new Error('copy-back has not measured anything');
  const bySource = new Map<string, CopyBackPartition>();
  for (const p of Object.values(copyBack.partitions)) bySource.set(tpKey(p.sourceTopic, p.partition), p);
  const sources = [...new Set(Object.values(copyBack.partitions).map((p) => p.sourceTopic))];
  let remaining = 0;
  for (const o of await ctx.deps.secondary.offsets(sources)) {
    const p = bySource.get(tpKey(o.topic, o.partition));
    const last = p?.ranges[p.ranges.length - 1];
    if (p === undefined || last === undefined) continue;
    if (o.high > last.to) last.to = o.high;
    remaining += p.ranges.reduce((n, r) => n + Math.max(0, r.to - r.next), 0);
  }
  return remaining;
}

/**
 * Copy until at most `threshold` records are left (catch-up), or until the source stops growing on two
 * measurements in a row (restore: clients have left the secondary). Returns the outcome and what was left.
 */
async function copyBackUntil(
  ctx: PhaseContext,
  until: { threshold: number } | 'drained',
): Promise<{ outcome: CopyOutcome; remaining: number }> {
  let quiet = 0;
  for (;;) {
    const remaining = await extendToEnd(ctx);
    await ctx.save();
    if (until !== 'drained' && remaining <= until.threshold) return { outcome: { kind: 'done' }, remaining };
    if (until === 'drained') {
      quiet = remaining === 0 ? quiet + 1 : 0;
      if (quiet >= 2) return { outcome: { kind: 'done' }, remaining };
    }
    const outcome = await copyBackAll(ctx);
    if (outcome.kind !== 'done') return { outcome, remaining };
    if (until === 'drained' && remaining === 0) {
      if (ctx.remainingMs() < 2_000) return { outcome: { kind: 'deadline' }, remaining };
      await ctx.pause(1_000);
    }
  }
}

/**
 * `catch-up` under the default policy: keep copying until at most `failback.catchUpMaxLagRecords` records are
 * left on the secondary, reporting progress like the reverse mirror's catch-up.
 */
export async function runCopyBackCatchUp(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
  const threshold = deps.config.failback.catchUpMaxLagRecords;
  const { outcome, remaining } = await copyBackUntil(ctx, { threshold });
  const at = new Date(deps.clock.now()).toISOString();
  const first = state.catchUp?.first ?? { at, remaining };
  const direction = `${deps.config.clusters.secondary.alias}->${deps.config.clusters.primary.alias} (copy-back)`;
  state.catchUp = { first, last: { at, remaining }, directions: { [direction]: remaining } };
  ctx.progress = progressOf(first, { at, remaining }, { [direction]: remaining }, threshold);
  await ctx.save();
  if (outcome.kind === 'done') return { kind: 'done', summary: ctx.progress };
  return {
    kind: 'deadline',
    summary: outcome.kind === 'stalled' ? { ...ctx.progress, stalled: outcome.stalled } : ctx.progress,
  };
}

/**
 * `restore` under the default policy: copy what clients still wrote on the secondary until it stops growing, then
 * start the forward mirror from the producer cut, so that it copies what clients write to the primary and a second
 * failover finds it on the secondary. Records copied back after the cut reach the secondary a second time through
 * the forward mirror: counted as `duplicatesOnSecondary`.
 */
export async function runCopyBackRestore(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { state } = ctx;
  const cut = state.switch?.producerCut;
  if (cut === undefined) throw new Error('restore needs the producer cut from switch');
  await refuseUnlessSwitchHolds(ctx);
  state.restore ??= {
    reverseStopped: false,
    forwardOffsetsSet: false,
    forwardStarted: false,
    duplicatesOnSecondary: null,
    secondaryRebuilt: false,
    rebuildConfirmed: false,
  };
  const r = state.restore;
  if (!r.reverseStopped) {
    const { outcome } = await copyBackUntil(ctx, 'drained');
    if (outcome.kind !== 'done') {
      return {
        kind: 'deadline',
        summary: {
          drainingCopyBack: true,
          ...copyBackSummary(state.copyBack),
          ...(outcome.kind === 'stalled' ? { stalled: outcome.stalled } : {}),
        },
      };
    }
    let duplicates = 0;
    for (const p of Object.values(state.copyBack?.partitions ?? {})) {
      duplicates += Math.max(0, p.targetMark - (cut[tpKey(p.topic, p.partition)] ?? p.targetMark));
    }
    // A controller that cannot position the forward flow resumes it where it stopped: more comes twice, uncounted.
    r.duplicatesOnSecondary = ctx.mirror.canSetForwardOffsets ? duplicates : null;
    // Nothing to remove: no reverse flow ran. The flag says the secondary → primary direction is finished.
    r.reverseStopped = true;
    await ctx.save();
  }
  if (!r.forwardStarted) {
    // Without offsets to set (Aiven, manual), the forward flow resumes where it stopped: it would copy the
    // copied-back records into `<primary alias>.<topic>` again, so those controllers are told the cut as well.
    const startAt = Object.entries(cut).map(([k, offset]) => ({ ...parseTpKey(k), offset }));
    const started = await ctx.mirror.startForward(startAt);
    if (!started.done) return waitingForMirror(started);
    r.forwardOffsetsSet = ctx.mirror.canSetForwardOffsets;
    r.forwardStarted = true;
    await ctx.save();
  }
  return {
    kind: 'done',
    summary: {
      forwardRestartedAt: cut,
      duplicatesOnSecondary: r.duplicatesOnSecondary,
      copyBack: copyBackSummary(state.copyBack),
    },
  };
}

/**
 * A consumer group's committed offset on the source partition (the next offset it would read), as an offset in the
 * target partition, from the last sampled batch that starts at or before it: within a dense batch exactly (the
 * records before `committed` were read: that many of the batch are skipped), past its end the batch's end, and in a
 * batch with gaps its start (the group re-reads at most that batch, never skips a record). `undefined` when the
 * offset is before the clients' records (the group keeps its offset on the primary).
 */
export function translateCopiedOffset(
  p: Pick<CopyBackPartition, 'from' | 'ranges' | 'targetStart' | 'targetMark' | 'samples'>,
  committed: Offset,
): Offset | undefined {
  if (committed < p.from) return undefined;
  const done = p.ranges.every((r) => r.next >= r.to);
  const end = p.ranges[p.ranges.length - 1]?.to ?? p.from;
  if (done && committed >= end) return p.targetMark;
  let at = p.targetStart;
  for (const s of p.samples) {
    if (s.source > committed) break;
    at = s.dense === undefined ? s.target : s.target + Math.min(committed - s.source, s.dense);
  }
  return at;
}

const size = (ranges: ReadonlyArray<{ from: number; to: number }>): number =>
  ranges.reduce((n, r) => n + Math.max(0, r.to - r.from), 0);

function copyBackSummary(copyBack: { partitions: Record<string, CopyBackPartition> } | undefined) {
  const partitions = Object.values(copyBack?.partitions ?? {}).map((p) => ({
    topic: p.topic,
    partition: p.partition,
    sourceTopic: p.sourceTopic,
    from: p.from,
    /** What MM2 wrote among the clients' records after the failover (the primary holds those already). */
    mm2Skipped: size(p.mm2After),
    copied: p.copied,
    provenAbsent: p.absent,
    lostToRetention: size(p.lost),
    remaining: p.ranges.reduce((n, r) => n + Math.max(0, r.to - r.next), 0),
  }));
  return {
    partitions,
    totalCopied: partitions.reduce((n, p) => n + p.copied, 0),
    totalRemaining: partitions.reduce((n, p) => n + p.remaining, 0),
    totalLostToRetention: partitions.reduce((n, p) => n + p.lostToRetention, 0),
  };
}

type GroupTranslation = {
  group: string;
  committed: number;
  untranslated: string[];
  alreadyAt: string[];
  skipped?: string;
};

/** What the consumers' stage waits on under copy-back: the groups translated, or the copy they need first. */
type CopiedGroups =
  | { kind: 'translated'; groups: GroupTranslation[] }
  | { kind: 'copying'; outcome: PhaseOutcome };

/**
 * One round of copying to the source's log end as it is now (clients on the secondary keep writing: what they
 * write during the round is left for the next).
 */
async function copyToEnd(ctx: PhaseContext): Promise<CopyOutcome> {
  // Nothing measured (the switch driven on its own, as the switch protocol tests do): nothing to copy.
  if (ctx.state.copyBack === undefined) return { kind: 'done' };
  await extendToEnd(ctx);
  await ctx.save();
  return copyBackAll(ctx);
}

/**
 * The consumer groups' positions on the secondary, moved to the primary: for each partition a group committed on
 * the source topic at or past the clients' first record, the translated offset is committed on the primary where the
 * group is behind it (the switch has waited for the groups to have no members there).
 *
 * Every record a group has read on the secondary is copied before its position is translated. Catch-up stops with
 * up to `catchUpMaxLagRecords` left, and the wait for idle groups on the primary lasts up to
 * `groupIdleWaitSeconds` while consumers still read on the secondary and clients still write there: a position past
 * the copy's end can only translate to the copy's end, and every record read in between would be copied after it
 * and read a second time on the primary (the drill read ~370 twice that way at ~18 records/s: 12 left by catch-up,
 * 16 s of waiting, the consumers' drain). So: a round to the log end (the backlog), the groups' positions then, and
 * a round to the log end again, which now lies past every one of those positions. What consumers read on the
 * secondary after that snapshot, until they leave it after the stage is written (their watcher's poll, the drain's
 * settle time), is read again on the primary: that residue is the switch's, not the copy's.
 */
export async function translateCopiedGroups(ctx: PhaseContext): Promise<CopiedGroups> {
  const { deps, state } = ctx;
  const partitions = Object.values(state.copyBack?.partitions ?? {});
  const bySource = new Map(partitions.map((p) => [tpKey(p.sourceTopic, p.partition), p]));
  const sources = [...new Set(partitions.map((p) => p.sourceTopic))];
  const producerCut = state.switch?.producerCut;
  const backlog = await copyToEnd(ctx);
  if (backlog.kind !== 'done') return copying(ctx, backlog);
  const positions = new Map<string, Array<{ topic: string; partition: number; offset: Offset }>>();
  for (const group of deps.config.consumerGroups) {
    positions.set(group, await deps.secondary.committedOffsets(group, sources));
  }
  const rest = await copyToEnd(ctx);
  if (rest.kind !== 'done') return copying(ctx, rest);
  const results: GroupTranslation[] = [];
  for (const [group, onSecondary] of positions) {
    const onPrimary = new Map(
      (await deps.primary.committedOffsets(group, deps.config.topics)).map((o) => [
        tpKey(o.topic, o.partition),
        o.offset,
      ]),
    );
    const byTopic = new Map<string, Array<{ partition: number; offset: Offset }>>();
    const untranslated: string[] = [];
    // Partitions whose offset on the primary is already at or past the translation (say so: nothing is silent).
    const alreadyAt: string[] = [];
    for (const o of onSecondary) {
      const p = bySource.get(tpKey(o.topic, o.partition));
      const copied = p === undefined ? undefined : translateCopiedOffset(p, o.offset);
      const cut = p === undefined ? undefined : producerCut?.[tpKey(p.topic, p.partition)];
      // Producers first: from the cut on, the primary holds producers' own records among the copies, none read yet.
      const translated = copied === undefined || cut === undefined ? copied : Math.min(copied, cut);
      if (p === undefined || translated === undefined) {
        untranslated.push(tpKey(o.topic, o.partition));
        continue;
      }
      const current = onPrimary.get(tpKey(p.topic, p.partition)) ?? -1;
      if (current >= translated) {
        alreadyAt.push(`${tpKey(p.topic, p.partition)}@${current}>=${translated}`);
        continue;
      }
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partition: p.partition, offset: translated }]);
    }
    let committed = 0;
    for (const [topic, offsets] of byTopic) {
      await deps.primary.commitOffsets(group, topic, offsets);
      committed += offsets.length;
    }
    results.push({ group, committed, untranslated, alreadyAt });
  }
  return { kind: 'translated', groups: results };
}

/** The consumers' stage waits for the copy: the next invocation copies on, then translates. */
function copying(ctx: PhaseContext, outcome: Exclude<CopyOutcome, { kind: 'done' }>): CopiedGroups {
  const summary = { copyingBeforeTranslation: true, ...copyBackSummary(ctx.state.copyBack) };
  return {
    kind: 'copying',
    outcome: {
      kind: 'deadline',
      summary: outcome.kind === 'stalled' ? { ...summary, stalled: outcome.stalled } : summary,
    },
  };
}
