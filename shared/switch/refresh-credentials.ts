import type { DeploymentPaths } from '../config/paths.ts';
import { type ActiveWriteCredentials, readClusterCredentials, type Stores } from '../store/active-config.ts';
import type { SecretVersions } from '../store/stores.ts';
import { inspectAtRest, matchesAuthority } from './at-rest.ts';
import type { AuthorityRecord, CredentialSources } from './epoch-authority.ts';
import { type FencedWriteDeps, writeClaimed } from './fenced-write.ts';

/**
 * Republish the active credentials when the operator rotated the active cluster's secret (Aiven rotates client
 * certificates; an operator rotates a SASL password). The active-credentials secret is a copy made at switch time
 * and clients re-read it only on a new epoch, so a rotation is published as a switch to the same cluster: epoch
 * N+1, claimed from the authority like any switch, same configuration, the rotated credentials. Clients see a new
 * epoch whose connection differs only in its credentials and reconnect with them.
 *
 * Noticed by the secret's version: the authority records the version of each cluster secret it copied.
 */

export interface RefreshDeps extends FencedWriteDeps {
  paths: DeploymentPaths;
  stores: Stores;
  versions: SecretVersions;
}

export type RefreshResult =
  | { status: 'unchanged'; epoch: number; cluster: 'primary' | 'secondary'; version?: string }
  | {
      status: 'refreshed';
      epoch: number;
      cluster: 'primary' | 'secondary';
      /** Which secrets changed version: their names, never their values. */
      rotated: Array<{ secret: string; from?: string; to?: string }>;
    }
  | { status: 'refused'; code: 'nothing-claimed' | 'not-consistent'; message: string };

/** The current versions of the secrets a record copied from, and which of them moved since. */
export async function rotatedSecrets(
  record: AuthorityRecord,
  versions: SecretVersions,
): Promise<{ sources: CredentialSources; rotated: Array<{ secret: string; from?: string; to?: string }> }> {
  const now = async (source: { secret: string; version?: string }) => {
    const version = await versions.version(source.secret);
    return { secret: source.secret, ...(version === undefined ? {} : { version }) };
  };
  const active = await now(record.credentials.active);
  const holdback = record.credentials.holdback ? await now(record.credentials.holdback) : undefined;
  const rotated = [
    [record.credentials.active, active] as const,
    ...(record.credentials.holdback && holdback ? [[record.credentials.holdback, holdback] as const] : []),
  ]
    // A copy whose version was not recorded, or a secret gone, cannot be compared: it is not taken for a rotation.
    .filter(
      ([before, after]) =>
        before.version !== undefined && after.version !== undefined && before.version !== after.version,
    )
    .map(([before, after]) => ({
      secret: before.secret,
      ...(before.version === undefined ? {} : { from: before.version }),
      ...(after.version === undefined ? {} : { to: after.version }),
    }));
  return { sources: { active, ...(holdback ? { holdback } : {}) }, rotated };
}

export async function refreshCredentials(
  run: { holder: string; runId: string; force: boolean; reason: string },
  deps: RefreshDeps,
): Promise<RefreshResult> {
  const record = await deps.authority.read();
  if (record === undefined) {
    return {
      status: 'refused',
      code: 'nothing-claimed',
      message: 'no epoch was ever claimed: run a failover or mm2-failover init first',
    };
  }
  const atRest = await inspectAtRest(deps.stores, deps.paths);
  if (!matchesAuthority(atRest, record)) {
    return {
      status: 'refused',
      code: 'not-consistent',
      message: `the stores do not hold epoch ${record.epoch} consistently: run mm2-failover repair first`,
    };
  }
  const { sources, rotated } = await rotatedSecrets(record, deps.versions);
  if (rotated.length === 0 && !run.force) {
    return {
      status: 'unchanged',
      epoch: record.epoch,
      cluster: record.cluster,
      ...(sources.active.version === undefined ? {} : { version: sources.active.version }),
    };
  }
  const epoch = record.epoch + 1;
  const claim = await deps.authority.claim({
    expected: record.epoch,
    epoch,
    writer: { kind: 'refresh', runId: run.runId },
    holder: run.holder,
    config: {
      ...record.config,
      epoch,
      reason:
        `credentials refreshed on ${record.cluster} (${rotated.length > 0 ? rotated.map((r) => r.secret).join(', ') : 'forced'}): ${run.reason}`.slice(
          0,
          1000,
        ),
    },
    credentials: sources,
  });
  const credentials: ActiveWriteCredentials = {
    active: await readClusterCredentials(deps.stores, sources.active.secret),
    ...(sources.holdback
      ? { holdback: await readClusterCredentials(deps.stores, sources.holdback.secret) }
      : {}),
  };
  await writeClaimed({ claim, credentials }, deps);
  return { status: 'refreshed', epoch, cluster: record.cluster, rotated };
}

/** Where a switch copies credentials from, with each secret's current version (so a rotation can be noticed). */
export async function credentialSources(
  versions: SecretVersions,
  active: string,
  holdback?: string,
): Promise<CredentialSources> {
  const source = async (secret: string) => {
    const version = await versions.version(secret);
    return { secret, ...(version === undefined ? {} : { version }) };
  };
  return {
    active: await source(active),
    ...(holdback === undefined ? {} : { holdback: await source(holdback) }),
  };
}
