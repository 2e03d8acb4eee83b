import type { PhaseContext, PhaseOutcome } from './phase-context.ts';

/**
 * Prepare: the primary answers and has kept answering for `failback.stableSeconds` (probed every
 * `detection.probeIntervalSeconds`; one failed probe starts the clock again), and the secondary — the active
 * cluster — answers too. The start of the healthy stretch is journaled, so the wait spans invocations.
 */
export async function runPrepare(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { deps, state } = ctx;
  const stableMs = deps.config.failback.stableSeconds * 1000;
  const intervalMs = deps.config.detection.probeIntervalSeconds * 1000;
  for (;;) {
    const [primary, secondary] = await Promise.all([deps.primary.health(), deps.secondary.health()]);
    const now = deps.clock.now();
    const at = new Date(now).toISOString();
    if (!secondary.healthy) {
      return {
        kind: 'waiting',
        waitingFor: 'primary-stable',
        reason: `the secondary (active) is not healthy: ${secondary.detail}`,
      };
    }
    if (!primary.healthy) {
      if (state.prepare !== undefined) {
        state.prepare = undefined;
        await ctx.save();
      }
      return {
        kind: 'waiting',
        waitingFor: 'primary-stable',
        reason: `the primary is not healthy: ${primary.detail}; failback starts once it has been healthy for ${deps.config.failback.stableSeconds} s`,
      };
    }
    if (state.prepare === undefined) {
      state.prepare = { checkedAt: at, primaryHealthySince: at };
      await ctx.save();
    }
    state.prepare.checkedAt = at;
    const healthyFor = now - Date.parse(state.prepare.primaryHealthySince);
    if (healthyFor >= stableMs) {
      return {
        kind: 'done',
        summary: { primaryHealthySince: state.prepare.primaryHealthySince, healthyForMs: healthyFor },
      };
    }
    const wait = Math.min(intervalMs, stableMs - healthyFor);
    if (ctx.remainingMs() < wait) {
      await ctx.save();
      return {
        kind: 'deadline',
        summary: {
          primaryHealthySince: state.prepare.primaryHealthySince,
          secondsToGo: Math.ceil((stableMs - healthyFor) / 1000),
        },
      };
    }
    await ctx.pause(wait);
  }
}
