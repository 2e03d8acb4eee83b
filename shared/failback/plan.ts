import { tpKey } from '../kafka/topic-partition.ts';
import { readActiveOnce } from '../store/active-config.ts';
import { extraRegions } from '../store/regional-stores.ts';
import { measureLag } from './catch-up.ts';
import type { FailbackDeps } from './phase-context.ts';
import { nextPhase, phasesFor } from './phases.ts';
import { purgePreview } from './purge.ts';
import { reverseFlowSpec } from './reverse.ts';
import { measureTail, salvageSummary } from './salvage.ts';
import type { FailbackState } from './state.ts';

/**
 * The dry run: what each phase will do, measured now, writing nothing (no topic created, no connector touched,
 * no journal entry). Counts are as of now: while the forward mirror still runs, the tail to salvage can shrink.
 */
export async function planFailback(deps: FailbackDeps, state: FailbackState | undefined) {
  const { config } = deps;
  const phases = phasesFor(config);
  const mirror = deps.mirror(new Set(state?.mirrorConfirmed ?? []));
  const ctx = { deps, mirror };
  const active = await readActiveOnce(deps.stores, deps.paths);
  const epoch = active.kind === 'consistent' ? active.config.epoch : undefined;
  const activeNow =
    active.kind === 'consistent'
      ? { cluster: active.config.cluster, epoch: active.config.epoch }
      : { state: active.kind };
  const [primaryHealth, secondaryHealth] = await Promise.all([
    deps.primary.health(),
    deps.secondary.health(),
  ]);
  const plan: Record<string, unknown> = {
    activeNow,
    health: { primary: primaryHealth, secondary: secondaryHealth },
    phases,
    next: nextPhase(phases, state?.completed ?? []),
    mirrorController: mirror.kind,
  };
  if (config.mode === 'active-passive') {
    const primaryOffsets = primaryHealth.healthy ? await deps.primary.offsets(config.topics) : [];
    const quarantine = await deps.secondary.offsets([config.failback.quarantineTopic]);
    const qCount = Math.max(quarantine.length, 1, ...primaryOffsets.map((o) => o.partition + 1));
    const salvage =
      state?.salvage && Object.keys(state.salvage.partitions).length > 0
        ? salvageSummary(state.salvage)
        : salvageSummary({
            partitions: Object.fromEntries(
              (await measureTail(ctx, primaryOffsets, { partitions: qCount, highs: new Map() })).map((p) => [
                tpKey(p.topic, p.partition),
                p,
              ]),
            ),
          });
    const staleEnd =
      state?.reverse?.staleEnd ??
      Object.fromEntries(primaryOffsets.map((o) => [tpKey(o.topic, o.partition), o.high]));
    const purge = purgePreview(staleEnd, primaryOffsets);
    plan.salvage = { quarantineTopic: config.failback.quarantineTopic, ...salvage };
    plan.purge = {
      partitions: purge,
      totalToDelete: purge.reduce((n, p) => n + p.toDelete, 0),
      needsConfirm: true,
    };
  }
  plan.mirrorChanges = mirror.describeChanges(
    reverseFlowSpec(ctx, { runId: state?.runId ?? '(new run)', requestedBefore: false }),
  );
  if (state?.reverse?.started || config.mode === 'active-active') {
    try {
      plan.catchUp = { reverseLag: await measureLag(ctx, 'reverse') };
    } catch {
      plan.catchUp = { reverseLag: 'unknown' };
    }
  }
  plan.switch = {
    order: config.failback.switchOrder,
    // Each stage is written there too after the home region (best effort).
    extraRegions: extraRegions(config.regions, deps.homeRegion),
    stages: [
      `epoch ${epoch ?? '?'} + 1: ${config.failback.switchOrder === 'consumers-first' ? 'consumers (offsets translated back)' : 'producers'} to the primary, the others held on the secondary`,
      `+ ${config.failback.switchStageSeconds} s, epoch + 2: everyone on the primary`,
    ],
  };
  return plan;
}
