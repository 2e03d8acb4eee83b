import { type ActiveConfig, activeConfigFormat } from '../config/contract.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { topicRouting } from '../config/topic-mapping.ts';
import { readClusterDefinition, type Stores, writeActive } from '../store/active-config.ts';
import type { DeploymentLock } from '../store/dynamo-lock.ts';
import type { SecretVersions } from '../store/stores.ts';
import { inspectAtRest } from '../switch/at-rest.ts';
import type { EpochAuthority } from '../switch/epoch-authority.ts';
import { writeClaimed } from '../switch/fenced-write.ts';
import { credentialSources } from '../switch/refresh-credentials.ts';

/**
 * The first activation, run once after `cdk deploy` (by an operator or the drill): point clients at the primary
 * with epoch 0. It never overwrites an existing active configuration: that is failover's and failback's to
 * change, under the lock, with epoch + 1. Failover also works without it (it treats "absent" as primary, epoch 0),
 * but clients need something to read before the first switch.
 *
 * With the epoch authority (the table given), epoch 0 is claimed there under the lock like every later epoch, and
 * a deployment whose stores were written before the authority existed is adopted: its epoch at rest becomes the
 * authority's, and nothing is written.
 */

export interface InitialiseActiveInput {
  requestedBy: string;
  reason?: string;
}

export interface InitialiseActiveDeps {
  config: DeploymentConfig;
  stores: Stores;
  /** Where the deployment's parameters and secrets live (derived once by the caller). */
  paths: DeploymentPaths;
  /** The lock, the epoch authority and secret versions: given together, the activation is claimed and fenced. */
  fencing?: { lock: DeploymentLock; authority: EpochAuthority; versions: SecretVersions };
  /** Lock holder id. */
  holder?: string;
  now?: () => number;
}

export type InitialiseActiveResult =
  | { status: 'initialised'; config: ActiveConfig }
  | { status: 'adopted'; epoch: number; cluster: 'primary' | 'secondary' }
  | { status: 'exists'; epoch: number; cluster: 'primary' | 'secondary' | 'unknown (a switch is in flight)' };

export async function initialiseActiveConfig(
  input: InitialiseActiveInput,
  deps: InitialiseActiveDeps,
): Promise<InitialiseActiveResult> {
  const now = deps.now ?? Date.now;
  const holder = deps.holder ?? `initialise-${process.pid}-${now()}`;
  const { paths, fencing } = deps;
  await fencing?.lock.acquire(holder, 'initialise');
  try {
    const [record, atRest] = await Promise.all([
      fencing?.authority.read(),
      inspectAtRest(deps.stores, paths),
    ]);
    if (record !== undefined) return { status: 'exists', epoch: record.epoch, cluster: record.cluster };
    const { parameter, secret } = atRest;
    if (parameter.state !== 'absent' || secret.state !== 'absent') {
      const agree =
        parameter.state === 'ok' &&
        secret.state === 'ok' &&
        parameter.epoch === secret.epoch &&
        parameter.cluster === secret.cluster;
      if (!agree || atRest.config === undefined) {
        const epochs = [parameter, secret].flatMap((h) => (h.state === 'ok' ? [h.epoch] : []));
        return {
          status: 'exists',
          epoch: epochs.length > 0 ? Math.max(...epochs) : 0,
          cluster: 'unknown (a switch is in flight)',
        };
      }
      if (fencing === undefined)
        return { status: 'exists', epoch: parameter.epoch, cluster: parameter.cluster };
      // Written before the authority existed: adopt that epoch as the authority's, writing nothing.
      const c = atRest.config;
      const claim = await fencing.authority.claim({
        expected: undefined,
        epoch: c.epoch,
        writer: { kind: 'adopt', runId: `adopt-${holder}` },
        holder,
        config: c,
        credentials: await credentialSources(
          fencing.versions,
          deps.config.clusters[c.cluster].secretArn ?? paths.clusterSecret(c.cluster),
        ),
      });
      await fencing.authority.complete(claim, new Date(now()).toISOString());
      return { status: 'adopted', epoch: c.epoch, cluster: c.cluster };
    }
    const primary = deps.config.clusters.primary;
    const secretId = primary.secretArn ?? paths.clusterSecret('primary');
    const definition = await readClusterDefinition(deps.stores, paths, 'primary', secretId);
    const config: ActiveConfig = {
      epoch: 0,
      cluster: 'primary',
      alias: primary.alias,
      bootstrapServers: definition.parameter.bootstrapServers,
      securityProtocol: definition.parameter.securityProtocol,
      ...(definition.parameter.sasl ? { sasl: definition.parameter.sasl } : {}),
      credentialsSecret: paths.activeCredentialsSecret,
      format: activeConfigFormat,
      routing: topicRouting(deps.config, 'primary'),
      switchedAt: new Date(now()).toISOString(),
      reason: `${input.reason ?? 'initial activation'} (requested by ${input.requestedBy})`,
    };
    if (fencing === undefined) {
      await writeActive(deps.stores, paths, config, definition.credentials);
      return { status: 'initialised', config };
    }
    const claim = await fencing.authority.claim({
      expected: undefined,
      epoch: 0,
      writer: { kind: 'init', runId: `init-${holder}` },
      holder,
      config,
      credentials: await credentialSources(fencing.versions, secretId),
    });
    const written = await writeClaimed(
      { claim, credentials: { active: definition.credentials } },
      { authority: fencing.authority, stores: deps.stores, paths, clock: { now } },
    );
    return { status: 'initialised', config: written.config };
  } finally {
    await fencing?.lock.release(holder);
  }
}
