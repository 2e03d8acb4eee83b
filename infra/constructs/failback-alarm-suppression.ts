import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmRule,
  AlarmState,
  ComparisonOperator,
  CompositeAlarm,
  type IAlarm,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AlarmSpec } from '#shared/alarms/specs.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import { deploymentMetric } from '../probe-metrics.ts';
import { alarmName } from './detection-alarms.ts';

/**
 * The alarms a failback sets off by design: the replication-lag alarms (failback stops the forward mirror from
 * salvage until restore, so nothing replicates into the secondary) and primary-down (the primary may be down
 * while it is rebuilt, before failback's prepare finds it stable). They still change state and still feed the
 * failover composite; only their notifications are held back while a failback runs.
 */
export const causedByFailback: readonly AlarmSpec['id'][] = [
  'PrimaryDown',
  'ReplicationLagWarning',
  'ReplicationLagCritical',
];

export interface FailbackAlarmSuppressionProps {
  config: DeploymentConfig;
  topic: ITopic;
  /** The alarms of {@link causedByFailback}, built without notifications of their own. */
  alarms: Record<(typeof causedByFailback)[number], IAlarm>;
  /**
   * After the failback, how long the notifications stay held back: the forward mirror, just restarted, needs
   * a few minutes to catch up and the lag alarms a few periods to clear.
   */
  extension: Duration;
}

/**
 * Notifications that do not page on-call for what a failback causes by design. The failback state machine puts
 * `FailbackInProgress = 1` before each invocation of the failback function and a rule puts 0 when the execution
 * ends, however it ends; the `FailbackInProgress` alarm is in ALARM in between (missing data keeps its state:
 * the state machine emits nothing while it waits for the purge approval). Each alarm of
 * {@link causedByFailback} notifies through a composite alarm of its own whose actions that alarm suppresses
 * (CloudWatch's ActionsSuppressor). When the failback is over, the suppression ends after `extension`, and an
 * alarm still in ALARM then notifies as it would have: nothing stays silenced.
 */
export class FailbackAlarmSuppression extends Construct {
  readonly failbackInProgress: Alarm;
  /** Per suppressed alarm, the composite that notifies for it. */
  readonly notifying: Record<(typeof causedByFailback)[number], CompositeAlarm>;

  constructor(scope: Construct, id: string, props: FailbackAlarmSuppressionProps) {
    super(scope, id);
    const { config } = props;
    this.failbackInProgress = new Alarm(this, 'FailbackInProgress', {
      alarmName: alarmName(config, 'FailbackInProgress'),
      alarmDescription:
        'A failback state machine execution is running: the alarms a failback causes by design notify nobody ' +
        'until it has ended.',
      metric: deploymentMetric(config, 'FailbackInProgress', { period: Duration.minutes(1) }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // Keep the last state: the 1 at the start holds until the 0 at the end.
      treatMissingData: TreatMissingData.IGNORE,
    });

    const notify = new SnsAction(props.topic);
    const notifying: Partial<Record<(typeof causedByFailback)[number], CompositeAlarm>> = {};
    for (const alarmId of causedByFailback) {
      const composite = new CompositeAlarm(this, `${alarmId}Notify`, {
        compositeAlarmName: alarmName(config, `${alarmId}Notify`),
        alarmDescription: `Notifies for ${alarmName(config, alarmId)}, except while a failback runs (it causes it by design).`,
        alarmRule: AlarmRule.fromAlarm(props.alarms[alarmId], AlarmState.ALARM),
        actionsSuppressor: this.failbackInProgress,
        // How long a notification waits for the suppressor when the alarm fires first: the price is a minute's
        // delay of these notifications outside failbacks too (failover itself is not delayed: the failover
        // composite triggers it). The suppressor reaches ALARM a period after the failback starts, minutes
        // before the lag it causes can fire an alarm.
        actionsSuppressorWaitPeriod: Duration.minutes(1),
        actionsSuppressorExtensionPeriod: props.extension,
      });
      composite.addAlarmAction(notify);
      composite.addOkAction(notify);
      notifying[alarmId] = composite;
    }
    this.notifying = notifying as Record<(typeof causedByFailback)[number], CompositeAlarm>;
  }
}
