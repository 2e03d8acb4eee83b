import type { Duration } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '#shared/config/schema.ts';

/**
 * The probe's high-resolution metrics as the dashboard reads them (the alarms come from
 * `shared/alarms/specs.ts`, with the same names and dimensions). Every metric carries the
 * `Deployment` dimension; per-cluster metrics add `Cluster` = the cluster's role (`primary` | `secondary`),
 * which stays the same across a failover while aliases are free-form. Replication metrics are reported on the
 * cluster MM2 writes into (the secondary for the forward mirror).
 */
const probeMetricNames = [
  'ClusterUp',
  'BrokersAlive',
  'WritableRatio',
  'ProbeLatencyMs',
  'ReplicationLagSeconds',
  'ReplicationBacklogRecords',
  'CheckpointLagRecords',
] as const;
export type ProbeMetricName = (typeof probeMetricNames)[number];

export interface ProbeMetricOptions {
  statistic?: string;
  period: Duration;
  label?: string;
}

export function probeMetric(
  config: DeploymentConfig,
  name: ProbeMetricName,
  role: ClusterRole,
  options: ProbeMetricOptions,
): Metric {
  return new Metric({
    namespace: deploymentPaths(config.name).metricsNamespace,
    metricName: name,
    dimensionsMap: { Deployment: config.name, Cluster: role },
    statistic: options.statistic ?? 'Maximum',
    period: options.period,
    label: options.label ?? `${role} (${config.clusters[role].alias})`,
  });
}

/** Clusters that MM2 replicates into: the secondary, and in active-active also the primary. */
export function replicationTargets(config: DeploymentConfig): ClusterRole[] {
  return config.mode === 'active-active' ? ['secondary', 'primary'] : ['secondary'];
}
