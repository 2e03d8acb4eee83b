import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { DeploymentConfigInput } from '#shared/config/schema.ts';
import type { FunctionName } from './function-catalog.ts';
import { functionConstructId, Mm2Failover } from './mm2-failover.ts';

export interface Mm2FailoverStackProps extends StackProps {
  /** The deployment config (`loadDeploymentConfigFile`, or the file's shape: it is validated again). */
  config: DeploymentConfigInput;
  /** Handler file per function. Default: each `functions/<name>/handler.ts` that exists. */
  entries?: Partial<Record<FunctionName, string>>;
  /** Active X-Ray tracing on every function (`cdk synth -c tracing=true`). */
  tracing?: boolean;
  logRetention?: RetentionDays;
  runbookUrl?: string;
}

/**
 * The repository's own app (`cdk.json`): one stack per deployment holding the {@link Mm2Failover} construct,
 * plus the outputs the operator's CLI needs (function names, the table, the topic, the failback state machine).
 */
export class Mm2FailoverStack extends Stack {
  readonly deployment: Mm2Failover;

  constructor(scope: Construct, id: string, props: Mm2FailoverStackProps) {
    super(scope, id, props);
    // 'Default' is left out of the logical ids: the resources keep the ids they had when the stack built them
    // itself, so updating a deployed stack replaces nothing.
    this.deployment = new Mm2Failover(this, 'Default', {
      config: props.config,
      ...(props.entries ? { entries: props.entries } : {}),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.runbookUrl ? { runbookUrl: props.runbookUrl } : {}),
    });
    const d = this.deployment;

    new CfnOutput(this, 'TableName', { value: d.table.tableName });
    new CfnOutput(this, 'NotificationTopicArn', { value: d.notifications.topic.topicArn });
    for (const [name, fn] of Object.entries(d.functions)) {
      new CfnOutput(this, `${functionConstructId(name as FunctionName)}FunctionName`, {
        value: fn.function.functionName,
      });
    }
    if (d.failbackDriver) {
      new CfnOutput(this, 'FailbackStateMachineArn', {
        value: d.failbackDriver.stateMachine.stateMachineArn,
      });
    }
  }
}
