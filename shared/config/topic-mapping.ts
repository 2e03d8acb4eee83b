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
export function topicRouting(config: DeploymentConfig, active: ClusterRole): TopicRouting {
  const other = active === 'primary' ? config.clusters.secondary : config.clusters.primary;
  if (config.mode === 'active-active') {
    const remote = remotePrefix(config, other.alias);
    return active === 'primary'
      ? { producePrefix: '', subscribePrefixes: [''], remotePrefixes: [remote] }
      : { producePrefix: '', subscribePrefixes: [''], remotePrefixes: [remote], drainPrefixes: [remote] };
  }
  if (active === 'primary' || config.replicationPolicy === 'identity') {
    return { producePrefix: '', subscribePrefixes: [''] };
  }
  const mirrored = remotePrefix(config, config.clusters.primary.alias);
  if (config.failoverTopics === 'local') {
    return { producePrefix: '', subscribePrefixes: [''], drainPrefixes: [mirrored] };
  }
  return { producePrefix: mirrored, subscribePrefixes: [mirrored] };
}

/** The route of `topic` under a routing rule. */
export function routeByRule(routing: TopicRouting, topic: string): TopicRoute {
  return {
    produce: `${routing.producePrefix}${topic}`,
    subscribe: routing.subscribePrefixes.map((prefix) => `${prefix}${topic}`),
    ...(routing.remotePrefixes
      ? { remote: routing.remotePrefixes.map((prefix) => `${prefix}${topic}`) }
      : {}),
    ...(routing.drainPrefixes ? { drain: routing.drainPrefixes.map((prefix) => `${prefix}${topic}`) } : {}),
  };
}

/** What clients produce to and subscribe to for each of the config's topics when `active` is the active cluster. */
export function topicMapping(config: DeploymentConfig, active: ClusterRole): Record<string, TopicRoute> {
  const routing = topicRouting(config, active);
  return Object.fromEntries(config.topics.map((topic) => [topic, routeByRule(routing, topic)]));
}
