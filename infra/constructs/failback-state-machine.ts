import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import { purgeApprovalAttributes, purgeApprovalKey } from '#shared/failback-driver/purge-approvals.ts';
import {
  advanceRequest,
  confirmPurgeRequest,
  type DecisionRule,
  decisionRules,
  failbackInProgressMetric,
  otherwiseState,
  driverStateNames as S,
} from '#shared/failback-driver/states.ts';

export interface FailbackStateMachineProps {
  config: DeploymentConfig;
  /** The failback function: the only function the state machine may invoke. */
  failback: IFunction;
  /** The lock and journal table, where `AwaitPurgeApproval` leaves its task token. */
  table: ITable;
  /** `Pause` between invocations while failback waits (the primary to be stable, a manual mirror step). */
  pause: Duration;
  /** How long the purge may wait for approval before the execution fails (the journal keeps the progress). */
  approvalTimeout: Duration;
  /** The longest an execution may run, approvals included. */
  timeout: Duration;
  logRetention: RetentionDays;
}

/** Errors of the Lambda service itself (not of the function): retried quickly, as AWS recommends. */
const lambdaServiceErrors = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  // Reserved concurrency 1: an operator's invocation by hand makes the state machine's one throttled.
  'Lambda.TooManyRequestsException',
];

/**
 * Failback driven to the end: an AWS Step Functions state machine that, started once with
 * `{ requestedBy, reason }`, invokes the failback function phase after phase, pauses while failback waits, and
 * stops at the purge for an operator's approval (a task token left in the table; `mm2-failover failback
 * approve` answers it). Its states and decisions are the ones shared/failback-driver/states.ts describes for the
 * in-process driver too; the definition is rendered from them, in JSONata (a rule that reads a field an answer
 * lacks is false, not a runtime error).
 *
 * Every invocation is preceded by `FailbackInProgress = 1` (PutMetricData): the alarm on it suppresses the
 * notifications of the alarms that failback causes by design (infra/constructs/detection-alarms.ts). When the
 * execution ends, however it ends (succeeded, failed, timed out, stopped by hand), an EventBridge rule starts a
 * one-state express machine that puts `FailbackInProgress = 0`, so the suppression never outlives the failback.
 */
