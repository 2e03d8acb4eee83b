import type { DeploymentConfig } from '../config/schema.ts';
import type { Reason } from '../errors.ts';
import type { ExecutablePhase, FailbackPhase } from './payload.ts';

/**
 * Which phases a failback runs, in order, for the deployment's mode.
 *
 * - active-passive, identity policy: the primary's stale copy must go and the secondary's data must come back through
 *   a reverse mirror, so every phase runs.
 * - active-passive, default policy: clients wrote `<primary alias>.<topic>` on the secondary, which MM2 cannot bring
 *   back under `<topic>`; `reverse` copies those records back itself (copy-back.ts) and `catch-up` keeps copying
 *   until the rest is small. Nothing on the primary is stale (the copies are appended after it), so nothing is
 *   salvaged or purged.
 * - active-active: both mirrors run all along and each cluster already holds the other's data; nothing is stale,
 *   nothing is purged. Failback waits until both directions have caught up, then moves the clients.
 */
export function phasesFor(
  config: Pick<DeploymentConfig, 'mode' | 'replicationPolicy'>,
): readonly ExecutablePhase[] {
  if (config.mode === 'active-active') return ['prepare', 'catch-up', 'switch'];
  return copiesBack(config)
    ? ['prepare', 'reverse', 'catch-up', 'switch', 'restore']
    : ['prepare', 'salvage', 'reverse', 'purge', 'catch-up', 'switch', 'restore'];
}

/** Failback moves the secondary's records back itself (copy-back.ts) instead of through a reverse MM2 flow. */
export function copiesBack(config: Pick<DeploymentConfig, 'mode' | 'replicationPolicy'>): boolean {
  return config.mode === 'active-passive' && config.replicationPolicy === 'default';
}

/** The first phase of `phases` not in `completed`, or `undefined` when all are done. */
export function nextPhase(
  phases: readonly ExecutablePhase[],
  completed: readonly ExecutablePhase[],
): ExecutablePhase | undefined {
  return phases.find((p) => !completed.includes(p));
}

export type PhaseRequestVerdict =
  | { kind: 'run'; phase: ExecutablePhase }
  | { kind: 'already-done'; phase: ExecutablePhase }
  | { kind: 'refused'; reasons: Reason[] };

/**
 * Judge an explicit phase request against the journal. A phase may run only when it is the next one due; asking
 * for a finished phase is harmless (reported, not repeated); asking for a later one, or one the mode does not
 * have, is refused with the reason and the phase that is due.
 */
export function judgePhaseRequest(
  phases: readonly ExecutablePhase[],
  completed: readonly ExecutablePhase[],
  requested: Exclude<FailbackPhase, 'plan'>,
  mode: DeploymentConfig['mode'],
): PhaseRequestVerdict {
  if (!phases.includes(requested)) {
    return {
      kind: 'refused',
      reasons: [
        {
          code: 'phase-not-in-mode',
          message: `phase '${requested}' does not exist in ${mode} mode; its phases are ${phases.map((p) => `'${p}'`).join(' → ')}`,
        },
      ],
    };
  }
  if (completed.includes(requested)) return { kind: 'already-done', phase: requested };
  const due = nextPhase(phases, completed);
  if (due !== requested) {
    const missing = phases.slice(0, phases.indexOf(requested)).filter((p) => !completed.includes(p));
    return {
      kind: 'refused',
      reasons: [
        {
          code: 'phase-out-of-order',
          message: `phase '${requested}' is out of order: '${due}' is due next, and ${missing
            .map((p) => `'${p}'`)
            .join(', ')} must finish first`,
        },
      ],
    };
  }
  return { kind: 'run', phase: requested };
}
