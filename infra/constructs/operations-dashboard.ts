import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type HorizontalAnnotation,
  type IAlarm,
  type IMetric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { clusterRoles, type DeploymentConfig } from '#shared/config/schema.ts';
import type { FunctionName } from '../function-catalog.ts';
import { type ProbeMetricName, probeMetric, replicationTargets } from '../probe-metrics.ts';
import { cdkAcceptedPeriod } from './detection-alarms.ts';

export interface OperationsDashboardProps {
  config: DeploymentConfig;
  alarms: IAlarm[];
  functions: Partial<Record<FunctionName, IFunction>>;
}

/** One page for the on-call engineer: are the clusters up, is MM2 keeping up, did anything switch. */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const { config } = props;
    const period = Duration.seconds(cdkAcceptedPeriod(config.detection.alarmPeriodSeconds));
    const perCluster = (name: ProbeMetricName, statistic: string): IMetric[] =>
      clusterRoles.map((role) => probeMetric(config, name, role, { statistic, period }));
    const perTarget = (name: ProbeMetricName): IMetric[] =>
      replicationTargets(config).map((role) =>
        probeMetric(config, name, role, { period: Duration.minutes(1), label: `into ${role}` }),
      );
    const graph = (title: string, left: IMetric[], annotation?: HorizontalAnnotation) =>
      new GraphWidget({
        title,
        left,
        width: 8,
        height: 6,
        ...(annotation ? { leftAnnotations: [annotation] } : {}),
      });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `mm2-failover-${config.name}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          `# mm2-failover \`${config.name}\`\n${config.mode}, ${config.replicationPolicy} replication policy; ` +
          `primary \`${config.clusters.primary.alias}\`, secondary \`${config.clusters.secondary.alias}\`. ` +
          `Down = ${config.detection.datapointsToAlarm} of ${config.detection.evaluationPeriods} periods of ` +
          `${config.detection.alarmPeriodSeconds} s.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      graph('Clusters up (min per period)', perCluster('ClusterUp', 'Minimum')),
      graph('Brokers alive', perCluster('BrokersAlive', 'Minimum')),
      graph('Writable partitions (ratio)', perCluster('WritableRatio', 'Minimum')),
    );
    this.dashboard.addWidgets(
      graph('Probe latency (ms, p99)', perCluster('ProbeLatencyMs', 'p99')),
      graph('Replication lag (s)', perTarget('ReplicationLagSeconds'), {
        value: config.safety.maxLagSeconds,
        label: 'failover budget',
      }),
      graph('Replication backlog (records)', perTarget('ReplicationBacklogRecords'), {
        value: config.safety.maxLagRecords,
        label: 'failover budget',
      }),
    );
    const switches: IMetric[] = [];
    for (const name of ['failover', 'failback'] as const) {
      const fn = props.functions[name];
      if (!fn) continue;
      switches.push(
        fn.metricInvocations({ label: `${name} invocations`, period: Duration.minutes(5), statistic: 'Sum' }),
        fn.metricErrors({ label: `${name} errors`, period: Duration.minutes(5), statistic: 'Sum' }),
      );
    }
    this.dashboard.addWidgets(
      graph('Checkpoint lag (records)', perTarget('CheckpointLagRecords')),
      graph('Failovers and failbacks', switches),
    );
  }
}
