import { tpKey } from '../kafka/topic-partition.ts';
import type { ReverseFlowSpec } from './mirror-controller.ts';
import { type PhaseContext, type PhaseOutcome, waitingForMirror } from './phase-context.ts';
import { copyTails } from './salvage.ts';

/** What the reverse flow mirrors back: the deployment's topics, never the quarantine topic. */
export function reverseFlowSpec(
  ctx: Pick<PhaseContext, 'deps'>,
  run: { runId: string; requestedBefore: boolean },
): ReverseFlowSpec {
  const { config } = ctx.deps;
  return {
    topics: config.topics,
    excludeTopics: [config.failback.quarantineTopic],
    groups: config.consumerGroups,
    ...run,
  };
}

/**
 * Reverse: start MM2 secondary → primary from the secondary's earliest offsets. Before that, the primary's log ends are taken once more: everything
 * below them is stale (it reached the secondary, or salvage copied it to quarantine) and purge may delete it;
 * anything the primary received since salvage measured (a stray producer) is salvaged first, so the stale end
 * never hides an unsalvaged record. The forward mirror was stopped by salvage: with the identity policy MM2
 * cannot detect a cycle, so both directions must never run at once.
 */
export async function runReverse(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
  const salvage = state.salvage;
  if (salvage === undefined || !salvage.forwardStopped) {
    throw new Error('reverse needs a finished salvage (the forward mirror stopped)');
  }
  if (state.reverse === undefined) {
    const now = await deps.primary.offsets(deps.config.topics);
    let grew = false;
    for (const o of now) {
      const p = salvage.partitions[tpKey(o.topic, o.partition)];
      if (p !== undefined && o.high > p.logEnd) {
        deps.logger.warn('failback reverse: the primary received records after salvage; salvaging them too', {
          topic: o.topic,
          partition: o.partition,
          from: p.logEnd,
          to: o.high,
        });
        p.logEnd = o.high;
        const tail = p.ranges.findLast((r) => r.kind === 'tail');
        if (tail === undefined) p.ranges.push({ kind: 'tail', from: o.high, to: o.high, next: o.high });
        else tail.to = o.high;
        grew = true;
      }
    }
    if (grew) {
      await ctx.save();
      const copied = await copyTails(ctx);
      if (copied.kind !== 'done') {
        return {
          kind: 'deadline',
          summary: {
            salvagingLateRecords: true,
            ...(copied.kind === 'stalled' ? { stalled: copied.stalled } : {}),
          },
        };
      }
    }
    const staleEnd: Record<string, number> = {};
    for (const p of Object.values(salvage.partitions)) staleEnd[tpKey(p.topic, p.partition)] = p.logEnd;
    state.reverse = { staleEnd, started: false, requested: false };
    await ctx.save();
  }
  if (!state.reverse.started) {
    // Journaled before asking, so that a reverse flow found existing on a retry is known to be ours; the first
    // request says it is new, so that a flow left by someone else (with offsets of its own) is refused. The
    // secondary's log starts are taken then too: the flow copies from there, and purge checks that the
    // secondary deleted nothing the flow had not copied yet.
    const requestedBefore = state.reverse.requested;
    if (!requestedBefore) {
      state.reverse.requested = true;
      state.reverse.requestedAt = new Date(deps.clock.now()).toISOString();
      state.reverse.secondaryLogStart = Object.fromEntries(
        (await deps.secondary.offsets(deps.config.topics)).map((o) => [tpKey(o.topic, o.partition), o.low]),
      );
      await ctx.save();
    }
    const outcome = await ctx.mirror.startReverse(
      reverseFlowSpec(ctx, { runId: state.runId, requestedBefore }),
    );
    if (!outcome.done) return waitingForMirror(outcome);
    state.reverse.started = true;
    await ctx.save();
    deps.logger.info('failback reverse: reverse mirror started', { detail: outcome.detail });
  }
  return { kind: 'done', summary: { staleEnd: state.reverse.staleEnd } };
}
