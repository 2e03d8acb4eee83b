import { tpKey } from '../kafka/topic-partition.ts';
import type { Flow } from './mirror-controller.ts';
import type { CatchUpProgress, PhaseContext, PhaseOutcome } from './phase-context.ts';
import { lastReplicatedPositions, offsetSyncsLocations } from './salvage.ts';

/** Pause between lag measurements while waiting. */
const POLL_MS = 2_000;
/** Journal progress at most this often while waiting (each write also renews the lock's lease). */
const SAVE_EVERY_MS = 30_000;

function flowLabel(ctx: Pick<PhaseContext, 'deps'>, flow: Flow): string {
  const { primary, secondary } = ctx.deps.config.clusters;
  return flow === 'forward' ? `${primary.alias}->${secondary.alias}` : `${secondary.alias}->${primary.alias}`;
}

/**
 * Records of the deployment's topics on the flow's source not yet copied: per partition, log end minus (last
 * replicated upstream offset + 1), never below the log start. Measured from MM2's source offsets (Kafka Connect)
 * or its offset syncs, not by comparing log ends across clusters (offsets diverge).
 */
export async function measureLag(ctx: Pick<PhaseContext, 'deps' | 'mirror'>, flow: Flow): Promise<number> {
  const source = flow === 'forward' ? ctx.deps.primary : ctx.deps.secondary;
  const offsets = await source.offsets(ctx.deps.config.topics);
  const { positions } = await lastReplicatedPositions(ctx.mirror, flow, offsetSyncsLocations(ctx, flow));
  let lag = 0;
  for (const o of offsets) {
    const last = positions.get(tpKey(o.topic, o.partition)) ?? -1;
    lag += Math.max(0, o.high - Math.max(last + 1, o.low));
  }
  return lag;
}

/**
 * Catch-up: wait until the mirror(s) have copied all but `failback.catchUpMaxLagRecords` records: the reverse
 * mirror in active-passive, both directions in active-active. Reports records remaining, percent and an ETA from
 * the rate observed since catch-up began, on every invocation.
 */
export async function runCatchUp(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
  const flows: Flow[] = deps.config.mode === 'active-active' ? ['forward', 'reverse'] : ['reverse'];
  const threshold = deps.config.failback.catchUpMaxLagRecords;
  let lastSave = 0;
  for (;;) {
    const directions: Record<string, number> = {};
    for (const flow of flows) directions[flowLabel(ctx, flow)] = await measureLag(ctx, flow);
    const remaining = Object.values(directions).reduce((a, b) => a + b, 0);
    const at = new Date(deps.clock.now()).toISOString();
    const first = state.catchUp?.first ?? { at, remaining };
    state.catchUp = { first, last: { at, remaining }, directions };
    ctx.progress = progressOf(first, { at, remaining }, directions, threshold);
    const reached = remaining <= threshold;
    if (reached || deps.clock.now() - lastSave >= SAVE_EVERY_MS || ctx.remainingMs() < POLL_MS) {
      await ctx.save();
      lastSave = deps.clock.now();
    }
    if (reached) return { kind: 'done', summary: ctx.progress };
    if (ctx.remainingMs() < POLL_MS) return { kind: 'deadline', summary: ctx.progress };
    await ctx.pause(POLL_MS);
  }
}

export function progressOf(
  first: { at: string; remaining: number },
  last: { at: string; remaining: number },
  directions: Record<string, number>,
  threshold: number,
): CatchUpProgress {
  const span = first.remaining - threshold;
  const left = Math.max(0, last.remaining - threshold);
  const percent = span <= 0 ? 100 : Math.round(Math.min(100, Math.max(0, (1 - left / span) * 100)) * 10) / 10;
  const seconds = (Date.parse(last.at) - Date.parse(first.at)) / 1000;
  const rate = seconds > 0 ? (first.remaining - last.remaining) / seconds : 0;
  const etaSeconds = left === 0 ? 0 : rate > 0 ? Math.ceil(left / rate) : null;
  return { remaining: last.remaining, directions, thresholdRecords: threshold, percent, etaSeconds };
}
