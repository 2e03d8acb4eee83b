import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type HorizontalAnnotation,
  type IAlarm,
  type IMetric,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { clusterRoles, type DeploymentConfig } from '#shared/config/schema.ts';
import type { FunctionName } from '../function-catalog.ts';
import { deploymentMetric, type ProbeMetricName, probeMetric, replicationTargets } from '../probe-metrics.ts';
import { cdkAcceptedPeriod } from './detection-alarms.ts';

export interface OperationsDashboardProps {
  config: DeploymentConfig;
  alarms: IAlarm[];
  functions: Partial<Record<FunctionName, IFunction>>;
  /** The failback state machine, when the failback function exists. */
  failback?: IStateMachine;
  /** docs/runbook.md as the on-call engineer can open it; the dashboard links its sections. */
  runbookUrl: string;
}

/** The runbook's sections the dashboard links, by their headings' anchors in docs/runbook.md. */
const runbookSections = {
  'Which cluster is active': 'which-cluster-is-active',
  'The primary is down': 'the-primary-is-down',
  'Replication is lagging': 'replication-is-lagging',
  'The active configuration is inconsistent': 'the-active-configuration-is-inconsistent',
  'The standby is not ready': 'the-standby-is-not-ready',
  'Failing back': 'failing-back',
} as const;

/**
 * One page for the on-call engineer. First what they ask first: which cluster is active and under which epoch,
 * whether the configuration at rest is consistent, whether the standby is ready and MM2 keeping up, whether a
 * failback is running; with links to the runbook's sections. Then the alarms, then the probe's graphs.
 */
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
    const latest = (name: Parameters<typeof deploymentMetric>[1], label: string) =>
      deploymentMetric(config, name, { period: Duration.minutes(1), label });
    this.dashboard.addWidgets(
      new SingleValueWidget({
        title: 'Active cluster (0 = primary, 1 = secondary), epoch at rest, consistency',
        metrics: [
          latest('ActiveOnSecondary', 'active on secondary'),
          latest('ActiveEpoch', 'epoch at rest'),
          latest('ActiveConfigConsistent', 'parameter and secret agree with the epoch authority (1 = yes)'),
        ],
        sparkline: true,
        width: 12,
        height: 4,
      }),
      new SingleValueWidget({
        title: 'Readiness and lag',
        metrics: [
          latest('StandbyReady', 'standby ready (1 = yes)'),
          ...replicationTargets(config).map((role) =>
            probeMetric(config, 'ReplicationLagSeconds', role, {
              period: Duration.minutes(1),
              label: `replication lag into ${role} (s)`,
            }),
          ),
          latest('FailbackInProgress', 'failback running (1 = yes)'),
        ],
        sparkline: true,
        width: 12,
        height: 4,
      }),
    );
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `**Runbook** (docs/runbook.md): ${Object.entries(runbookSections)
          .map(([title, anchor]) => `[${title}](${props.runbookUrl}#${anchor})`)
          .join(' · ')}`,
        width: 24,
        height: 1,
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
    if (props.failback) {
      switches.push(
        props.failback.metricStarted({ label: 'failback executions started', period: Duration.minutes(5) }),
        props.failback.metricFailed({ label: 'failback executions failed', period: Duration.minutes(5) }),
      );
    }
    this.dashboard.addWidgets(
      graph('Checkpoint lag (records)', perTarget('CheckpointLagRecords')),
      graph('Failovers and failbacks', switches),
      graph('Active cluster and epoch', [
        latest('ActiveOnSecondary', 'active on secondary'),
        latest('ActiveEpoch', 'epoch at rest'),
      ]),
    );
  }
}
