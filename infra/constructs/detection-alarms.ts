import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmRule,
  AlarmState,
  type CfnAlarm,
  ComparisonOperator,
  CompositeAlarm,
  type IAlarm,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { type AlarmSpec, alarmSpecs, failoverComposite } from '#shared/alarms/specs.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';

export interface DetectionAlarmsProps {
  config: DeploymentConfig;
  topic: ITopic;
  /** Triggered when the composite alarm enters ALARM; absent until the failover function exists. */
  failover?: IFunction;
  /** Alarms built without notifications of their own: they notify through FailbackAlarmSuppression. */
  notifyElsewhere?: readonly AlarmSpec['id'][];
}

const comparisons: Record<AlarmSpec['comparison'], ComparisonOperator> = {
  LessThanThreshold: ComparisonOperator.LESS_THAN_THRESHOLD,
  GreaterThanThreshold: ComparisonOperator.GREATER_THAN_THRESHOLD,
  GreaterThanOrEqualToThreshold: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
};
const missingData: Record<AlarmSpec['treatMissingData'], TreatMissingData> = {
  breaching: TreatMissingData.BREACHING,
  notBreaching: TreatMissingData.NOT_BREACHING,
  missing: TreatMissingData.MISSING,
};

/**
 * CloudWatch alarms accept periods of 10, 20, 30 s and multiples of 60 (PutMetricAlarm), but CDK's Metric
 * refuses 20 (it checks the GetMetricData list it knows: 1, 5, 10, 30, 60n). The metric is built with 10 and
 * the alarm's own Period set to 20 afterwards.
 */
export function cdkAcceptedPeriod(seconds: number): number {
  return seconds === 20 ? 10 : seconds;
}

/** `mm2-failover-<name>-primary-down` and so on: stable names an operator can find and a runbook can cite. */
export function alarmName(config: DeploymentConfig, id: string): string {
  return `mm2-failover-${config.name}-${id.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`;
}

/**
 * The alarms that decide "down for long enough", built from the rules in `shared/alarms/specs.ts` (which the
 * drill evaluates too, so a drill exercises exactly the deployed logic), and the composite that triggers
 * failover: primary down AND NOT secondary down AND NOT prober stale.
 *
 * The automation switch is *not* part of the composite: a composite can only combine alarms, and the switch is a
 * parameter. The failover function reads `/mm2-failover/<name>/automation` and refuses alarm-triggered runs when
 * it is `disabled`; the alarms and their notifications fire either way.
 */
export class DetectionAlarms extends Construct {
  readonly byId: Record<AlarmSpec['id'], Alarm>;
  readonly failoverTrigger: CompositeAlarm;
  readonly failoverRule?: Rule;
  /** `StandbyReady` < 1: the last readiness audit found the secondary unable to take over; absent when disabled. */
  readonly standbyNotReady?: Alarm;
  /** Every alarm, for the dashboard's status widget. */
  readonly all: IAlarm[];

  constructor(scope: Construct, id: string, props: DetectionAlarmsProps) {
    super(scope, id);
    const { config } = props;
    const namespace = deploymentPaths(config.name).metricsNamespace;
    const notify = new SnsAction(props.topic);

    const byId: Partial<Record<AlarmSpec['id'], Alarm>> = {};
    for (const spec of alarmSpecs(config)) {
      const alarm = new Alarm(this, spec.id, {
        alarmName: alarmName(config, spec.id),
        alarmDescription: spec.description,
        metric: new Metric({
          namespace,
          metricName: spec.metricName,
          dimensionsMap: { Deployment: config.name, ...(spec.cluster ? { Cluster: spec.cluster } : {}) },
          statistic: spec.statistic,
          period: Duration.seconds(cdkAcceptedPeriod(spec.periodSeconds)),
        }),
        threshold: spec.threshold,
        comparisonOperator: comparisons[spec.comparison],
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        treatMissingData: missingData[spec.treatMissingData],
      });
      if (cdkAcceptedPeriod(spec.periodSeconds) !== spec.periodSeconds) {
        (alarm.node.defaultChild as CfnAlarm).period = spec.periodSeconds;
      }
      if (!props.notifyElsewhere?.includes(spec.id)) {
        alarm.addAlarmAction(notify);
        alarm.addOkAction(notify);
      }
      byId[spec.id] = alarm;
    }
    this.byId = byId as Record<AlarmSpec['id'], Alarm>;

    this.failoverTrigger = new CompositeAlarm(this, failoverComposite.id, {
      compositeAlarmName: alarmName(config, 'FailoverTrigger'),
      alarmDescription:
        'Primary down AND secondary not down AND prober not stale: triggers the failover function, which ' +
        're-probes and checks the automation switch, lag budget and cooldown before it switches anything.',
      alarmRule: AlarmRule.allOf(
        ...failoverComposite.allOf.map((a) => AlarmRule.fromAlarm(this.byId[a], AlarmState.ALARM)),
        ...failoverComposite.noneOf.map((a) =>
          AlarmRule.not(AlarmRule.fromAlarm(this.byId[a], AlarmState.ALARM)),
        ),
      ),
    });
    this.failoverTrigger.addAlarmAction(notify);
    this.failoverTrigger.addOkAction(notify);
    this.all = [...Object.values(this.byId), this.failoverTrigger];

    if (config.readiness.enabled) {
      // One datapoint per audit: a period of at least the audit interval (a multiple of 60 s, as CloudWatch
      // wants for periods over 30 s) holds one, and between audits the alarm keeps its state (missing data).
      const periodSeconds = Math.max(60, Math.ceil(config.readiness.intervalSeconds / 60) * 60);
      this.standbyNotReady = new Alarm(this, 'StandbyNotReady', {
        alarmName: alarmName(config, 'StandbyNotReady'),
        alarmDescription:
          'The standby readiness audit found the secondary unable to take over (topics, configs, ACLs, schemas or ' +
          'MirrorMaker 2 configuration): `mm2-failover status` lists the findings, `mm2-failover audit --fix` the fixes.',
        metric: new Metric({
          namespace,
          metricName: 'StandbyReady',
          dimensionsMap: { Deployment: config.name },
          statistic: 'Minimum',
          period: Duration.seconds(periodSeconds),
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: TreatMissingData.MISSING,
      });
      this.standbyNotReady.addAlarmAction(notify);
      this.standbyNotReady.addOkAction(notify);
      this.all.push(this.standbyNotReady);
    }

    if (props.failover) {
      this.failoverRule = new Rule(this, 'FailoverOnAlarm', {
        description: `mm2-failover ${config.name}: invoke failover when the failover-trigger composite alarm enters ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: [this.failoverTrigger.alarmArn],
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [
          new LambdaFunction(props.failover, {
            // Retries only when Lambda refuses the event itself (throttled past reserved concurrency, service error).
            retryAttempts: 4,
            maxEventAge: Duration.minutes(30),
          }),
        ],
      });
    }
  }
}
