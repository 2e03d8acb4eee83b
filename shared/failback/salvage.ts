import type { OffsetSync } from '../kafka/mm2-internal-topics.ts';
import { offsetSyncsTopic, replicationPolicy } from '../kafka/replication-policy.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { CopiedRecord, FailbackCluster, PartitionOffsets } from './cluster-ops.ts';
import type { MirrorController, PartitionPosition } from './mirror-controller.ts';
import { type PhaseContext, type PhaseOutcome, waitingForMirror } from './phase-context.ts';
import type { SalvagePartition } from './state.ts';

/**
 * Salvage: copy the primary's records that never reached the secondary into the quarantine topic there.
 *
 * "Never reached" is measured, not guessed: the forward mirror is stopped first (on Kafka Connect that flushes
 * its source offsets), then per partition the tail is [last replicated upstream offset + 1, primary log end).
 * The last replicated offset comes from MM2's own source offsets when the controller can read them (exact), or
 * else from the newest offset sync (conservative: up to `offset.lag.max` records may then be both on the secondary
 * and in quarantine; never one in neither). A forward mirror that copied part of the tail by itself after the
 * primary came back is thereby accounted for.
 *
 * Copies keep key, value, headers and timestamp, and add provenance headers; progress is journaled after every
 * batch, and a re-run first scans the quarantine partition past the journaled mark for records it already wrote
 * (a crash between a write and its journal entry), so nothing is copied twice.
 */

export const PROVENANCE = {
  cluster: 'mm2-failover.source-cluster',
  topic: 'mm2-failover.source-topic',
  partition: 'mm2-failover.source-partition',
  offset: 'mm2-failover.source-offset',
} as const;

/**
 * Records per read (and journal entry). Each read joins a throw-away consumer group (a few seconds), so reads are
 * large; the adapter also stops at 32 MiB, and writes go out in requests of at most 512 KiB.
 */
const BATCH = 20_000;

/** Where each partition's replication stopped, exact when possible. */
export async function lastReplicatedPositions(
  mirror: MirrorController,
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
  const positions = new Map<string, number>();
  for (const { cluster, topic } of syncs) {
    let list: OffsetSync[];
    try {
      list = await cluster.readOffsetSyncs(topic);
    } catch {
      continue;
    }
    for (const s of list) {
      const k = tpKey(s.topic, s.partition);
      positions.set(k, Math.max(positions.get(k) ?? -1, s.upstreamOffset));
    }
  }
  return { positions, source: 'offset-syncs' };
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
  quarantinePartitions: number,
  quarantineHighs: Map<number, number>,
): Promise<SalvagePartition[]> {
  const { positions, source } = await lastReplicatedPositions(
    ctx.mirror,
    'forward',
    offsetSyncsLocations(ctx, 'forward'),
  );
  return primaryOffsets.map((o) => {
    const last = positions.get(tpKey(o.topic, o.partition));
    const from = Math.max((last ?? -1) + 1, o.low);
    const q = o.partition % quarantinePartitions;
    return {
      topic: o.topic,
      partition: o.partition,
      lastReplicated: last ?? -1,
      source: last === undefined ? 'none' : source,
      logStart: o.low,
      logEnd: o.high,
      next: Math.min(from, o.high),
      copied: 0,
      quarantinePartition: q,
      quarantineMark: quarantineHighs.get(q) ?? 0,
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
    const qCount = await deps.secondary.ensureTopic(quarantine, partitions);
    const qHighs = new Map((await deps.secondary.offsets([quarantine])).map((o) => [o.partition, o.high]));
    for (const p of await measureTail(ctx, primaryOffsets, qCount, qHighs)) {
      salvage.partitions[tpKey(p.topic, p.partition)] = p;
    }
    await ctx.save();
  }
  const result = await copyTails(ctx);
  if (result === 'deadline') return { kind: 'deadline', summary: salvageSummary(state.salvage) };
  return { kind: 'done', summary: salvageSummary(state.salvage) };
}

/** Copy every partition's remaining tail; resumable at any point. */
export async function copyTails(ctx: PhaseContext): Promise<'done' | 'deadline'> {
  const salvage = ctx.state.salvage;
  if (salvage === undefined) throw new Error('salvage has not measured anything');
  const scanned = new Set<string>();
  for (const p of Object.values(salvage.partitions)) {
    const key = tpKey(p.topic, p.partition);
    while (p.next < p.logEnd) {
      if (ctx.remainingMs() <= 0) return 'deadline';
      if (!scanned.has(key)) {
        await resumeFromQuarantine(ctx, p);
        scanned.add(key);
        if (p.next >= p.logEnd) break;
      }
      const read = await ctx.deps.primary.read(
        p.topic,
        [{ partition: p.partition, from: p.next, to: p.logEnd }],
        BATCH,
      );
      const records = read.get(p.partition) ?? [];
      if (records.length === 0) {
        // Nothing left in range: the rest are control records or were compacted away.
        ctx.deps.logger.warn('failback salvage: no records left in range', { ...p });
        p.next = p.logEnd;
        await ctx.save();
        break;
      }
      const base = await ctx.deps.secondary.append(
        salvage.quarantineTopic,
        p.quarantinePartition,
        records.map((r) => withProvenance(r, ctx.deps.primary.alias, p.topic, p.partition)),
      );
      const last = records[records.length - 1] as CopiedRecord;
      p.copied += records.length;
      p.next = last.offset + 1;
      if (base >= 0) p.quarantineMark = base + records.length;
      await ctx.save();
    }
  }
  return 'done';
}

/** Records of this source partition already in quarantine past the journaled mark (a crash before the journal). */
async function resumeFromQuarantine(ctx: PhaseContext, p: SalvagePartition): Promise<void> {
  const salvage = ctx.state.salvage;
  if (salvage === undefined) return;
  const q = (await ctx.deps.secondary.offsets([salvage.quarantineTopic])).find(
    (o) => o.partition === p.quarantinePartition,
  );
  if (q === undefined || q.high <= p.quarantineMark) return;
  const found = await ctx.deps.secondary.read(
    salvage.quarantineTopic,
    [{ partition: p.quarantinePartition, from: p.quarantineMark, to: q.high }],
    q.high - p.quarantineMark,
  );
  let max = -1;
  let count = 0;
  for (const r of found.get(p.quarantinePartition) ?? []) {
    const src = provenanceOf(r);
    if (src?.topic === p.topic && src.partition === p.partition && src.offset >= p.next) {
      max = Math.max(max, src.offset);
      count += 1;
    }
  }
  if (max >= 0) {
    ctx.deps.logger.warn('failback salvage: resuming after records already in quarantine', {
      topic: p.topic,
      partition: p.partition,
      found: count,
    });
    p.next = max + 1;
    p.copied += count;
  }
  p.quarantineMark = q.high;
  await ctx.save();
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

export function salvageSummary(salvage: { partitions: Record<string, SalvagePartition> } | undefined) {
  const partitions = Object.values(salvage?.partitions ?? {}).map((p) => ({
    topic: p.topic,
    partition: p.partition,
    lastReplicated: p.lastReplicated,
    measuredBy: p.source,
    primaryLogEnd: p.logEnd,
    toSalvage: Math.max(0, p.logEnd - Math.max(p.lastReplicated + 1, p.logStart)),
    salvaged: p.copied,
    remaining: Math.max(0, p.logEnd - p.next),
  }));
  return {
    partitions,
    totalSalvaged: partitions.reduce((n, p) => n + p.salvaged, 0),
    totalRemaining: partitions.reduce((n, p) => n + p.remaining, 0),
  };
}
