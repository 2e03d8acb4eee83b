import { tpKey } from '../kafka/topic-partition.ts';
import type { PartitionOffsets } from './cluster-ops.ts';
import type { PhaseContext, PhaseOutcome } from './phase-context.ts';

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

/**
 * Purge: delete the primary's stale records (Kafka DeleteRecords up to the log end measured before the reverse
 * mirror started), so that what the reverse mirror copies back from the secondary's earliest offset is the only
 * copy. Needs `confirm: true`; salvage and reverse have finished (phase order), so every deleted record is on the
 * secondary or in quarantine. Idempotent: deleting below an offset that is already the log start changes nothing.
 */
export async function runPurge(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state, request } = ctx;
  const reverse = state.reverse;
  if (reverse === undefined || !reverse.started) throw new Error('purge needs the reverse mirror running');
  const current = await deps.primary.offsets(deps.config.topics);
  if (state.purge === undefined) {
    const preview = purgePreview(reverse.staleEnd, current);
    if (!request.confirm) {
      const total = preview.reduce((n, p) => n + p.toDelete, 0);
      return {
        kind: 'waiting',
        waitingFor: 'confirm',
        reason: `purge deletes ${total} stale record(s) on the primary (${preview
          .map((p) => `${p.topic}[${p.partition}]: ${p.toDelete}`)
          .join(', ')}); it cannot be undone. Invoke again with { "phase": "purge", "confirm": true }`,
      };
    }
    state.purge = { partitions: {} };
    for (const p of preview) {
      const low = current.find((o) => o.topic === p.topic && o.partition === p.partition)?.low ?? 0;
      state.purge.partitions[tpKey(p.topic, p.partition)] = {
        topic: p.topic,
        partition: p.partition,
        deleteBefore: p.deleteBefore,
        logStartBefore: low,
        deleted: p.toDelete,
        done: false,
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
  }));
  return {
    kind: 'done',
    summary: { partitions, totalDeleted: partitions.reduce((n, p) => n + p.deleted, 0) },
  };
}
