/**
 * MirrorMaker 2's replication policies, with the semantics of
 * `org.apache.kafka.connect.mirror.{DefaultReplicationPolicy,IdentityReplicationPolicy}` and the default
 * methods of `ReplicationPolicy`, so names computed here are the names MM2 creates.
 *
 * - default: `<sourceAlias><separator><topic>`; internal topics use the separator too
 *   (`replication.policy.internal.topic.separator.enabled`, default true).
 * - identity: topic names are kept, except heartbeats, which are still prefixed so that heartbeats from
 *   several clusters can be told apart. The source of a non-heartbeat topic cannot be read from its name.
 */
export type ReplicationPolicyKind = 'default' | 'identity';

export interface ReplicationPolicyOptions {
  kind: ReplicationPolicyKind;
  /** `replication.policy.separator` (default `.`). */
  separator?: string;
  /** `replication.policy.internal.topic.separator.enabled` (default true): use the separator in internal topics. */
  internalTopicSeparatorEnabled?: boolean;
  /** `heartbeats.topic.name` (default `heartbeats`). */
  heartbeatsTopic?: string;
  /** Identity policy's `source.cluster.alias`: what `topicSource` answers for a non-heartbeat topic. */
  sourceClusterAlias?: string;
}

export interface ReplicationPolicy {
  readonly kind: ReplicationPolicyKind;
  readonly separator: string;
  /** The name `topic` from cluster `sourceAlias` has on the target cluster. */
  formatRemoteTopic(sourceAlias: string, topic: string): string;
  /** The alias of the cluster a remote topic came from, or `undefined` for a local topic (or unknown). */
  topicSource(topic: string): string | undefined;
  /** The topic's name one hop upstream, or `undefined` for a local topic. */
  upstreamTopic(topic: string): string | undefined;
  /** The topic's name on the cluster where it originated, following every hop. */
  originalTopic(topic: string): string;
  heartbeatsTopic(): string;
  /** `<alias>.checkpoints.internal`: on the target, the checkpoints of groups from cluster `alias`. */
  checkpointsTopic(alias: string): string;
  /** `mm2-offset-syncs.<alias>.internal`; which alias depends on the topic's location: see {@link offsetSyncsTopic}. */
  offsetSyncsTopicName(alias: string): string;
  isCheckpointsTopic(topic: string): boolean;
  isHeartbeatsTopic(topic: string): boolean;
  /** MM2's own internal topics (`*.internal`). */
  isMm2InternalTopic(topic: string): boolean;
  /** MM2's, Kafka's (`__*`, `.*`) and Connect's (`*-internal`, `*.internal`) internal topics. */
  isInternalTopic(topic: string): boolean;
}

const DEFAULT_SEPARATOR = '.';
const DEFAULT_HEARTBEATS_TOPIC = 'heartbeats';

/** Build a policy from the deployment config's `replicationPolicy` and `separator`, or from explicit options. */
export function replicationPolicy(
  options: ReplicationPolicyOptions | { replicationPolicy: ReplicationPolicyKind; separator?: string },
): ReplicationPolicy {
  const o: ReplicationPolicyOptions =
    'kind' in options ? options : { kind: options.replicationPolicy, separator: options.separator };
  return o.kind === 'identity' ? identityPolicy(o) : defaultPolicy(o);
}

