import { type Clock, systemClock } from '../clock.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { type ReplicationDirection, replicationDirections } from '../health/detection-policy.ts';
import { replicationPolicy } from '../kafka/replication-policy.ts';
import { auditAcls } from './acl-audit.ts';
import { type Finding, finding, isReady } from './finding.ts';
import { auditHeartbeats, auditMirror } from './mirror-audit.ts';
import type { MirrorSetup } from './mirror-setup.ts';
import type { PartitionRecords, ReadinessCluster, TopicConfigs, TopicLayouts } from './readiness-cluster.ts';
import { auditSchemaRegistries, auditSchemaTopic } from './schema-audit.ts';
import type { SchemaRegistry } from './schema-registry.ts';
import { auditTopics, type MirroredTopic } from './topic-audit.ts';

/**
 * The standby readiness audit (Route 53 ARC calls it a readiness check): whether applications could run on the
 * secondary now. For each replication direction it reads both clusters (one Metadata, one DescribeConfigs, one
 * DescribeAcls per cluster, whatever the number of topics), MM2's real configuration and, when configured, both
 * schema registries, and judges them (topic-audit, acl-audit, schema-audit, mirror-audit). Reads only.
 */
export interface AuditDeps {
  clusters: Record<ClusterRole, ReadinessCluster>;
  /** MM2's configuration of a direction, as its system reports it. */
  mirror(direction: ReplicationDirection): Promise<MirrorSetup>;
  /** A schema registry per cluster, when the deployment configures their URLs. */
  registries?: Record<ClusterRole, SchemaRegistry>;
  clock?: Pick<Clock, 'now'>;
}

export interface ReadinessReport {
  deployment: string;
  auditedAt: string;
  durationMs: number;
  /** No `error` finding. */
  ready: boolean;
  /** Both clusters answered: false when a `cluster-unreachable` finding says the report is blind on a side. */
  complete: boolean;
  findings: Finding[];
}

/** Records read from the flow's own heartbeats topic: enough to find this flow's among other flows'. */
const HEARTBEATS_READ = 20;

export async function auditReadiness(config: DeploymentConfig, deps: AuditDeps): Promise<ReadinessReport> {
  const clock = deps.clock ?? systemClock;
  const started = clock.now();
  const unreachable = new Map<ClusterRole, Finding>();
  const findings: Finding[] = [];
  for (const direction of replicationDirections(config)) {
    findings.push(...(await auditDirection(config, direction, deps, clock, unreachable)));
  }
  const all = [...unreachable.values(), ...findings];
  return {
    deployment: config.name,
    auditedAt: new Date(started).toISOString(),
    durationMs: clock.now() - started,
    ready: isReady(all),
    complete: unreachable.size === 0,
    findings: all,
  };
}