export class FailbackStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  /** Puts `FailbackInProgress = 0` when an execution of {@link stateMachine} ends. */
  readonly release: StateMachine;
  /** The state machine's definition as deployed (with the CDK's tokens for ARNs and names). */
  readonly definition: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: FailbackStateMachineProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    const namespace = deploymentPaths(config.name).metricsNamespace;
    const putMetric = (value: 0 | 1) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
      Arguments: {
        Namespace: namespace,
        MetricData: [
          {
            MetricName: failbackInProgressMetric,
            Dimensions: [{ Name: 'Deployment', Value: config.name }],
            Value: value,
            Unit: 'Count',
          },
        ],
      },
      Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
    });

    this.definition = failbackDefinition(props, putMetric(1));
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: `mm2-failover ${config.name}: failback to the end`,
      definitionBody: DefinitionBody.fromString(stack.toJsonString(this.definition)),
      stateMachineType: StateMachineType.STANDARD,
      timeout: props.timeout,
      role: this.role('Role', 'failback state machine: invokes the failback function'),
      tracingEnabled: true,
      // The execution data holds the task token: never in the logs.
      logs: {
        destination: this.logGroup('Logs', props.logRetention),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    const role = this.stateMachine.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'InvokeFailbackOnly',
        actions: ['lambda:InvokeFunction'],
        resources: [props.failback.functionArn, `${props.failback.functionArn}:*`],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'LeavePurgeApprovalToken',
        actions: ['dynamodb:PutItem'],
        resources: [props.table.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [purgeApprovalKey(config.name).pk] },
        },
      }),
    );
    role.addToPrincipalPolicy(putMetricDataStatement(namespace));

    this.release = new StateMachine(this, 'Release', {
      comment: `mm2-failover ${config.name}: FailbackInProgress = 0 when a failback execution ends`,
      definitionBody: DefinitionBody.fromString(
        stack.toJsonString({
          QueryLanguage: 'JSONata',
          StartAt: 'ReleaseSuppression',
          States: { ReleaseSuppression: { ...putMetric(0), End: true } },
        }),
      ),
      stateMachineType: StateMachineType.EXPRESS,
      timeout: Duration.minutes(1),
      role: this.role('ReleaseRole', 'failback suppression release: puts FailbackInProgress = 0'),
      tracingEnabled: true,
      logs: {
        destination: this.logGroup('ReleaseLogs', props.logRetention),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.release.role.addToPrincipalPolicy(putMetricDataStatement(namespace));

    new Rule(this, 'ReleaseWhenEnded', {
      description: `mm2-failover ${config.name}: lift the failback alarm suppression when a failback execution ends`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [new SfnStateMachine(this.release, { retryAttempts: 10, maxEventAge: Duration.hours(2) })],
    });
  }

  private role(id: string, description: string): Role {
    return new Role(this, id, {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
      description: `mm2-failover ${description}`,
    });
  }

  private logGroup(id: string, retention: RetentionDays): LogGroup {
    return new LogGroup(this, id, { retention, removalPolicy: RemovalPolicy.RETAIN });
  }
}

/**
 * PutMetricData authorizes on no resource narrower than `*`; the namespace condition keeps it to the
 * deployment's metrics namespace.
 */
function putMetricDataStatement(namespace: string): PolicyStatement {
  return new PolicyStatement({
    sid: 'PutFailbackInProgressMetric',
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': namespace } },
  });
}

/** `Decide`'s condition for one rule, in JSONata over the `$answer` variable. */
function ruleCondition(rule: DecisionRule): string {
  const clauses = [`$answer.status = '${rule.status}'`];
  if (rule.waitingFor !== undefined) clauses.push(`$answer.waiting.waitingFor = '${rule.waitingFor}'`);
  if (rule.firstReasonCode !== undefined) clauses.push(`$answer.reasons[0].code = '${rule.firstReasonCode}'`);
  return `{% ${clauses.join(' and ')} %}`;
}

function failbackDefinition(
  props: FailbackStateMachineProps,
  markInProgress: Record<string, unknown>,
): Record<string, unknown> {
  const { config } = props;
  const input = (field: string) => `{% $states.context.Execution.Input.${field} %}`;
  const invoke = (payload: Record<string, unknown>, next: string) => ({
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Arguments: { FunctionName: props.failback.functionArn, Payload: payload },
    Assign: { answer: '{% $states.result.Payload %}' },
    Retry: [
      {
        ErrorEquals: lambdaServiceErrors,
        IntervalSeconds: 2,
        MaxAttempts: 6,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      },
      // The function failed (a crash, its timeout): failback is journaled and resumes where it stopped.
      { ErrorEquals: ['States.ALL'], IntervalSeconds: 60, MaxAttempts: 3, BackoffRate: 2 },
    ],
    Catch: [{ ErrorEquals: ['States.ALL'], Assign: { error: '{% $states.errorOutput %}' }, Next: S.failed }],
    Next: next,
  });
  const key = purgeApprovalKey(config.name);
  const a = purgeApprovalAttributes;
  return {
    Comment: `mm2-failover ${config.name}: failback to the end (shared/failback-driver/states.ts)`,
    QueryLanguage: 'JSONata',
    StartAt: S.markInProgress,
    States: {
      [S.markInProgress]: {
        ...markInProgress,
        // A metric that cannot be written must not hold failback up.
        Catch: [{ ErrorEquals: ['States.ALL'], Next: S.advance }],
        Next: S.advance,
      },
      [S.advance]: invoke(
        advanceRequest({ requestedBy: input('requestedBy'), reason: input('reason') }),
        S.decide,
      ),
      [S.decide]: {
        Type: 'Choice',
        Choices: decisionRules.map((rule) => ({ Condition: ruleCondition(rule), Next: rule.next })),
        Default: otherwiseState,
      },
      [S.pause]: { Type: 'Wait', Seconds: props.pause.toSeconds(), Next: S.markInProgress },
      [S.awaitPurgeApproval]: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken',
        Arguments: {
          TableName: props.table.tableName,
          Item: {
            pk: { S: key.pk },
            sk: { S: key.sk },
            [a.taskToken]: { S: '{% $states.context.Task.Token %}' },
            [a.executionArn]: { S: '{% $states.context.Execution.Id %}' },
            [a.answer]: { S: '{% $string($answer) %}' },
            [a.requestedAt]: { S: '{% $states.context.State.EnteredTime %}' },
          },
        },
        TimeoutSeconds: props.approvalTimeout.toSeconds(),
        Assign: { approval: '{% $states.result %}' },
        Retry: [
          {
            ErrorEquals: [
              'DynamoDb.InternalServerErrorException',
              'DynamoDb.ProvisionedThroughputExceededException',
              'DynamoDb.RequestLimitExceeded',
              'DynamoDb.ThrottlingException',
            ],
            IntervalSeconds: 2,
            MaxAttempts: 5,
            BackoffRate: 2,
          },
        ],
        Catch: [
          { ErrorEquals: ['States.ALL'], Assign: { error: '{% $states.errorOutput %}' }, Next: S.failed },
        ],
        Next: S.confirmPurge,
      },
      [S.confirmPurge]: invoke(
        confirmPurgeRequest({ approvedBy: '{% $approval.approvedBy %}', reason: '{% $approval.reason %}' }),
        S.decide,
      ),
      [S.completed]: { Type: 'Succeed', Output: '{% $answer %}' },
      [S.refused]: { Type: 'Fail', Error: 'FailbackRefused', Cause: '{% $string($answer) %}' },
      [S.failed]: { Type: 'Fail', Error: '{% $error.Error %}', Cause: '{% $error.Cause %}' },
    },
  };
}
