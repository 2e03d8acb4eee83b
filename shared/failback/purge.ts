import { type Reason, RefusedError } from '../errors.ts';
import type { TimedOffsetSync } from '../kafka/mm2-internal-topics.ts';
import type { Offset } from '../kafka/offset.ts';
import { tpKey } from '../kafka/topic-partition.ts';
import type { PartitionOffsets } from './cluster-ops.ts';
import type { PhaseContext, PhaseOutcome } from './phase-context.ts';
import { firstProvable, reverseGap, syncHistory, uncovered } from './replica-proof.ts';
import { copyTails, lastReplicatedPositions, offsetSyncsLocations } from './salvage.ts';

/** Per partition: what purge deletes on the primary (everything below the stale end). */
export function purgePreview(staleEnd: Record<string, number>, current: PartitionOffsets[]) {
  return current
    .filter((o) => staleEnd[tpKey(o.topic, o.partition)] !== undefined)
    .map((o) => {
      const end = staleEnd[tpKey(o.topic, o.partition)] ?? 0;
      return {
        topic: o.topic,
        partition: o.partition,
        deleteBefore: end,
        toDelete: Math.max(0, end - o.low),
      };
    });
}

/** Rounds of "salvage what cannot be proven, then prove again" in one invocation (the secondary may move). */
const PROOF_ROUNDS = 3;
/** Clocks of MM2's workers and of this function may differ: syncs this much older still count as the flow's. */
const CLOCK_SKEW_MS = 60_000;

/** What purge can prove about one partition before deleting it. */
interface PartitionProof {
  key: string;
  /** Replicated offsets purge would delete whose copies on the secondary cannot be proven: salvaged first. */
  unproven: Array<{ from: Offset; to: Offset }>;
  /** What blocks the purge of this partition unless the operator accepts the loss. */
  problems: Reason[];
}

/**
 * Purge: delete the primary's stale records (Kafka DeleteRecords up to the log end measured before the reverse
 * mirror started), so that what the reverse mirror copies back from the secondary's earliest offset is the only
 * copy. Needs `confirm: true`. Before deleting, it proves per partition where every record it deletes lives:
 *
 * - salvage accounted for every offset of its ranges (copied, or proven absent by the broker's offsets); offsets
 *   the primary lost to retention before salvage read them block the partition (`salvage-lost-records`);
 * - every other record it deletes was replicated and still has a copy on the secondary: the forward offset syncs
 *   salvage read (journaled then, before the reverse mirror could write syncs of its own into the same topics)
 *   bound its downstream offset from below, at or above the secondary's log start now. What cannot be proven is
 *   copied into quarantine first (as salvage does), then proven again;
 * - the secondary deleted nothing the reverse mirror had not copied yet since it started (`reverse-mirror-gap`).
 *
 * A blocked partition is refused with how to proceed; `acceptLoss` lists partitions the operator lets go anyway.
 * Idempotent: deleting below an offset that is already the log start changes nothing.
 */
