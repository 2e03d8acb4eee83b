import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';

/**
 * The alarms that decide, defined once: the CDK stack turns these into CloudWatch alarms and the drill
 * evaluates the very same rules on the metrics the probe emitted, so a drill proves the deployed logic.
 */

export type Statistic = 'Maximum' | 'Minimum' | 'Average' | 'SampleCount';
type Comparison = 'LessThanThreshold' | 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold';
type MissingData = 'breaching' | 'notBreaching' | 'missing';

export interface AlarmSpec {
  id: 'PrimaryDown' | 'SecondaryDown' | 'ProberStale' | 'ReplicationLagWarning' | 'ReplicationLagCritical';
  description: string;
  metricName: string;
  /** Dimension values besides `Deployment` (always the deployment name). */
  cluster?: ClusterRole;
  statistic: Statistic;
  comparison: Comparison;
  threshold: number;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: MissingData;
}

/** The composite that triggers failover: primary down AND secondary up AND prober alive. */
export const failoverComposite = {
  id: 'FailoverComposite',
  allOf: ['PrimaryDown'] as const,
  noneOf: ['SecondaryDown', 'ProberStale'] as const,
};

export function alarmSpecs(config: DeploymentConfig): AlarmSpec[] {
  const d = config.detection;
  const down = (cluster: ClusterRole): AlarmSpec => ({
    id: cluster === 'primary' ? 'PrimaryDown' : 'SecondaryDown',
    description: `${cluster} cluster of ${config.name} judged down in ${d.datapointsToAlarm} of ${d.evaluationPeriods} periods of ${d.alarmPeriodSeconds}s`,
    metricName: 'ClusterUp',
    cluster,
    // Maximum < 1: a period counts as down only when every probe in it failed, so one lost probe is not "down".
    statistic: 'Maximum',
    comparison: 'LessThanThreshold',
    threshold: 1,
    periodSeconds: d.alarmPeriodSeconds,
    evaluationPeriods: d.evaluationPeriods,
    datapointsToAlarm: d.datapointsToAlarm,
    // The probe emits ClusterUp=0 on every failure; missing data means the prober is broken, which
    // ProberStale reports. Treating it as "not breaching" keeps a dead prober from causing a failover.
    treatMissingData: 'notBreaching',
  });
  // A prober that misses three cycles is stale. CloudWatch allows high-resolution periods of 10, 20 or 30 s,
  // or multiples of 60; 30 s covers the gap between two scheduled invocations of the probe.
  const stalePeriod =
    3 * d.probeIntervalSeconds <= 30 ? 30 : 60 * Math.ceil((3 * d.probeIntervalSeconds) / 60);
  return [
    down('primary'),
    down('secondary'),
    {
      id: 'ProberStale',
      description: `the prober of ${config.name} has not reported for ${stalePeriod}s`,
      metricName: 'ProberHeartbeat',
      statistic: 'SampleCount',
      comparison: 'LessThanThreshold',
      threshold: 1,
      periodSeconds: stalePeriod,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: 'breaching',
    },
    {
      id: 'ReplicationLagWarning',
      description: `replication to the secondary of ${config.name} is more than half the failover budget behind`,
      metricName: 'ReplicationLagSeconds',
      cluster: 'secondary',
      statistic: 'Maximum',
      comparison: 'GreaterThanThreshold',
      threshold: Math.max(1, Math.floor(config.safety.maxLagSeconds / 2)),
      periodSeconds: d.lagAlarmPeriodSeconds,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: 'missing',
    },
    {
      id: 'ReplicationLagCritical',
      description: `replication to the secondary of ${config.name} is past the automatic failover budget`,
      metricName: 'ReplicationLagSeconds',
      cluster: 'secondary',
      statistic: 'Maximum',
      comparison: 'GreaterThanThreshold',
      threshold: config.safety.maxLagSeconds,
      periodSeconds: d.lagAlarmPeriodSeconds,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: 'missing',
    },
  ];
}
