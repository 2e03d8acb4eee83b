import type { OffsetSync } from '../kafka/mm2-internal-topics.ts';
import { offsetSyncsTopic, replicationPolicy } from '../kafka/replication-policy.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { FailbackCluster, PartitionOffsets } from './cluster-ops.ts';
import type { MirrorController } from './mirror-controller.ts';
import { type CopyJob, type CopyOutcome, copyAll } from './partition-copy.ts';
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

/** The quarantine topic keeps what it holds until an operator deletes it: it may hold the only copy. */
const QUARANTINE_CONFIGS = { 'retention.ms': '-1', 'retention.bytes': '-1' };

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

/**
 * Copy every partition's remaining ranges; resumable at any point. Partitions that write to different quarantine
 * partitions are copied at once (the marks and the crash scan are per quarantine partition, so those sharing one
 * go one after another).
 */
export async function copyTails(ctx: PhaseContext): Promise<CopyOutcome> {
  const salvage = ctx.state.salvage;
  if (salvage === undefined) throw new Error('salvage has not measured anything');
  const groups = new Map<number, CopyJob[]>();
  for (const p of Object.values(salvage.partitions)) {
    const job = salvageJob(ctx, p, salvage.quarantineTopic);
    groups.set(p.quarantinePartition, [...(groups.get(p.quarantinePartition) ?? []), job]);
  }
  return copyAll(ctx, [...groups.values()]);
}

/** Salvage as a partition copy: the primary's tail into its quarantine partition on the secondary. */
function salvageJob(ctx: PhaseContext, p: SalvagePartition, quarantine: string): CopyJob {
  return {
    source: { cluster: ctx.deps.primary, topic: p.topic, partition: p.partition },
    target: { cluster: ctx.deps.secondary, topic: quarantine, partition: p.quarantinePartition },
    progress: p,
    mark: {
      get: () => p.quarantineMark,
      set: (offset) => {
        p.quarantineMark = offset;
      },
    },
    label: 'failback salvage',
  };
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
