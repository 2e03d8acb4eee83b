import type { DeploymentPaths } from '../config/paths.ts';
import { describeError, RefusedError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { readClusterCredentials, type Stores } from '../store/active-config.ts';
import type { DeploymentLock } from '../store/dynamo-lock.ts';
import type { SecretVersions } from '../store/stores.ts';
import type { CredentialSources, EpochAuthority } from './epoch-authority.ts';
import { type RefreshResult, refreshCredentials } from './refresh-credentials.ts';
import { type RepairResult, repairActive } from './repair.ts';

/**
 * The two maintenance writes of the active configuration, run by the failover function under the deployment
 * lock like any switch: `repair` (roll what is at rest forward to the authority's epoch) and `refresh-credentials`
 * (republish rotated credentials at a new epoch). Both are asked for by an operator (`mm2-failover repair`,
 * `mm2-failover refresh-credentials`) or by the probe when it finds the stores torn or a cluster secret rotated.
 */

export interface MaintenanceRequest {
  operation: 'repair' | 'refresh-credentials';
  reason: string;
  requestedBy: string;
  /** Refresh even though no secret version moved (an operator who knows better). */
  force: boolean;
}

export interface MaintenanceDeps {
  paths: DeploymentPaths;
  stores: Stores;
  versions: SecretVersions;
  lock: DeploymentLock;
  authority: EpochAuthority;
  clock: { now(): number };
  logger: Pick<Logger, 'info' | 'warn'>;
}

export type MaintenanceResult = RepairResult | Exclude<RefreshResult, { status: 'refused' }>;

export async function runMaintenance(
  request: MaintenanceRequest,
  invocationId: string,
  deps: MaintenanceDeps,
): Promise<MaintenanceResult> {
  await deps.lock.acquire(invocationId, `${request.operation}: ${request.reason}`);
  try {
    const run = { holder: invocationId, runId: `${request.operation}-${invocationId}` };
    if (request.operation === 'repair') {
      const result = await repairActive(run, {
        ...deps,
        readCredentials: (sources) => readCredentials(deps.stores, sources),
      });
      deps.logger.info('repair finished', { status: result.status });
      return result;
    }
    const result = await refreshCredentials({ ...run, force: request.force, reason: request.reason }, deps);
    if (result.status === 'refused') {
      throw new RefusedError('refresh-credentials', [{ code: result.code, message: result.message }]);
    }
    deps.logger.info('credentials refresh finished', { status: result.status, epoch: result.epoch });
    return result;
  } finally {
    await deps.lock.release(invocationId).catch((e: unknown) => {
      // The lease runs out on its own; a failed release must not hide the outcome.
      deps.logger.warn('could not release the lock', { error: describeError(e) });
    });
  }
}

/** The credentials an authority record names, read from the operator's cluster secrets. */
export async function readCredentials(stores: Stores, sources: CredentialSources) {
  return {
    active: await readClusterCredentials(stores, sources.active.secret),
    ...(sources.holdback ? { holdback: await readClusterCredentials(stores, sources.holdback.secret) } : {}),
  };
}
