import type { AclBinding } from './finding.ts';

/**
 * What the audit reads from a cluster, each in one request whatever the number of topics (one Metadata, one
 * DescribeConfigs, one DescribeAcls): the audit of 1,000 topics costs the same round trips as of one.
 */
export interface ReadinessCluster {
  /** Partition count and replication factor of each of `topics` (absent ones are not in the map), and brokers. */
  describeTopics(topics: readonly string[]): Promise<TopicLayouts>;
  /** `configNames` of each of `topics`, which must exist (a missing one fails the whole DescribeConfigs). */
  describeTopicConfigs(
    topics: readonly string[],
    configNames: readonly string[],
  ): Promise<Map<string, TopicConfigs>>;
  /** Every ACL binding of the cluster, or why the cluster would not list them (no authorizer, not allowed). */
  describeAcls(): Promise<AclListing>;
  /** Up to `count` newest records of each partition of `topic` (an absent topic has none). */
  newestRecords(topic: string, count: number): Promise<PartitionRecords[]>;
}

/** The changes `audit --fix --apply` makes on a cluster, each batched into one request. */
export interface ReadinessAdmin {
  createTopics(
    topics: ReadonlyArray<{
      topic: string;
      partitions: number;
      replicationFactor: number;
      configs: Record<string, string>;
    }>,
  ): Promise<void>;
  createPartitions(items: ReadonlyArray<{ topic: string; count: number }>): Promise<void>;
  /** Set the given configs, keeping every other override the topic has. */
  alterTopicConfigs(items: ReadonlyArray<{ topic: string; set: Record<string, string> }>): Promise<void>;
  createAcls(acls: readonly AclBinding[]): Promise<void>;
}

interface TopicLayout {
  partitions: number;
  /** The lowest replica count over its partitions. */
  replicationFactor: number;
}

export interface TopicLayouts {
  brokers: number;
  topics: Map<string, TopicLayout>;
}

/** A config's value, `null` when the broker hides it (sensitive); `isDefault` when nothing overrides it. */
export type TopicConfigs = Record<string, { value: string | null; isDefault: boolean }>;

export type AclListing = { bindings: AclBinding[] } | { unavailable: string };

export interface PartitionRecords {
  partition: number;
  /** Oldest first. */
  records: Array<{ timestamp: number; key: Buffer | null }>;
}