export async function runPurge(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state, request } = ctx;
  const reverse = state.reverse;
  const salvage = state.salvage;
  if (reverse === undefined || !reverse.started || salvage === undefined) {
    throw new Error('purge needs a finished salvage and the reverse mirror running');
  }
  const accepted = new Set(request.acceptLoss ?? []);
  for (let round = 0; state.purge === undefined; round += 1) {
    if (
      request.confirm &&
      Object.values(salvage.partitions).some((p) => p.ranges.some((r) => r.next < r.to))
    ) {
      // A salvage an earlier confirmed purge began (or a deadline cut) goes on before anything is judged.
      const copied = await copyTails(ctx);
      if (copied.kind !== 'done') return salvagingOutcome(copied);
    }
    const current = await deps.primary.offsets(deps.config.topics);
    const preview = purgePreview(reverse.staleEnd, current);
    const proofs = await provePurge(ctx, current);
    if (!request.confirm) return awaitingConfirmation(preview, proofs);
    const refused = proofs.flatMap((p) => (accepted.has(p.key) ? [] : p.problems));
    if (refused.length > 0) throw new RefusedError('failback purge', refused);
    const unproven = proofs.filter((p) => p.unproven.length > 0);
    if (unproven.length > 0) {
      if (round >= PROOF_ROUNDS) {
        return { kind: 'deadline', summary: { provingCopies: unproven.map((p) => p.key) } };
      }
      for (const p of unproven) {
        const partition = salvage.partitions[p.key];
        for (const r of p.unproven)
          partition?.ranges.push({ kind: 'unproven', from: r.from, to: r.to, next: r.from });
        deps.logger.warn('failback purge: salvaging replicated records the secondary may no longer hold', {
          partition: p.key,
          ranges: p.unproven,
        });
      }
      await ctx.save();
      const copied = await copyTails(ctx);
      if (copied.kind !== 'done') return salvagingOutcome(copied);
      continue;
    }
    state.purge = { partitions: {} };
    for (const p of preview) {
      const key = tpKey(p.topic, p.partition);
      const low = current.find((o) => o.topic === p.topic && o.partition === p.partition)?.low ?? 0;
      state.purge.partitions[key] = {
        topic: p.topic,
        partition: p.partition,
        deleteBefore: p.deleteBefore,
        logStartBefore: low,
        deleted: p.toDelete,
        done: false,
        acceptedLoss: (proofs.find((x) => x.key === key)?.problems.length ?? 0) > 0,
      };
    }
    await ctx.save();
  }
  const byTopic = new Map<string, { partition: number; offset: number }[]>();
  for (const p of Object.values(state.purge.partitions)) {
    if (p.done) continue;
    const list = byTopic.get(p.topic) ?? [];
    list.push({ partition: p.partition, offset: p.deleteBefore });
    byTopic.set(p.topic, list);
  }
  for (const [topic, partitions] of byTopic) {
    await deps.primary.deleteRecordsBefore(topic, partitions);
    for (const { partition } of partitions) {
      const p = state.purge.partitions[tpKey(topic, partition)];
      if (p !== undefined) p.done = true;
    }
    await ctx.save();
  }
  const partitions = Object.values(state.purge.partitions).map((p) => ({
    topic: p.topic,
    partition: p.partition,
    deleted: p.deleted,
    deletedBefore: p.deleteBefore,
    ...(p.acceptedLoss ? { acceptedLoss: true } : {}),
  }));
  return {
    kind: 'done',
    summary: { partitions, totalDeleted: partitions.reduce((n, p) => n + p.deleted, 0) },
  };
}

function salvagingOutcome(
  copied: Exclude<Awaited<ReturnType<typeof copyTails>>, { kind: 'done' }>,
): PhaseOutcome {
  return {
    kind: 'deadline',
    summary: {
      salvagingBeforePurge: true,
      ...(copied.kind === 'stalled' ? { stalled: copied.stalled } : {}),
    },
  };
}

function awaitingConfirmation(
  preview: ReturnType<typeof purgePreview>,
  proofs: readonly PartitionProof[],
): PhaseOutcome {
  const total = preview.reduce((n, p) => n + p.toDelete, 0);
  const toCopy = proofs.filter((p) => p.unproven.length > 0);
  const blocked = proofs.filter((p) => p.problems.length > 0);
  const copying =
    toCopy.length === 0
      ? ''
      : ` Before deleting, it copies to quarantine the replicated records the secondary can no longer be proven to hold (${toCopy
          .map((p) => `${p.key} ${p.unproven.map((r) => `[${r.from}, ${r.to})`).join(' ')}`)
          .join(', ')}).`;
  const problems =
    blocked.length === 0
      ? ''
      : ` It will refuse ${blocked.map((p) => p.key).join(', ')} unless you accept the loss: ${blocked
          .flatMap((p) => p.problems.map((r) => r.message))
          .join(' ')}`;
  return {
    kind: 'waiting',
    waitingFor: 'confirm',
    reason: `purge deletes ${total} stale record(s) on the primary (${preview
      .map((p) => `${p.topic}[${p.partition}]: ${p.toDelete}`)
      .join(
        ', ',
      )}); it cannot be undone.${copying}${problems} Invoke again with { "phase": "purge", "confirm": true }`,
  };
}

