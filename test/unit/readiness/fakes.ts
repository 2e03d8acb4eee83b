import { parseDeploymentConfig } from '#shared/config/load.ts';
import type { DeploymentConfig, DeploymentConfigInput } from '#shared/config/schema.ts';
import { encodeHeartbeatKey } from '#shared/kafka/mm2-records.ts';
import type { AclBinding } from '#shared/readiness/finding.ts';
import type {
  AclListing,
  PartitionRecords,
  ReadinessAdmin,
  ReadinessCluster,
  TopicConfigs,
  TopicLayouts,
} from '#shared/readiness/readiness-cluster.ts';

/** A deployment on the identity policy with a manual mirror unless the test says otherwise. */
export function readinessConfig(overrides: Partial<DeploymentConfigInput> = {}): DeploymentConfig {
  return parseDeploymentConfig({
    name: 'orders-dr',
    mode: 'active-passive',
    replicationPolicy: 'identity',
    clusters: {
      primary: { alias: 'primary', auth: 'none', expectedBrokers: 3 },
      secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 3 },
    },
    topics: ['orders'],
    consumerGroups: ['billing'],
    mirror: { kind: 'manual' },
    ...overrides,
  });
}

interface FakeTopic {
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
  records: Map<number, Array<{ timestamp: number; key: Buffer | null }>>;
}

/** Every config the audit compares, at Kafka's defaults. */
const DEFAULTS: Record<string, string> = {
  'cleanup.policy': 'delete',
  'retention.ms': '604800000',
  'retention.bytes': '-1',
  'max.message.bytes': '1048588',
  'min.insync.replicas': '2',
  'compression.type': 'producer',
  'message.timestamp.type': 'CreateTime',
};

/**
 * An in-memory cluster behind the audit's ports: topics with a layout, configs and records, ACLs (or a reason
 * they cannot be listed), every call counted, and a switch to make every call fail.
 */
export class FakeReadinessCluster implements ReadinessCluster, ReadinessAdmin {
  brokers = 3;
  readonly topics = new Map<string, FakeTopic>();
  acls: AclListing = { bindings: [] };
  readonly calls: string[] = [];
  failWith: Error | undefined;

  addTopic(
    name: string,
    partitions: number,
    options: { rf?: number; configs?: Record<string, string> } = {},
  ): this {
    this.topics.set(name, {
      partitions,
      replicationFactor: options.rf ?? 3,
      configs: { ...options.configs },
      records: new Map(),
    });
    return this;
  }

  append(topic: string, partition: number, timestamp: number, key: Buffer | null = null): this {
    const t = this.topics.get(topic);
    if (!t) throw new Error(`fake cluster has no topic ${topic}`);
    t.records.set(partition, [...(t.records.get(partition) ?? []), { timestamp, key }]);
    return this;
  }

  /** A heartbeat of the flow `source → target`, as MM2's heartbeat connector writes it. */
  heartbeat(topic: string, source: string, target: string, timestamp: number): this {
    return this.append(
      topic,
      0,
      timestamp,
      encodeHeartbeatKey({ sourceClusterAlias: source, targetClusterAlias: target }),
    );
  }

  allow(binding: Partial<AclBinding> & Pick<AclBinding, 'resourceName' | 'principal' | 'operation'>): this {
    if ('unavailable' in this.acls) throw new Error('ACLs are unavailable on this fake');
    this.acls.bindings.push({
      resourceType: 'TOPIC',
      patternType: 'LITERAL',
      host: '*',
      permission: 'ALLOW',
      ...binding,
    });
    return this;
  }

  count(op: string): number {
    return this.calls.filter((c) => c === op).length;
  }

  #enter(op: string): void {
    this.calls.push(op);
    if (this.failWith) throw this.failWith;
  }

  async describeTopics(topics: readonly string[]): Promise<TopicLayouts> {
    this.#enter('describeTopics');
    const layouts: TopicLayouts = { brokers: this.brokers, topics: new Map() };
    for (const name of topics) {
      const t = this.topics.get(name);
      if (t) layouts.topics.set(name, { partitions: t.partitions, replicationFactor: t.replicationFactor });
    }
    return layouts;
  }

  async describeTopicConfigs(
    topics: readonly string[],
    configNames: readonly string[],
  ): Promise<Map<string, TopicConfigs>> {
    this.#enter('describeTopicConfigs');
    const out = new Map<string, TopicConfigs>();
    for (const name of topics) {
      const t = this.topics.get(name);
      if (!t) throw new Error(`UNKNOWN_TOPIC_OR_PARTITION: ${name}`);
      const configs: TopicConfigs = {};
      for (const c of configNames) {
        const value = t.configs[c] ?? DEFAULTS[c];
        if (value !== undefined) configs[c] = { value, isDefault: t.configs[c] === undefined };
      }
      out.set(name, configs);
    }
    return out;
  }

  async describeAcls(): Promise<AclListing> {
    this.#enter('describeAcls');
    return this.acls;
  }

  async newestRecords(topic: string, count: number): Promise<PartitionRecords[]> {
    this.#enter('newestRecords');
    const t = this.topics.get(topic);
    if (!t) return [];
    return Array.from({ length: t.partitions }, (_, partition) => ({
      partition,
      records: (t.records.get(partition) ?? []).slice(-count),
    }));
  }

  async createTopics(
    topics: ReadonlyArray<{
      topic: string;
      partitions: number;
      replicationFactor: number;
      configs: Record<string, string>;
    }>,
  ): Promise<void> {
    this.#enter('createTopics');
    for (const t of topics)
      this.addTopic(t.topic, t.partitions, { rf: t.replicationFactor, configs: t.configs });
  }

  async createPartitions(items: ReadonlyArray<{ topic: string; count: number }>): Promise<void> {
    this.#enter('createPartitions');
    for (const i of items) {
      const t = this.topics.get(i.topic);
      if (t) t.partitions = i.count;
    }
  }

  async alterTopicConfigs(
    items: ReadonlyArray<{ topic: string; set: Record<string, string> }>,
  ): Promise<void> {
    this.#enter('alterTopicConfigs');
    for (const i of items) Object.assign(this.topics.get(i.topic)?.configs ?? {}, i.set);
  }

  async createAcls(acls: readonly AclBinding[]): Promise<void> {
    this.#enter('createAcls');
    if ('bindings' in this.acls) this.acls.bindings.push(...acls);
  }
}
