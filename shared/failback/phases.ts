import type { DeploymentConfig } from '../config/schema.ts';
import type { Reason } from '../errors.ts';
import type { ExecutablePhase, FailbackPhase } from './payload.ts';

/**
 * Which phases a failback runs, in order, for the deployment's mode.
 *
 * - active-passive: the primary's stale copy must go and the secondary's data must come back through a reverse
 *   mirror, so every phase runs.
 * - active-active: both mirrors run all along and each cluster already holds the other's data; nothing is stale,
 *   nothing is purged. Failback waits until both directions have caught up, then moves the clients.
 */
export function phasesFor(config: Pick<DeploymentConfig, 'mode'>): readonly ExecutablePhase[] {
  return config.mode === 'active-active'
    ? ['prepare', 'catch-up', 'switch']
    : ['prepare', 'salvage', 'reverse', 'purge', 'catch-up', 'switch', 'restore'];
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

/**
 * Reasons the deployment cannot fail back automatically at all, checked before anything else.
 *
 * Active-passive with the default (prefixing) policy is refused: after the failover, clients produce to
 * `primary.orders` on the secondary. A reverse MM2 flow under the default policy would write that back as
 * `secondary.primary.orders` on the primary, and MM2 has no topic renaming, so the data cannot return under
 * `orders`. Moving clients back would leave them reading a topic that lacks everything written during the outage.
 */
export function unsupportedReasons(
  config: Pick<DeploymentConfig, 'mode' | 'replicationPolicy' | 'clusters' | 'topics'>,
): string[] {
  if (config.mode === 'active-passive' && config.replicationPolicy === 'default') {
    const example = config.topics[0] ?? 'orders';
    const prefixed = `${config.clusters.primary.alias}.${example}`;
    return [
      `active-passive failback needs replicationPolicy 'identity', found 'default': since the failover clients write to '${prefixed}' on the secondary, ` +
        `and a reverse MirrorMaker 2 flow can only bring that back to the primary as '${config.clusters.secondary.alias}.${prefixed}' (MM2 cannot rename topics), ` +
        `so '${example}' on the primary would never receive what was written during the outage. ` +
        `To change: run every MM2 connector with replication.policy.class=org.apache.kafka.connect.mirror.IdentityReplicationPolicy and set ` +
        `"replicationPolicy": "identity" in the deployment config (takes effect for the next failover); for this outage, move the data back by hand ` +
        `(docs/failback.md, "Default replication policy").`,
    ];
  }
  return [];
}
