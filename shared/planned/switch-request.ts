import {
  type FailoverDeps,
  type FailoverInvocation,
  type FailoverResult,
  runFailover,
} from '../failover/failover.ts';
import type { ReprobeCluster } from '../failover/preflight.ts';
import { type PlannedDeps, type PlannedResult, runPlannedSwitchover } from './switchover.ts';

/**
 * Which switch a failover request runs. An alarm always runs the unplanned failover (the primary is failing). A
 * manual request runs the planned switchover when it asks for it (`planned: true`), and by default when it is not
 * forced and the primary answers `up`: moving clients off a healthy primary without a fence and a drain would
 * leave behind whatever MM2 had not copied yet. Otherwise, the unplanned failover and its preflight.
 */
export async function chooseSwitch(
  request: Pick<FailoverInvocation, 'trigger' | 'force' | 'planned'>,
  reprobe: ReprobeCluster,
): Promise<'planned' | 'failover'> {
  if (request.trigger !== 'manual' || request.planned === false) return 'failover';
  if (request.planned === true) return 'planned';
  if (request.force) return 'failover';
  const primary = await reprobe('primary').catch(() => undefined);
  return primary?.verdict === 'up' ? 'planned' : 'failover';
}

export async function runSwitchRequest(
  request: FailoverInvocation,
  deps: { failover: FailoverDeps; planned: PlannedDeps },
): Promise<FailoverResult | PlannedResult> {
  return (await chooseSwitch(request, deps.failover.reprobe)) === 'planned'
    ? runPlannedSwitchover(request, deps.planned)
    : runFailover(request, deps.failover);
}
