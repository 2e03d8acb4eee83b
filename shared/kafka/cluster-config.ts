import type { KafkaConfig } from 'kafkajs';
import type { DeploymentPaths } from '../config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { readClusterDefinition, type Stores } from '../store/active-config.ts';
import { buildKafkaConfig } from './client-factory.ts';

/** The functions that manage a cluster through its operator-written definition (the probe builds its own). */
export type ClusterUser = 'failover' | 'failback';

/**
 * A cluster's kafkajs config from its operator-written parameter and secret, for a function that manages it:
 * offset commits, checkpoint and offset-sync reads, salvage and purge. The clientId names the function, so a
 * broker's logs and quotas tell failover's connections from failback's.
 */
export async function clusterKafkaConfig(
  deps: { stores: Stores; paths: DeploymentPaths; config: DeploymentConfig },
  role: ClusterRole,
  user: ClusterUser,
): Promise<KafkaConfig> {
  const { stores, paths, config } = deps;
  const definition = await readClusterDefinition(
    stores,
    paths,
    role,
    config.clusters[role].secretArn ?? paths.clusterSecret(role),
  );
  return buildKafkaConfig(definition.parameter, definition.credentials, {
    clientId: `mm2-failover-${config.name}-${user}`,
    connectTimeoutMs: config.detection.connectTimeoutMs,
    requestTimeoutMs: config.detection.requestTimeoutMs,
    // Offset commits and checkpoint reads on the healthy cluster may retry once; probes never do.
    retries: 1,
    ...(config.clusters[role].region ? { region: config.clusters[role].region } : {}),
  });
}
