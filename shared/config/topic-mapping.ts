import { replicationPolicy } from '../kafka/replication-policy.ts';
import type { TopicRoute } from './contract.ts';
import type { ClusterRole, DeploymentConfig } from './schema.ts';

/**
 * MM2's name for `topic` from cluster `sourceAlias` on the other side, under the configured policy
 * (`ReplicationPolicy.formatRemoteTopic`; see shared/kafka/replication-policy.ts for the other names).
 */
export function remoteTopicName(
  config: Pick<DeploymentConfig, 'replicationPolicy' | 'separator'>,
  sourceAlias: string,
  topic: string,
): string {
  return replicationPolicy(config).formatRemoteTopic(sourceAlias, topic);
}

/**
 * What clients produce to and subscribe to for each logical topic when `active` is the active cluster.
 *
 * - active-passive, primary active: the topic itself.
 * - active-passive, secondary active, default policy: the mirrored `primary.<topic>`, so consumers continue the
 *   same stream they were reading (its offsets were translated there) and new records land beside it.
 * - identity policy: the same name everywhere.
 * - active-active: produce locally; subscribe to the local topic and the copy mirrored from the other cluster.
 */
export function topicMapping(config: DeploymentConfig, active: ClusterRole): Record<string, TopicRoute> {
  const routes: Record<string, TopicRoute> = {};
  const other = active === 'primary' ? config.clusters.secondary : config.clusters.primary;
  for (const topic of config.topics) {
    if (config.mode === 'active-active') {
      routes[topic] = { produce: topic, subscribe: [topic, remoteTopicName(config, other.alias, topic)] };
    } else if (active === 'primary' || config.replicationPolicy === 'identity') {
      routes[topic] = { produce: topic, subscribe: [topic] };
    } else {
      const mirrored = remoteTopicName(config, config.clusters.primary.alias, topic);
      routes[topic] = { produce: mirrored, subscribe: [mirrored] };
    }
  }
  return routes;
}
