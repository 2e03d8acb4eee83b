import type { ClusterRole } from '../config/schema.ts';
import { type Finding, finding } from './finding.ts';
import type { TopicConfigs, TopicLayouts } from './readiness-cluster.ts';

/** A watched topic on the source and the name the replication policy gives its copy on the target. */
export interface MirroredTopic {
  topic: string;
  remote: string;
}

/** One side of a replication direction, as read by the audit. */
interface ClusterSnapshot {
  role: ClusterRole;
  layouts: TopicLayouts;
  configs: Map<string, TopicConfigs>;
}

export interface TopicAuditInput {
  topics: readonly MirroredTopic[];
  source: ClusterSnapshot;
  target: ClusterSnapshot;
  compareConfigs: readonly string[];
  minReplicationFactor: number;
}

/**
 * Each watched topic against its copy: present under the policy's name, the same partition count (MM2 copies
 * partition i to partition i, and consumers' translated offsets are per partition), the same behaviour-changing
 * settings (MM2 leaves some unsynced by default: `min.insync.replicas`, `message.timestamp.type`), and enough
 * replicas on the target.
 */
export function auditTopics(input: TopicAuditInput): Finding[] {
  const { source, target } = input;
  const findings: Finding[] = [];
  for (const { topic, remote } of input.topics) {
    const s = source.layouts.topics.get(topic);
    const t = target.layouts.topics.get(remote);
    if (s === undefined) {
      findings.push(
        finding({
          code: 'source-topic-missing',
          topic,
          expected: `topic ${topic} on the ${source.role}`,
          found: 'absent',
          fix: `create ${topic} on the ${source.role}, or remove it from the deployment's topics`,
        }),
      );
      continue;
    }
    const sourceConfigs = source.configs.get(topic) ?? {};
    if (t === undefined) {
      const replicationFactor = Math.min(
        Math.max(s.replicationFactor, input.minReplicationFactor),
        Math.max(1, target.layouts.brokers),
      );
      const configs = knownValues(sourceConfigs, input.compareConfigs);
      findings.push(
        finding({
          code: 'topic-missing',
          topic,
          expected: `topic ${remote} on the ${target.role} with ${s.partitions} partitions`,
          found: 'absent',
          fix: `CreateTopics on the ${target.role}: ${remote} with ${s.partitions} partitions, replication factor ${replicationFactor}${describeConfigs(configs)}; and let MM2 mirror it (see any mirror-topics-not-covered finding)`,
          action: {
            kind: 'create-topic',
            cluster: target.role,
            topic: remote,
            partitions: s.partitions,
            replicationFactor,
            configs,
          },
        }),
      );
      continue;
    }
    if (t.partitions !== s.partitions)
      findings.push(partitionFinding(topic, remote, s.partitions, t.partitions, input));
    if (t.replicationFactor < input.minReplicationFactor) {
      findings.push(
        finding({
          code: 'replication-factor',
          topic,
          expected: `replication factor of ${remote} at least ${input.minReplicationFactor}`,
          found: `${t.replicationFactor}`,
          fix: `reassign ${remote}'s partitions on the ${target.role} to ${input.minReplicationFactor} replicas (kafka-reassign-partitions.sh --execute with a plan listing ${input.minReplicationFactor} brokers per partition)`,
        }),
      );
    }
    const targetConfigs = target.configs.get(remote) ?? {};
    for (const name of input.compareConfigs) {
      const want = sourceConfigs[name]?.value;
      const have = targetConfigs[name]?.value;
      if (want === undefined || want === null || have === undefined || have === null || want === have)
        continue;
      findings.push(
        finding({
          code: 'config-mismatch',
          topic,
          expected: `${name}=${want} (as ${topic} on the ${source.role})`,
          found: `${name}=${have} on ${remote}`,
          fix: `AlterConfigs on the ${target.role}: ${remote} ${name}=${want}`,
          action: { kind: 'alter-topic-configs', cluster: target.role, topic: remote, set: { [name]: want } },
        }),
      );
    }
  }
  return findings;
}

/**
 * Fewer partitions on the target are what MM2 adds itself at its next topic refresh (`refresh.topics.interval`,
 * 10 minutes by default): adding them now closes that window. More on the target cannot be undone there: the
 * primary must grow to match (keyed records then hash over more partitions), or the copy be recreated.
 */
function partitionFinding(
  topic: string,
  remote: string,
  sourceCount: number,
  targetCount: number,
  input: TopicAuditInput,
): Finding {
  const { source, target } = input;
  const base = {
    code: 'partition-count' as const,
    topic,
    expected: `${sourceCount} partitions on ${remote} (as ${topic} on the ${source.role})`,
    found: `${targetCount}`,
  };
  if (targetCount < sourceCount) {
    return finding({
      ...base,
      fix: `CreatePartitions on the ${target.role}: ${remote} to ${sourceCount}`,
      action: { kind: 'create-partitions', cluster: target.role, topic: remote, count: sourceCount },
    });
  }
  return finding({
    ...base,
    fix:
      `partitions cannot be removed from ${remote}: CreatePartitions on the ${source.role}: ${topic} to ${targetCount} ` +
      `(new keyed records then hash over ${targetCount} partitions), or delete ${remote} on the ${target.role} and let MM2 recreate it with ${sourceCount}`,
    action: { kind: 'create-partitions', cluster: source.role, topic, count: targetCount },
  });
}

function knownValues(configs: TopicConfigs, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = configs[name]?.value;
    if (value !== undefined && value !== null) out[name] = value;
  }
  return out;
}

function describeConfigs(configs: Record<string, string>): string {
  const entries = Object.entries(configs);
  return entries.length === 0 ? '' : `, configs ${entries.map(([k, v]) => `${k}=${v}`).join(', ')}`;
}
