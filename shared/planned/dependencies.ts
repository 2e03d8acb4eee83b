import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClusterRole } from '../config/schema.ts';
import type { FailoverDeps } from '../failover/failover.ts';
import { type ClientCache, configFingerprint, type KafkaClientCache } from '../kafka/client-factory.ts';
import { type ClusterClient, createClusterClient } from '../kafka/cluster-client.ts';
import { clusterKafkaConfig } from '../kafka/cluster-config.ts';
import { replicationPolicy } from '../kafka/replication-policy.ts';
import { DynamoJournal } from '../store/dynamo-journal.ts';
import { DynamoLock } from '../store/dynamo-lock.ts';
import { drainProbe } from './backlog-drain.ts';
import type { PlannedDeps } from './switchover.ts';
import { topicConfigFence } from './write-fence.ts';

/**
 * Wires the planned switchover from the failover's dependencies (same lock, authority, stores, notifier) and the
 * container's long-lived clients: its own journal, the fence through a cached admin on the primary, the drain
 * measure through cached cluster clients on both clusters. Called once per container, like the failover's wiring.
 */
export function plannedDependencies(
  failover: FailoverDeps,
  settings: { table: string; leaseMs?: number },
  clients: {
    dynamodb: Pick<DynamoDBClient, 'send'>;
    kafka: KafkaClientCache;
    clusterClients: ClientCache<ClusterClient>;
  },
): PlannedDeps {
  const { config, stores, paths, clock } = failover;
  const kafkaConfig = (role: ClusterRole) => clusterKafkaConfig({ stores, paths, config }, role, 'failover');
  const cluster = async (role: ClusterRole) => {
    const name = `${config.name}/${role}`;
    const kc = await kafkaConfig(role);
    return clients.clusterClients.get(name, configFingerprint(kc), async () => createClusterClient(kc));
  };
  const primaryName = `${config.name}/primary`;
  const measure = drainProbe(
    {
      policy: replicationPolicy(config),
      primaryAlias: config.clusters.primary.alias,
      secondaryAlias: config.clusters.secondary.alias,
      topics: config.topics,
      groups: config.consumerGroups,
    },
    { primary: () => cluster('primary'), secondary: () => cluster('secondary') },
    clock,
  );
  // The same lock item as the failover's (same table and deployment): the two never run at once.
  const lock = new DynamoLock(clients.dynamodb, {
    table: settings.table,
    deployment: config.name,
    ...(settings.leaseMs ? { leaseMs: settings.leaseMs } : {}),
    clock,
  });
  return {
    ...failover,
    lock,
    journal: new DynamoJournal(clients.dynamodb, {
      table: settings.table,
      deployment: config.name,
      kind: 'planned',
      lock,
      clock,
    }),
    fence: topicConfigFence(async () => clients.kafka.admin(primaryName, await kafkaConfig('primary'))),
    secondaryFence: topicConfigFence(async () =>
      clients.kafka.admin(`${config.name}/secondary`, await kafkaConfig('secondary')),
    ),
    measureDrain: async () => {
      try {
        return await measure();
      } catch (e: unknown) {
        // A connection that failed is rebuilt on the next poll.
        clients.clusterClients.forget(primaryName);
        clients.clusterClients.forget(`${config.name}/secondary`);
        throw e;
      }
    },
  };
}
