import type { Admin } from 'kafkajs';
import { describeError, KafkaOperationError } from '../errors.ts';
import type { ClusterClient } from '../kafka/cluster-client.ts';
import { classifyKafkaError } from '../kafka/failure-reason.ts';
import type { AclBinding } from './finding.ts';
import type {
  AclListing,
  PartitionRecords,
  ReadinessAdmin,
  ReadinessCluster,
  TopicConfigs,
  TopicLayouts,
} from './readiness-cluster.ts';

/**
 * {@link ReadinessCluster} and {@link ReadinessAdmin} on kafkajs: topic layouts and records through the
 * product's cluster client (leaderless partitions reported, not thrown), configs and ACLs through a kafkajs
 * Admin (one DescribeConfigs for every topic: kafkajs sends all topic resources to one broker). The numbers are
 * the Kafka protocol's (kafkajs exports them as enums that ES module imports of kafkajs cannot reach).
 */
export interface KafkajsReadinessClusterOptions {
  /** `primary` or `secondary`, for messages. */
  role: string;
  admin(): Promise<Admin>;
  client(): Promise<Pick<ClusterClient, 'metadata' | 'listOffsets' | 'fetch'>>;
  /** Called after a failed call, so cached clients with half-dead sockets are rebuilt. */
  onFailure?(): void;
}

const TOPIC_RESOURCE = 2;
const TOPIC_CONFIG_SOURCE = 1;
const ANY = 1;
const RESOURCE_TYPES: Record<number, AclBinding['resourceType']> = { 2: 'TOPIC', 3: 'GROUP' };
const PATTERN_TYPES: Record<number, AclBinding['patternType']> = { 3: 'LITERAL', 4: 'PREFIXED' };
const PERMISSIONS: Record<number, AclBinding['permission']> = { 2: 'DENY', 3: 'ALLOW' };
const OPERATIONS: Record<number, string> = {
  2: 'ALL',
  3: 'READ',
  4: 'WRITE',
  5: 'CREATE',
  6: 'DELETE',
  7: 'ALTER',
  8: 'DESCRIBE',
  9: 'CLUSTER_ACTION',
  10: 'DESCRIBE_CONFIGS',
  11: 'ALTER_CONFIGS',
  12: 'IDEMPOTENT_WRITE',
};
/** DescribeAcls errors that mean "this cluster will not list ACLs", not "the cluster is broken". */
const ACLS_UNAVAILABLE = new Set(['SECURITY_DISABLED', 'CLUSTER_AUTHORIZATION_FAILED']);

export class KafkajsReadinessCluster implements ReadinessCluster, ReadinessAdmin {
  readonly #o: KafkajsReadinessClusterOptions;

  constructor(options: KafkajsReadinessClusterOptions) {
    this.#o = options;
  }

