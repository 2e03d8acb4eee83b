import { replicationPolicy } from '../kafka/replication-policy.ts';
import type { TopicRoute, TopicRouting } from './contract.ts';
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

/** MM2's prefix for topics from `sourceAlias`: both policies only ever prepend (`primary.` or nothing). */
function remotePrefix(config: DeploymentConfig, sourceAlias: string): string {
  const marker = '\u0000';
  const remote = remoteTopicName(config, sourceAlias, marker);
  return remote.slice(0, remote.length - marker.length);
}

/**
 * The rule by which clients find every logical topic when `active` is the active cluster (what the active
 * parameter carries):
 *
 * - active-passive, primary active: the topic itself.
 * - active-passive, secondary active, default policy: the mirrored `primary.<topic>`, so consumers continue the
 *   same stream they were reading (its offsets were translated there) and new records land beside it.
 * - identity policy: the same name everywhere.
 * - active-active: produce locally; subscribe to the local topic and the copy mirrored from the other cluster.
 */
export function topicRouting(config: DeploymentConfig, active: ClusterRole): TopicRouting {
  const other = active === 'primary' ? config.clusters.secondary : config.clusters.primary;
  if (config.mode === 'active-active') {
    return { producePrefix: '', subscribePrefixes: ['', remotePrefix(config, other.alias)] };
  }
  if (active === 'primary' || config.replicationPolicy === 'identity') {
    return { producePrefix: '', subscribePrefixes: [''] };
  }
  const mirrored = remotePrefix(config, config.clusters.primary.alias);
  return { producePrefix: mirrored, subscribePrefixes: [mirrored] };
}

/** The route of `topic` under a routing rule. */
export function routeByRule(routing: TopicRouting, topic: string): TopicRoute {
  return {
    produce: `${routing.producePrefix}${topic}`,
    subscribe: routing.subscribePrefixes.map((prefix) => `${prefix}${topic}`),
  };
}

/** What clients produce to and subscribe to for each of the config's topics when `active` is the active cluster. */
export function topicMapping(config: DeploymentConfig, active: ClusterRole): Record<string, TopicRoute> {
  const routing = topicRouting(config, active);
  return Object.fromEntries(config.topics.map((topic) => [topic, routeByRule(routing, topic)]));
}
