import type { DeploymentPaths } from '../config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import type { Stores } from '../store/active-config.ts';
import {
  type AtRest,
  describeAtRest,
  highestEpochAtRest,
  inspectAtRest,
  matchesAuthority,
} from './at-rest.ts';
import type { AuthorityRecord, EpochAuthority } from './epoch-authority.ts';

/** Which cluster is active and at which epoch, as far as it can be known. */
export interface CurrentActive {
  cluster: ClusterRole;
  alias: string;
  /** The epoch in force: the authority's, or what is at rest when nothing was ever claimed. */
  epoch: number;
  /** The epoch a switch claims: above the authority's and above everything at rest (a stray hand edit too). */
  nextEpoch: number;
  /** No active configuration existed yet: the primary is active by definition. */
  assumed: boolean;
  switchedAt?: string;
}

/**
 * The active configuration a switch (failover, failback) decides from. The epoch authority says which cluster is active and at
 * which epoch; the stores are read only to see whether they agree with it (a corrupt or torn parameter no longer
 * hides which epoch comes next, so a failover can write a consistent configuration over it). A deployment whose
 * authority holds nothing yet (first activation, or written by a version before the authority) is read from the
 * stores.
 */
export interface Current extends CurrentActive {
  authority: AuthorityRecord | undefined;
  atRest: AtRest;
  /** The stores hold what the authority says (with no authority: both halves agree, or nothing is there). */
  consistent: boolean;
  /** What is at rest, when it is not consistent: what a switch will replace. */
  problem?: string;
}

export async function readCurrent(
  deps: { stores: Stores; authority: Pick<EpochAuthority, 'read'>; config: DeploymentConfig },
  paths: DeploymentPaths,
): Promise<Current> {
  const [authority, atRest] = await Promise.all([deps.authority.read(), inspectAtRest(deps.stores, paths)]);
  return currentFrom(authority, atRest, deps.config);
}

function currentFrom(
  authority: AuthorityRecord | undefined,
  atRest: AtRest,
  config: DeploymentConfig,
): Current {
  const highest = highestEpochAtRest(atRest);
  const base = (c: Omit<CurrentActive, 'nextEpoch'>, consistent: boolean): Current => ({
    ...c,
    nextEpoch: Math.max(c.epoch, highest ?? 0) + 1,
    authority,
    atRest,
    consistent,
    ...(consistent ? {} : { problem: describeAtRest(atRest) }),
  });
  if (authority !== undefined) {
    return base(
      {
        cluster: authority.cluster,
        alias: authority.config.alias,
        epoch: authority.epoch,
        assumed: false,
        switchedAt: authority.config.switchedAt,
      },
      matchesAuthority(atRest, authority),
    );
  }
  const { parameter, secret, config: atRestConfig } = atRest;
  if (parameter.state === 'absent' && secret.state === 'absent') {
    // The very first activation: the primary is active by definition at epoch 0.
    return base({ cluster: 'primary', alias: config.clusters.primary.alias, epoch: 0, assumed: true }, true);
  }
  const agree =
    parameter.state === 'ok' &&
    secret.state === 'ok' &&
    parameter.epoch === secret.epoch &&
    parameter.cluster === secret.cluster;
  const cluster = parameter.state === 'ok' ? parameter.cluster : 'primary';
  return base(
    {
      cluster,
      alias: atRestConfig?.alias ?? config.clusters[cluster].alias,
      epoch: highest ?? 0,
      assumed: false,
      ...(atRestConfig ? { switchedAt: atRestConfig.switchedAt } : {}),
    },
    agree && atRest.plainMatches,
  );
}
