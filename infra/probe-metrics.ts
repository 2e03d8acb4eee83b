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

/**
 * Metrics of the deployment as a whole, dimension `Deployment` only: the active configuration as the probe
 * reads it each cycle (`ActiveEpoch`, the epoch at rest; `ActiveOnSecondary`, 0 or 1; `ActiveConfigConsistent`,
 * 1 when the parameter and the secret agree with the epoch authority), `StandbyReady` after each readiness
 * audit, and `FailbackInProgress`, which the failback state machine emits
 * (infra/constructs/failback-state-machine.ts).
 */
const deploymentMetricNames = [
  'ActiveEpoch',
  'ActiveOnSecondary',
  'ActiveConfigConsistent',
  'StandbyReady',
  'FailbackInProgress',
] as const;
export type DeploymentMetricName = (typeof deploymentMetricNames)[number];

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

export function deploymentMetric(
  config: DeploymentConfig,
  name: DeploymentMetricName,
  options: ProbeMetricOptions,
): Metric {
  return new Metric({
    namespace: deploymentPaths(config.name).metricsNamespace,
    metricName: name,
    dimensionsMap: { Deployment: config.name },
    statistic: options.statistic ?? 'Maximum',
    period: options.period,
    // No default label: an alarm on a labelled metric is written as metric math, not as a plain metric alarm.
    ...(options.label ? { label: options.label } : {}),
  });
}

/** Clusters that MM2 replicates into: the secondary, and in active-active also the primary. */
export function replicationTargets(config: DeploymentConfig): ClusterRole[] {
  return config.mode === 'active-active' ? ['secondary', 'primary'] : ['secondary'];
}
