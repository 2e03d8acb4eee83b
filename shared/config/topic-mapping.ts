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
 * - active-passive, secondary active, default policy, `failoverTopics: 'mirrored'`: the mirrored `primary.<topic>`,
 *   so consumers continue the same stream they were reading (its offsets were translated there) and new records
 *   land beside it.
 * - active-passive, secondary active, default policy, `failoverTopics: 'local'`: produce into `<topic>` on the
 *   secondary; consumers drain `primary.<topic>` first, then read `<topic>`. A failback's copy-back then has to
 *   take `<topic>` on the secondary as its source (what producers wrote there), not `primary.<topic>`.
 * - identity policy: the same name everywhere.
 * - active-active: produce into the local topic; the group reads the local topic (`subscribe`); the copy mirrored
 *   from the other cluster is `remote`, read only by consumers that ask for the global view. With the secondary
 *   active (the primary's clients moved there) the primary's copy is also `drain`: what MM2 copied before the
 *   primary died, which the moved consumers finish before they join the group on the local topic.
 */
export function topicMapping(config: DeploymentConfig, active: ClusterRole): Record<string, TopicRoute> {
  const routes: Record<string, TopicRoute> = {};
  const other = active === 'primary' ? config.clusters.secondary : config.clusters.primary;
  for (const topic of config.topics) {
    if (config.mode === 'active-active') {
      const remote = remoteTopicName(config, other.alias, topic);
      routes[topic] =
        active === 'primary'
          ? { produce: topic, subscribe: [topic], remote: [remote] }
          : { produce: topic, subscribe: [topic], remote: [remote], drain: [remote] };
    } else if (active === 'primary' || config.replicationPolicy === 'identity') {
      routes[topic] = { produce: topic, subscribe: [topic] };
    } else if (config.failoverTopics === 'local') {
      const mirrored = remoteTopicName(config, config.clusters.primary.alias, topic);
      routes[topic] = { produce: topic, subscribe: [topic], drain: [mirrored] };
    } else {
      const mirrored = remoteTopicName(config, config.clusters.primary.alias, topic);
      routes[topic] = { produce: mirrored, subscribe: [mirrored] };
    }
  }
  return routes;
}