async function auditDirection(
  config: DeploymentConfig,
  d: ReplicationDirection,
  deps: AuditDeps,
  clock: Pick<Clock, 'now'>,
  unreachable: Map<ClusterRole, Finding>,
): Promise<Finding[]> {
  const r = config.readiness;
  const policy = replicationPolicy(config);
  const source = deps.clusters[d.source];
  const target = deps.clusters[d.target];
  const pairs: MirroredTopic[] = config.topics.map((topic) => ({
    topic,
    remote: policy.formatRemoteTopic(d.sourceAlias, topic),
  }));
  // The registry lives with the primary; its topic is judged on the way to the secondary.
  const schema =
    d.source === 'primary'
      ? {
          topic: r.schemaTopic,
          targetTopic: r.schemaTopicOnSecondary ?? r.schemaTopic,
          mirroredAs: policy.formatRemoteTopic(d.sourceAlias, r.schemaTopic),
        }
      : undefined;
  const heartbeats = {
    local: policy.heartbeatsTopic(),
    remote: policy.formatRemoteTopic(d.sourceAlias, policy.heartbeatsTopic()),
  };
  const blind = (role: ClusterRole, what: string) => (e: unknown) => {
    if (!unreachable.has(role)) {
      unreachable.set(
        role,
        finding({
          code: 'cluster-unreachable',
          expected: `the ${role} answering the audit's ${what}`,
          found: describeError(e),
          fix: `see the probe's verdict and reasons for the ${role} (ClusterUp); the audit runs again at its next turn`,
        }),
      );
    }
    return undefined;
  };

  const wantsAcls = r.aclPrincipals.length > 0;
  const [sourceLayouts, targetLayouts, sourceAcls, targetAcls, mirror, registryFindings] = await Promise.all([
    source
      .describeTopics([...pairs.map((p) => p.topic), ...(schema ? [schema.topic] : [])])
      .catch(blind(d.source, 'Metadata request')),
    target
      .describeTopics([
        ...pairs.map((p) => p.remote),
        ...(schema ? [schema.targetTopic] : []),
        heartbeats.local,
        heartbeats.remote,
      ])
      .catch(blind(d.target, 'Metadata request')),
    wantsAcls ? source.describeAcls().catch(blind(d.source, 'DescribeAcls request')) : undefined,
    wantsAcls ? target.describeAcls().catch(blind(d.target, 'DescribeAcls request')) : undefined,
    deps.mirror(d),
    schema && deps.registries
      ? auditSchemaRegistries({
          source: { role: d.source, registry: deps.registries[d.source] },
          target: { role: d.target, registry: deps.registries[d.target] },
        })
      : Promise.resolve([]),
  ]);

  const present = (layouts: TopicLayouts | undefined, topic: string) => layouts?.topics.has(topic) === true;
  const existing = (layouts: TopicLayouts | undefined, topics: readonly string[]) =>
    topics.filter((t) => present(layouts, t));
  const newest = async (
    cluster: ReadinessCluster,
    role: ClusterRole,
    layouts: TopicLayouts | undefined,
    topic: string,
    count: number,
  ): Promise<PartitionRecords[]> =>
    present(layouts, topic)
      ? ((await cluster.newestRecords(topic, count).catch(blind(role, `read of ${topic}`))) ?? [])
      : [];
  const noConfigs = new Map<string, TopicConfigs>();
  const configsOf = (cluster: ReadinessCluster, role: ClusterRole, topics: string[]) =>
    topics.length === 0
      ? Promise.resolve(noConfigs)
      : cluster
          .describeTopicConfigs(topics, r.compareConfigs)
          .then((c) => c, blind(role, 'DescribeConfigs request'));

  // Records are judged by their age when they were read, not when the slower config reads end.
  const records = Promise.all([
    schema ? newest(source, d.source, sourceLayouts, schema.topic, 1) : [],
    schema ? newest(target, d.target, targetLayouts, schema.targetTopic, 1) : [],
    newest(target, d.target, targetLayouts, heartbeats.local, HEARTBEATS_READ),
    newest(target, d.target, targetLayouts, heartbeats.remote, 1),
  ]).then((read) => ({ read, at: clock.now() }));
  const [sourceConfigs, targetConfigs, recent] = await Promise.all([
    configsOf(
      source,
      d.source,
      existing(
        sourceLayouts,
        pairs.map((p) => p.topic),
      ),
    ),
    configsOf(
      target,
      d.target,
      existing(
        targetLayouts,
        pairs.map((p) => p.remote),
      ),
    ),
    records,
  ]);
  const [schemaSource, schemaTarget, localBeats, remoteBeats] = recent.read;

  const findings: Finding[] = [];
  const now = recent.at;
  if (sourceLayouts && targetLayouts && sourceConfigs && targetConfigs) {
    findings.push(
      ...auditTopics({
        topics: pairs,
        source: { role: d.source, layouts: sourceLayouts, configs: sourceConfigs },
        target: { role: d.target, layouts: targetLayouts, configs: targetConfigs },
        compareConfigs: r.compareConfigs,
        minReplicationFactor:
          r.minReplicationFactor ?? Math.min(3, config.clusters[d.target].expectedBrokers),
      }),
    );
  }
  if (wantsAcls && sourceAcls && targetAcls) {
    findings.push(
      ...auditAcls({
        principals: r.aclPrincipals,
        topics: pairs,
        groups: config.consumerGroups,
        source: { role: d.source, acls: sourceAcls },
        target: { role: d.target, acls: targetAcls },
      }),
    );
  }
  const schemaOnSource = schema !== undefined && present(sourceLayouts, schema.topic);
  if (schema && sourceLayouts && targetLayouts) {
    findings.push(
      ...auditSchemaTopic({
        ...schema,
        source: { role: d.source, present: schemaOnSource, newest: schemaSource },
        target: { role: d.target, present: present(targetLayouts, schema.targetTopic), newest: schemaTarget },
        now,
        graceMs: r.heartbeatMaxAgeSeconds * 1000,
      }),
    );
  }
  findings.push(...registryFindings);
  findings.push(
    ...auditMirror(mirror, {
      policy,
      topics: [...config.topics, ...(schemaOnSource && schema ? [schema.topic] : [])],
      watchedTopics: config.topics,
      groups: config.consumerGroups,
      allTopics: r.mirrorTopics === 'all',
      offsetSyncsLocation: r.offsetSyncsLocation,
    }),
  );
  if (targetLayouts) {
    findings.push(
      ...auditHeartbeats({
        sourceAlias: d.sourceAlias,
        targetAlias: d.targetAlias,
        targetRole: d.target,
        local: { topic: heartbeats.local, records: localBeats },
        remote: { topic: heartbeats.remote, records: remoteBeats },
        now,
        maxAgeMs: r.heartbeatMaxAgeSeconds * 1000,
      }),
    );
  }
  return findings;
}