/** Read-only: per partition purge would delete, what is proven, what must be salvaged first, what blocks it. */
async function provePurge(ctx: PhaseContext, current: PartitionOffsets[]): Promise<PartitionProof[]> {
  const { deps, state } = ctx;
  const staleEnd = state.reverse?.staleEnd ?? {};
  const started = state.reverse?.secondaryLogStart;
  const secondary = new Map(
    (await deps.secondary.offsets(deps.config.topics)).map((o) => [tpKey(o.topic, o.partition), o]),
  );
  const copiedBack = (
    await lastReplicatedPositions(ctx.mirror, 'reverse', offsetSyncsLocations(ctx, 'reverse'))
  ).positions;
  const since = Date.parse(state.reverse?.requestedAt ?? '') - CLOCK_SKEW_MS;
  const reverseSyncs = Number.isNaN(since)
    ? new Map<string, TimedOffsetSync[]>()
    : await syncHistory(offsetSyncsLocations(ctx, 'reverse'));
  const proofs: PartitionProof[] = [];
  for (const o of current) {
    const key = tpKey(o.topic, o.partition);
    const end = staleEnd[key];
    if (end === undefined || end <= o.low) continue;
    const problems: Reason[] = [];
    const accept = `To purge ${key} anyway, invoke { "phase": "purge", "confirm": true, "acceptLoss": ["${key}"] }.`;
    const salvaged = state.salvage?.partitions[key];
    const pending = (salvaged?.ranges ?? []).filter((r) => r.next < r.to);
    if (salvaged === undefined || pending.length > 0) {
      problems.push({
        code: 'salvage-incomplete',
        message: `${key}: salvage has not accounted for ${
          salvaged === undefined
            ? 'this partition at all'
            : pending.map((r) => `offsets [${r.next}, ${r.to})`).join(', ')
        }, so purge cannot tell where those records are. Invoke failback again without phase to let salvage finish; ${accept}`,
      });
    }
    for (const lost of salvaged?.lost ?? []) {
      problems.push({
        code: 'salvage-lost-records',
        message: `${key} offsets [${lost.from}, ${lost.to}) were deleted from the primary (retention) before salvage read them: they are neither on the primary nor in quarantine, and any that never reached the secondary are gone. ${accept}`,
      });
    }
    const now = secondary.get(key);
    const from = started?.[key];
    if (from !== undefined && now !== undefined) {
      const ours = (reverseSyncs.get(key) ?? []).filter((s) => s.writtenAt >= since);
      for (const gap of reverseGap(from, now.low, ours, copiedBack.get(key) ?? -1)) {
        problems.push({
          code: 'reverse-mirror-gap',
          message: `${key} offsets [${gap.from}, ${gap.to}) on the secondary were deleted (retention) before the reverse mirror copied them back: records written there during the outage may exist nowhere now. ${accept}`,
        });
      }
    }
    // Offsets outside every salvage range were replicated (ranges cover the whole tail); an unfinished range is
    // a problem above, never something the secondary could prove.
    const unproven: Array<{ from: Offset; to: Offset }> = [];
    for (const gap of uncovered(o.low, end, salvaged?.ranges ?? [])) {
      const provenFrom = firstProvable(salvaged?.forwardSyncs ?? [], now, gap.from, gap.to);
      if (provenFrom > gap.from) unproven.push({ from: gap.from, to: provenFrom });
    }
    proofs.push({ key, unproven, problems });
  }
  return proofs;
}
