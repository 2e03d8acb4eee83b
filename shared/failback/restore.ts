import { RefusedError } from '../errors.ts';
import { parseTpKey, tpKey } from '../kafka/topic-partition.ts';
import { measureLag } from './catch-up.ts';
import type { PartitionPosition } from './mirror-controller.ts';
import { type PhaseContext, type PhaseOutcome, waitingForMirror } from './phase-context.ts';
import { lastReplicatedPositions, offsetSyncsLocations } from './salvage.ts';

const POLL_MS = 2_000;

/**
 * Restore rebuilds the forward mirror around the cut this failback's switch made; once another writer moved clients
 * (a failover after the switch), that cut means nothing and restoring (on Aiven: emptying the secondary) could harm
 * what clients now use. So before every restore invocation: the epoch authority must still hold this failback's
 * last stage.
 */
export async function refuseUnlessSwitchHolds(ctx: PhaseContext): Promise<void> {
  const { state, deps } = ctx;
  const epoch = state.switch?.epochs.at(-1) ?? state.startEpoch + 2;
  const record = await deps.authority.read();
  if (record?.epoch === epoch && record.writer.runId === state.runId && record.cluster === 'primary') return;
  const found = record
    ? `epoch ${record.epoch} on ${record.cluster} (${record.writer.kind} ${record.writer.runId})`
    : 'nothing claimed';
  throw new RefusedError('failback restore', [
    {
      code: 'switch-no-longer-holds',
      message: `expected the active configuration at epoch ${epoch}, written by this failback's switch, found ${found}: someone switched since, so the mirrors are left as they are; check the deployment, then abandon this failback (failback --abandon)`,
    },
  ]);
}

/**
 * Restore: the reverse mirror off, the forward mirror on again, without copying back what the reverse mirror
 * wrote into the primary.
 *
 * 1. Drain: clients left on the secondary (a late configuration refresh) may still have written there; the reverse
 *    mirror keeps running until its lag is 0 on two measurements in a row.
 * 2. Remove the reverse mirror, counting what it copied after the producer cut (those records reach the secondary
 *    a second time once the forward mirror runs from the cut).
 * 3. Forward mirror on from the producer cut (Kafka Connect offsets API). A controller that cannot position it
 *    (Aiven) empties the secondary's stale copies instead, so the re-enabled flow rebuilds them from the primary.
 *    Emptying a cluster is not undone by anything, so that restore waits for `confirm: true` before it changes
 *    anything, listing what it would delete; the confirmation is journaled, so a resumed restore does not ask again.
 */
export async function runRestore(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
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
  if (!ctx.mirror.canSetForwardOffsets && !r.rebuildConfirmed && !r.secondaryRebuilt) {
    if (!ctx.request.confirm) {
      const copies = (await deps.secondary.offsets(deps.config.topics)).filter((o) => o.high > o.low);
      return {
        kind: 'waiting',
        waitingFor: 'confirm',
        reason: `restore empties the secondary's copies of the deployment's topics (${
          copies.map((o) => `${tpKey(o.topic, o.partition)}: ${o.high - o.low}`).join(', ') ||
          'none hold records now'
        } record(s), and whatever the reverse mirror still drains there), because the ${ctx.mirror.kind} mirror cannot move the forward mirror's offsets: the re-enabled forward mirror then rebuilds them from the primary. Clients are on the primary already. It cannot be undone. Invoke again with { "phase": "restore", "confirm": true }`,
      };
    }
    r.rebuildConfirmed = true;
    await ctx.save();
  }
  if (!r.reverseStopped) {
    let zeroes = 0;
    while (zeroes < 2) {
      const lag = await measureLag(ctx, 'reverse');
      zeroes = lag === 0 ? zeroes + 1 : 0;
      if (zeroes >= 2) break;
      if (ctx.remainingMs() < POLL_MS) {
        return { kind: 'deadline', summary: { drainingReverse: true, reverseLag: lag } };
      }
      await ctx.pause(POLL_MS);
    }
    const atCut = state.switch?.reverseAtCut;
    const final = await lastReplicatedPositions(ctx.mirror, 'reverse', offsetSyncsLocations(ctx, 'reverse'));
    if (atCut !== undefined && final.source === 'connect-offsets') {
      let dup = 0;
      for (const [k, v] of final.positions) dup += Math.max(0, v - (atCut[k] ?? -1));
      r.duplicatesOnSecondary = dup;
    }
    const removed = await ctx.mirror.removeReverse();
    if (!removed.done) return waitingForMirror(removed);
    r.reverseStopped = true;
    await ctx.save();
  }
  if (!r.forwardStarted) {
    let startAt: PartitionPosition[] | undefined;
    if (ctx.mirror.canSetForwardOffsets) {
      startAt = Object.entries(cut).map(([k, offset]) => ({ ...parseTpKey(k), offset }));
    } else if (!r.secondaryRebuilt) {
      if (!r.rebuildConfirmed) throw new Error('unreachable: emptying the secondary was not confirmed');
      const highs = await deps.secondary.offsets(deps.config.topics);
      const byTopic = new Map<string, { partition: number; offset: number }[]>();
      for (const o of highs)
        byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: o.high }]);
      for (const [topic, partitions] of byTopic) await deps.secondary.deleteRecordsBefore(topic, partitions);
      r.secondaryRebuilt = true;
      await ctx.save();
    }
    const started = await ctx.mirror.startForward(startAt);
    if (!started.done) return waitingForMirror(started);
    r.forwardOffsetsSet = startAt !== undefined;
    r.forwardStarted = true;
    await ctx.save();
  }
  return {
    kind: 'done',
    summary: {
      forwardRestartedAt: cut,
      duplicatesOnSecondary: r.duplicatesOnSecondary,
      secondaryRebuilt: r.secondaryRebuilt,
    },
  };
}
