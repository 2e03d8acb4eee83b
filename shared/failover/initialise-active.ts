import type { ActiveConfig } from '../config/contract.ts';
import { deploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { topicMapping } from '../config/topic-mapping.ts';
import { readActiveOnce, readClusterDefinition, type Stores, writeActive } from '../store/active-config.ts';
import type { DeploymentLock } from '../store/dynamo-lock.ts';

/**
 * The first activation, run once after `cdk deploy` (by an operator or the drill): point clients at the primary
 * with epoch 0. It never overwrites an existing active configuration: that is failover's and failback's to
 * change, under the lock, with epoch + 1. Failover also works without it (it treats "absent" as primary, epoch 0),
 * but clients need something to read before the first switch.
 */

export interface InitialiseActiveInput {
  requestedBy: string;
  reason?: string;
}

export interface InitialiseActiveDeps {
  config: DeploymentConfig;
  stores: Stores;
  /** When given, the lock is held for the write, so an initialisation never races a failover. */
  lock?: DeploymentLock;
  /** Lock holder id. */
  holder?: string;
  now?: () => number;
}

export type InitialiseActiveResult =
  | { status: 'initialised'; config: ActiveConfig }
  | { status: 'exists'; epoch: number; cluster: 'primary' | 'secondary' | 'unknown (a switch is in flight)' };

export async function initialiseActiveConfig(
  input: InitialiseActiveInput,
  deps: InitialiseActiveDeps,
): Promise<InitialiseActiveResult> {
  const holder = deps.holder ?? `initialise-${process.pid}-${Date.now()}`;
  await deps.lock?.acquire(holder, 'initialise');
  try {
    const paths = deploymentPaths(deps.config.name);
    const existing = await readActiveOnce(deps.stores, paths);
    if (existing.kind === 'consistent') {
      return { status: 'exists', epoch: existing.config.epoch, cluster: existing.config.cluster };
    }
    if (existing.kind === 'torn') {
      return {
        status: 'exists',
        epoch: Math.max(existing.parameterEpoch, existing.secretEpoch),
        cluster: 'unknown (a switch is in flight)',
      };
    }
    const primary = deps.config.clusters.primary;
    const definition = await readClusterDefinition(
      deps.stores,
      paths,
      'primary',
      primary.secretArn ?? paths.clusterSecret('primary'),
    );
    const config: ActiveConfig = {
      epoch: 0,
      cluster: 'primary',
      alias: primary.alias,
      bootstrapServers: definition.parameter.bootstrapServers,
      securityProtocol: definition.parameter.securityProtocol,
      ...(definition.parameter.sasl ? { sasl: definition.parameter.sasl } : {}),
      credentialsSecret: paths.activeCredentialsSecret,
      topics: topicMapping(deps.config, 'primary'),
      switchedAt: new Date((deps.now ?? Date.now)()).toISOString(),
      reason: `${input.reason ?? 'initial activation'} (requested by ${input.requestedBy})`,
    };
    await writeActive(deps.stores, paths, config, definition.credentials);
    return { status: 'initialised', config };
  } finally {
    await deps.lock?.release(holder);
  }
}