  describeTopics(topics: readonly string[]): Promise<TopicLayouts> {
    return this.#call('Metadata', async () => {
      const metadata = await (await this.#o.client()).metadata(topics);
      const layouts: TopicLayouts = { brokers: metadata.brokers.length, topics: new Map() };
      for (const topic of topics) {
        const info = metadata.topics.get(topic);
        if (info === undefined || info.partitions.length === 0) continue;
        layouts.topics.set(topic, {
          partitions: info.partitions.length,
          replicationFactor: Math.min(...info.partitions.map((p) => p.replicas.length)),
        });
      }
      return layouts;
    });
  }

  describeTopicConfigs(
    topics: readonly string[],
    configNames: readonly string[],
  ): Promise<Map<string, TopicConfigs>> {
    return this.#call('DescribeConfigs', async () => {
      const admin = await this.#o.admin();
      const answer = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: [...configNames] })),
      });
      const out = new Map<string, TopicConfigs>();
      for (const r of answer.resources) {
        const configs: TopicConfigs = {};
        for (const e of r.configEntries) {
          configs[e.configName] = { value: e.isSensitive ? null : e.configValue, isDefault: e.isDefault };
        }
        out.set(r.resourceName, configs);
      }
      return out;
    });
  }

  async describeAcls(): Promise<AclListing> {
    try {
      const admin = await this.#o.admin();
      const answer = await admin.describeAcls({
        resourceType: ANY,
        resourcePatternType: ANY,
        operation: ANY,
        permissionType: ANY,
      });
      const bindings: AclBinding[] = [];
      for (const r of answer.resources) {
        const resourceType = RESOURCE_TYPES[r.resourceType];
        const patternType = PATTERN_TYPES[r.resourcePatternType];
        if (resourceType === undefined || patternType === undefined) continue;
        for (const a of r.acls) {
          const permission = PERMISSIONS[a.permissionType];
          const operation = OPERATIONS[a.operation];
          if (permission === undefined || operation === undefined) continue;
          bindings.push({
            resourceType,
            resourceName: r.resourceName,
            patternType,
            principal: a.principal,
            host: a.host,
            operation,
            permission,
          });
        }
      }
      return { bindings };
    } catch (e: unknown) {
      const type = (e as { type?: unknown }).type;
      if (typeof type === 'string' && ACLS_UNAVAILABLE.has(type)) {
        return { unavailable: `DescribeAcls on the ${this.#o.role}: ${type} (${describeError(e)})` };
      }
      throw this.#failed('DescribeAcls', e);
    }
  }

  newestRecords(topic: string, count: number): Promise<PartitionRecords[]> {
    return this.#call(`read of ${topic}`, async () => {
      const client = await this.#o.client();
      const metadata = await client.metadata([topic]);
      const partitions = (metadata.topics.get(topic)?.partitions ?? []).map((p) => ({
        topic,
        partition: p.partition,
      }));
      if (partitions.length === 0) return [];
      const [earliest, latest] = await Promise.all([
        client.listOffsets(partitions, 'earliest'),
        client.listOffsets(partitions, 'latest'),
      ]);
      const low = new Map(earliest.map((o) => [o.partition, o.offset]));
      const requests = latest.flatMap((o) => {
        const start = low.get(o.partition);
        if (o.offset === undefined || start === undefined || o.offset <= start) return [];
        return [{ topic, partition: o.partition, offset: Math.max(start, o.offset - count) }];
      });
      const fetched = await client.fetch(requests);
      return partitions.map(({ partition }) => ({
        partition,
        records: (fetched.find((f) => f.partition === partition)?.records ?? [])
          .slice(-count)
          .map((r) => ({ timestamp: r.timestamp, key: r.key })),
      }));
    });
  }

  createTopics(
    topics: ReadonlyArray<{
      topic: string;
      partitions: number;
      replicationFactor: number;
      configs: Record<string, string>;
    }>,
  ): Promise<void> {
    return this.#call('CreateTopics', async () => {
      // kafkajs answers false, not an error, when every topic already exists: nothing left to do then.
      await (await this.#o.admin()).createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
      });
    });
  }

  createPartitions(items: ReadonlyArray<{ topic: string; count: number }>): Promise<void> {
    return this.#call('CreatePartitions', async () => {
      await (await this.#o.admin()).createPartitions({ topicPartitions: [...items] });
    });
  }

  /**
   * AlterConfigs replaces a topic's whole set of overrides (kafkajs has no IncrementalAlterConfigs): the
   * overrides the topic has now are read first and sent back with the changes, so nothing else is reset.
   */
  alterTopicConfigs(items: ReadonlyArray<{ topic: string; set: Record<string, string> }>): Promise<void> {
    return this.#call('AlterConfigs', async () => {
      const admin = await this.#o.admin();
      const current = await admin.describeConfigs({
        includeSynonyms: false,
        resources: items.map((i) => ({ type: TOPIC_RESOURCE, name: i.topic })),
      });
      const overrides = new Map(
        current.resources.map((r) => [
          r.resourceName,
          Object.fromEntries(
            r.configEntries
              .filter((e) => e.configSource === TOPIC_CONFIG_SOURCE && !e.isSensitive)
              .map((e) => [e.configName, e.configValue]),
          ),
        ]),
      );
      await admin.alterConfigs({
        validateOnly: false,
        resources: items.map((i) => ({
          type: TOPIC_RESOURCE,
          name: i.topic,
          configEntries: Object.entries({ ...overrides.get(i.topic), ...i.set }).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      });
    });
  }

  createAcls(acls: readonly AclBinding[]): Promise<void> {
    const number = (table: Record<number, string>, name: string): number => {
      const found = Object.entries(table).find(([, v]) => v === name);
      if (found === undefined) throw new Error(`unknown ACL value ${name}`);
      return Number(found[0]);
    };
    return this.#call('CreateAcls', async () => {
      await (await this.#o.admin()).createAcls({
        acl: acls.map((a) => ({
          resourceType: number(RESOURCE_TYPES, a.resourceType),
          resourceName: a.resourceName,
          resourcePatternType: number(PATTERN_TYPES, a.patternType),
          principal: a.principal,
          host: a.host,
          operation: number(OPERATIONS, a.operation),
          permissionType: number(PERMISSIONS, a.permission),
        })),
      });
    });
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e: unknown) {
      throw this.#failed(what, e);
    }
  }

  #failed(what: string, e: unknown): Error {
    this.#o.onFailure?.();
    return new KafkaOperationError(
      classifyKafkaError(e),
      `${what} on the ${this.#o.role} failed: ${describeError(e)}`,
      {
        cause: e,
      },
    );
  }
}