function defaultPolicy(o: ReplicationPolicyOptions): ReplicationPolicy {
  const separator = o.separator ?? DEFAULT_SEPARATOR;
  if (separator.length === 0) throw new Error('replication policy separator must not be empty');
  const internalSeparator = (o.internalTopicSeparatorEnabled ?? true) ? separator : '.';
  const internalSuffix = `${internalSeparator}internal`;
  const checkpointsSuffix = `${internalSeparator}checkpoints${internalSuffix}`;
  const heartbeats = o.heartbeatsTopic ?? DEFAULT_HEARTBEATS_TOPIC;

  const topicSource = (topic: string): string | undefined => {
    const parts = javaSplit(topic, separator);
    return parts.length < 2 ? undefined : parts[0];
  };
  const upstreamTopic = (topic: string): string | undefined => {
    const source = topicSource(topic);
    return source === undefined ? undefined : topic.substring(source.length + separator.length);
  };
  return withDefaults({
    kind: 'default',
    separator,
    formatRemoteTopic: (sourceAlias, topic) => `${sourceAlias}${separator}${topic}`,
    topicSource,
    upstreamTopic,
    heartbeatsTopic: () => heartbeats,
    checkpointsTopic: (alias) => `${alias}${checkpointsSuffix}`,
    offsetSyncsTopicName: (alias) => `mm2-offset-syncs${internalSeparator}${alias}${internalSuffix}`,
    isCheckpointsTopic: (topic) => topic.endsWith(checkpointsSuffix),
    isMm2InternalTopic: (topic) => topic.endsWith(internalSuffix),
  });
}

function identityPolicy(o: ReplicationPolicyOptions): ReplicationPolicy {
  const base = defaultPolicy(o);
  const looksLikeHeartbeat = (topic: string): boolean => topic.endsWith(base.heartbeatsTopic());
  return withDefaults({
    ...base,
    kind: 'identity',
    formatRemoteTopic: (sourceAlias, topic) =>
      looksLikeHeartbeat(topic) ? base.formatRemoteTopic(sourceAlias, topic) : topic,
    topicSource: (topic) => (looksLikeHeartbeat(topic) ? base.topicSource(topic) : o.sourceClusterAlias),
    upstreamTopic: (topic) => (looksLikeHeartbeat(topic) ? base.upstreamTopic(topic) : topic),
  });
}

type Core = Omit<ReplicationPolicy, 'originalTopic' | 'isHeartbeatsTopic' | 'isInternalTopic'>;

/** `ReplicationPolicy`'s default methods, written in terms of the core ones exactly as Kafka does. */
function withDefaults(core: Core): ReplicationPolicy {
  const originalTopic = (topic: string): string => {
    let current = topic;
    // Bounded: each hop strips a non-empty prefix, and identity's upstream of a plain topic is itself.
    for (;;) {
      const upstream = core.upstreamTopic(current);
      if (upstream === undefined || upstream === current) return current;
      current = upstream;
    }
  };
  return {
    ...core,
    originalTopic,
    isHeartbeatsTopic: (topic) => core.heartbeatsTopic() === originalTopic(topic),
    isInternalTopic: (topic) =>
      core.isMm2InternalTopic(topic) ||
      topic.startsWith('__') ||
      topic.startsWith('.') ||
      topic.endsWith('-internal') ||
      topic.endsWith('.internal'),
  };
}

/** Java's `Pattern.split`: trailing empty strings are removed (`"a."` splits to `["a"]`). */
function javaSplit(s: string, separator: string): string[] {
  const parts = s.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** `offset-syncs.topic.location` (KIP-716): where the source connector writes its offset syncs. */
export type OffsetSyncsLocation = 'source' | 'target';

/**
 * Where the offset syncs of the flow `sourceAlias -> targetAlias` live, as `MirrorSourceConfig.offsetSyncsTopic`
 * computes it: on the source as `mm2-offset-syncs.<target>.internal` (the default), or on the target as
 * `mm2-offset-syncs.<source>.internal` (the topic is always named after the *other* cluster).
 */
export function offsetSyncsTopic(
  policy: ReplicationPolicy,
  flow: { sourceAlias: string; targetAlias: string; location: OffsetSyncsLocation },
): { cluster: OffsetSyncsLocation; topic: string } {
  return flow.location === 'source'
    ? { cluster: 'source', topic: policy.offsetSyncsTopicName(flow.targetAlias) }
    : { cluster: 'target', topic: policy.offsetSyncsTopicName(flow.sourceAlias) };
}
