import type { Admin } from 'kafkajs';
import type { HarnessInfo } from '#harness/info.ts';
import { uniqueName } from '#harness/unique-name.ts';
import { waitFor } from '#harness/wait-for.ts';
import type { Stores } from '#shared/client/index.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import { type DeploymentPaths, deploymentPaths } from '#shared/config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '#shared/config/schema.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { harnessMtlsCredentials } from './client-app.ts';

// A deployment of the shared harness for the client tests: its own name and topic, both clusters over mTLS, and
// switches written as failover writes them.

// A busy 2-core box running several JVMs: generous, never a sleep.
const MIRROR_DEADLINE_MS = 60_000;

export interface Deployment {
  name: string;
  topic: string;
  paths: DeploymentPaths;
  stores: Stores;
  route(cluster: ClusterRole): string;
  /** Write a switch the way failover does: `writeActive`, secret first, with the harness's credentials. */
  switchTo(epoch: number, cluster: ClusterRole): Promise<void>;
}

export function newDeployment(info: HarnessInfo, stores: Stores): Deployment {
  const name = uniqueName('client');
  const topic = uniqueName('orders');
  const paths = deploymentPaths(name);
  const config: DeploymentConfig = parseDeploymentConfig({
    name,
    mode: 'active-passive',
    replicationPolicy: 'default',
    clusters: {
      primary: { alias: info.clusters.primary.alias, auth: 'mtls', expectedBrokers: 1 },
      secondary: { alias: info.clusters.secondary.alias, auth: 'mtls', expectedBrokers: 1 },
    },
    topics: [topic],
    mirror: { kind: 'manual' },
  });
  const creds = harnessMtlsCredentials(info);
  return {
    name,
    topic,
    paths,
    stores,
    route: (cluster) => topicMapping(config, cluster)[topic]?.produce ?? '',
    switchTo: async (epoch, cluster) => {
      const c = info.clusters[cluster];
      const next: ActiveConfig = {
        epoch,
        cluster,
        alias: c.alias,
        bootstrapServers: (c.tlsBootstrapServers ?? '').split(','),
        securityProtocol: 'SSL',
        credentialsSecret: paths.activeCredentialsSecret,
        topics: topicMapping(config, cluster),
        switchedAt: new Date().toISOString(),
        reason: `integration test: to ${cluster}`,
      };
      await writeActive(stores, paths, next, creds);
    },
  };
}

/**
 * A fresh deployment with its own topic (`partitions` of them on the primary, mirrored to the secondary by MM2),
 * active on the primary at epoch 1.
 */
export async function deploymentWithTopic(
  info: HarnessInfo,
  stores: Stores,
  admins: { primaryAdmin: Admin; secondaryAdmin: Admin },
  partitions = 2,
): Promise<Deployment> {
  const d = newDeployment(info, stores);
  await admins.primaryAdmin.createTopics({
    topics: [{ topic: d.topic, numPartitions: partitions }],
    waitForLeaders: true,
  });
  // The route after failover is the mirrored topic; MM2 creates it on its next topic refresh.
  const mirrored = d.route('secondary');
  await waitFor(async () => (await admins.secondaryAdmin.listTopics()).includes(mirrored), {
    timeoutMs: MIRROR_DEADLINE_MS,
    what: `MM2 to create ${mirrored} on the secondary`,
  });
  await d.switchTo(1, 'primary');
  return d;
}
