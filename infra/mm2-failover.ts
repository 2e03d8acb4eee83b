import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SnsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ParameterTier, StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { parseDeploymentConfig } from '#shared/config/load.ts';
import type { DeploymentConfig, DeploymentConfigInput } from '#shared/config/schema.ts';
import { ValidationError, type ValidationProblem } from '#shared/errors.ts';
import { bundledConfig } from './bundled-config.ts';
import { grantFunctionAccess } from './constructs/access.ts';
import { ContractStore } from './constructs/contract-store.ts';
import { DetectionAlarms } from './constructs/detection-alarms.ts';
import { causedByFailback, FailbackAlarmSuppression } from './constructs/failback-alarm-suppression.ts';
import { FailbackStateMachine } from './constructs/failback-state-machine.ts';
import { Mm2Function, type VpcPlacement } from './constructs/mm2-function.ts';
import { Notifications } from './constructs/notifications.ts';
import { OperationsDashboard } from './constructs/operations-dashboard.ts';
import { assertDeployable } from './deployable.ts';
import {
  discoverFunctionEntries,
  type FunctionName,
  functionNames,
  functionSpecs,
  probeScheduleSeconds,
} from './function-catalog.ts';
import { applyNagSuppressions } from './nag-suppressions.ts';

/** The package root: `functions/`, `package-lock.json` and `tsconfig.json` live there. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** docs/runbook.md of this repository, as a browser opens it. */
export const defaultRunbookUrl = 'https://github.com/mm2-failover/mm2-failover/blob/main/docs/runbook.md';

export interface FailbackDriverProps {
  /** Pause between invocations while failback waits (the primary to be stable, a manual mirror step). @default 30 s */
  readonly pause?: Duration;
  /** How long the purge waits for `mm2-failover failback approve` before the execution fails. @default 3 days */
  readonly approvalTimeout?: Duration;
  /** The longest a failback execution may run, the approval included. @default 7 days */
  readonly timeout?: Duration;
  /**
   * After a failback, how long the notifications of the alarms it causes by design stay held back.
   * @default 10 minutes
   */
  readonly alarmSuppressionExtension?: Duration;
}

export interface Mm2FailoverProps {
  /**
   * The deployment config, in the shape of `failover.config.json` (its JSON Schema is
   * `failover.config.schema.json`). Validated by the same zod schema as the file: a problem stops synth, listed
   * by path with what was expected and what was given.
   */
  readonly config: DeploymentConfigInput;
  /** Active X-Ray tracing on every function. @default false */
  readonly tracing?: boolean;
  /** Retention of the functions' and state machines' log groups (retained when the stack goes). @default 90 days */
  readonly logRetention?: RetentionDays;
  /** Where the dashboard's runbook links point: this repository's docs/runbook.md, or your copy of it. */
  readonly runbookUrl?: string;
  /** The state machine that drives failback to the end. */
  readonly failbackDriver?: FailbackDriverProps;
  /**
   * Handler file per function, `functions/<name>/handler.ts` under this package by default (each that exists).
   * For tests that deploy stand-in handlers.
   */
  readonly entries?: Partial<Record<FunctionName, string>>;
}

/**
 * One mm2-failover deployment, for any CDK app: the four functions (each with its own least-privilege role and
 * log group, the deployment config bundled with it), the probe schedule, the detection alarms and the rule that
 * triggers failover, the lock and journal table, the notification topic, the client contract's secrets and
 * automation switch, the state machine that drives failback to the end, and the operations dashboard.
 *
 * Environment-agnostic (account and region are the stack's), no lookups: synth needs no credentials. The
 * construct creates no stack outputs; the app decides what to export.
 *
 * @example
 * const dr = new Mm2Failover(stack, 'OrdersDr', { config: JSON.parse(readFileSync('failover.config.json', 'utf8')) });
 * dr.grantReadActiveConfig(ordersServiceRole);
 */
export class Mm2Failover extends Construct {
  /** The validated config, defaults filled in. */
  readonly config: DeploymentConfig;
  readonly functions: Partial<Record<FunctionName, Mm2Function>>;
  /** Locks, the failover and failback journals, the epoch authority, the purge approval. */
  readonly table: Table;
  /** The client contract's secrets and parameters. */
  readonly store: ContractStore;
  readonly notifications: Notifications;
  readonly alarms: DetectionAlarms;
  readonly dashboard: OperationsDashboard;
  /** Present when the failback function is deployed. */
  readonly failbackDriver?: FailbackStateMachine;
  /** Present with {@link failbackDriver}. */
  readonly failbackSuppression?: FailbackAlarmSuppression;
  /** `/mm2-failover/<name>/functions`: where `mm2-failover --deployment <name>` finds the functions and the table. */
  readonly functionsParameter: StringParameter;

  constructor(scope: Construct, id: string, props: Mm2FailoverProps) {
    super(scope, id);
    const config = parseDeploymentConfig(props.config, `config of Mm2Failover ${this.node.path}`);
    const driver = validatedDriverProps(props, this.node.path);
    this.config = config;
    assertDeployable(config);
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const entries = props.entries ?? discoverFunctionEntries(projectRoot);

    this.table = new Table(this, 'LockAndJournal', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      // The journal is the record of every switch: keep it if the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.store = new ContractStore(this, 'Contract', { config });
    this.notifications = new Notifications(this, 'Notifications', { config });
    const vpc = config.vpc ? this.vpcPlacement(config.vpc) : undefined;

    // What validated at synth is what the functions validate again at cold start, from the bundled file.
    const configFile = bundledConfig(this, config);
    const specs = functionSpecs(config);
    this.functions = {};
    // The failover function first: the probe asks it for repairs and credential refreshes by name.
    const ordered = [...functionNames].sort((a, b) => Number(b === 'failover') - Number(a === 'failover'));
    for (const name of ordered) {
      const entry = entries[name];
      if (!entry) continue;
      const fn = new Mm2Function(this, functionConstructId(name), {
        spec: specs[name],
        entry,
        projectRoot,
        depsLockFilePath: join(projectRoot, 'package-lock.json'),
        config: configFile,
        environment: {
          MM2_FAILOVER_TABLE: this.table.tableName,
          // The functions that report a switch publish to the topic themselves.
          ...(name === 'failover' || name === 'failback'
            ? { MM2_FAILOVER_TOPIC_ARN: this.notifications.topic.topicArn }
            : {}),
          POWERTOOLS_SERVICE_NAME: `mm2-failover-${name}`,
          POWERTOOLS_METRICS_NAMESPACE: this.store.paths.metricsNamespace,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          ...(name === 'probe' && this.functions.failover
            ? { MM2_FAILOVER_FUNCTION: this.functions.failover.function.functionName }
            : {}),
          // No NODE_OPTIONS=--enable-source-maps: each bundle maps its stack traces to shared/... source lines
          // itself, when one is formatted, instead of Node reading the map on every cold start (infra/bundling.ts).
        },
        logRetention,
        tracing: props.tracing ?? false,
        ...(vpc ? { vpc } : {}),
        ...(name === 'failover'
          ? {
              // An automatic failover that failed all its retries must not go unnoticed.
              onFailure: new SnsDestination(this.notifications.topic),
              // Older than this, the alarm that sent it is history; the next state change sends a new one.
              maxEventAge: Duration.minutes(30),
            }
          : {}),
      });
      grantFunctionAccess(name, fn.role, {
        config,
        store: this.store,
        table: this.table,
        notifications: this.notifications,
      });
      // The probe invokes the failover function asynchronously: its direct failover trigger, a repair or a
      // credentials refresh; the function itself, not its versions or aliases (grantInvoke would add `<arn>:*`).
      const failover = this.functions.failover;
      if (name === 'probe' && failover) {
        fn.role.addToPrincipalPolicy(
          new PolicyStatement({
            sid: 'AskFailoverFunction',
            actions: ['lambda:InvokeFunction'],
            resources: [failover.function.functionArn],
          }),
        );
      }
      this.functions[name] = fn;
    }

    const probe = this.functions.probe;
    if (probe) {
      new Rule(this, 'ProbeSchedule', {
        description: `mm2-failover ${config.name}: start the probe loop every minute`,
        schedule: Schedule.rate(Duration.seconds(probeScheduleSeconds)),
        targets: [new LambdaFunction(probe.function, { retryAttempts: 0 })],
      });
    }

    const failback = this.functions.failback;
    this.alarms = new DetectionAlarms(this, 'Detection', {
      config,
      topic: this.notifications.topic,
      ...(this.functions.failover ? { failover: this.functions.failover.function } : {}),
      // With a failback state machine, these notify through the suppression's composites.
      ...(failback ? { notifyElsewhere: causedByFailback } : {}),
    });

    if (failback) {
      this.failbackDriver = new FailbackStateMachine(this, 'FailbackDriver', {
        config,
        failback: failback.function,
        table: this.table,
        pause: driver.pause,
        approvalTimeout: driver.approvalTimeout,
        timeout: driver.timeout,
        logRetention,
      });
      this.failbackSuppression = new FailbackAlarmSuppression(this, 'FailbackSuppression', {
        config,
        topic: this.notifications.topic,
        alarms: this.alarms.byId,
        extension: driver.alarmSuppressionExtension,
      });
    }

    this.functionsParameter = this.describeForOperators();

    const deployed: Partial<Record<FunctionName, IFunction>> = {};
    for (const [name, fn] of Object.entries(this.functions)) deployed[name as FunctionName] = fn.function;
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      config,
      alarms: [
        ...this.alarms.all,
        ...(this.failbackSuppression ? [this.failbackSuppression.failbackInProgress] : []),
      ],
      functions: deployed,
      ...(this.failbackDriver ? { failback: this.failbackDriver.stateMachine } : {}),
      runbookUrl: props.runbookUrl ?? defaultRunbookUrl,
    });

    applyNagSuppressions(this);
  }

  /**
   * What an application needs to follow the active cluster with the client library: `ssm:GetParameter` on the
   * active parameter and its plain bootstrap-servers twin, `secretsmanager:GetSecretValue` on the active
   * credentials secret, in this region and in each of the config's extra regions, and `kms:Decrypt` on the
   * secret's key when it has a key of its own (the stack's secret uses the AWS-managed key, which needs no
   * grant). Nothing else: no cluster secret, no other parameter.
   */
  grantReadActiveConfig(grantee: IGrantable): Grant {
    const p = this.store.paths;
    const regions = [undefined, ...this.config.regions];
    const parameters = Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameter'],
      resourceArns: regions.flatMap((region) => [
        this.store.parameterArn(p.activeParameter, region),
        this.store.parameterArn(p.activeBootstrapParameter, region),
      ]),
    });
    const secret = Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [
        this.store.activeCredentials.secretArn,
        // Failover and failback write the copies there; the stack does not create them (access.ts).
        ...this.config.regions.map((region) => this.store.secretNameArn(p.activeCredentialsSecret, region)),
      ],
    });
    let grant = parameters.combine(secret);
    const key = this.store.activeCredentials.encryptionKey;
    if (key) grant = grant.combine(key.grantDecrypt(grantee));
    return grant;
  }

  /**
   * The names the operator's CLI needs, in a parameter named after the deployment: with it, `--deployment <name>`
   * works in any account and region without reading the stack's outputs (the stack may be nested or renamed).
   * Names only, no secret; it changes only when the stack replaces a function.
   */
  private describeForOperators(): StringParameter {
    const functions: Record<string, string> = {};
    for (const [name, fn] of Object.entries(this.functions)) functions[name] = fn.function.functionName;
    return new StringParameter(this, 'FunctionsParameter', {
      parameterName: this.store.paths.functionsParameter,
      stringValue: Stack.of(this).toJsonString({
        functions,
        table: this.table.tableName,
        ...(this.failbackDriver
          ? { failbackStateMachineArn: this.failbackDriver.stateMachine.stateMachineArn }
          : {}),
      }),
      description: `mm2-failover ${this.config.name}: the function names, table and failback state machine the CLI's --deployment finds`,
      tier: ParameterTier.STANDARD,
    });
  }

  private vpcPlacement(vpc: NonNullable<DeploymentConfig['vpc']>): VpcPlacement {
    // Imported by id, not looked up, so synth needs no account. The functions name their subnets explicitly,
    // so the VPC's own subnet lists (and their availability zones and route tables) are never read.
    const imported = Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: vpc.vpcId, availabilityZones: Fn.getAzs() });
    Validations.of(imported).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason: 'The functions name their subnets explicitly; nothing selects subnets of this VPC by zone.',
    });
    const subnets = vpc.subnetIds.map((id, i) => {
      const subnet = Subnet.fromSubnetId(this, `Subnet${i}`, id);
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'Only the subnet id is used (Lambda VpcConfig); nothing reads its route table.',
      });
      return subnet;
    });
    return {
      vpc: imported,
      subnets,
      securityGroups: vpc.securityGroupIds.map((id, i) =>
        // Immutable: the operator owns these groups; the stack adds no rules to them.
        SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, id, { mutable: false }),
      ),
    };
  }
}

/** `Probe`, `Failover`, ...: the construct id of a function, and so the start of its logical ids. */
export function functionConstructId(name: FunctionName): string {
  return `${name[0]?.toUpperCase()}${name.slice(1)}`;
}

type ValidatedDriverProps = Required<FailbackDriverProps>;

/** The props besides the config, checked with the same care: every problem by path. */
function validatedDriverProps(props: Mm2FailoverProps, path: string): ValidatedDriverProps {
  const d = props.failbackDriver ?? {};
  const out: ValidatedDriverProps = {
    pause: d.pause ?? Duration.seconds(30),
    approvalTimeout: d.approvalTimeout ?? Duration.days(3),
    timeout: d.timeout ?? Duration.days(7),
    alarmSuppressionExtension: d.alarmSuppressionExtension ?? Duration.minutes(10),
  };
  const problems: ValidationProblem[] = [];
  const seconds = (field: keyof ValidatedDriverProps, min: number, max: number) => {
    const s = out[field].toSeconds({ integral: false });
    if (!Number.isInteger(s) || s < min || s > max) {
      problems.push({
        path: `failbackDriver.${field}`,
        message: `expected whole seconds from ${min} to ${max}, got ${out[field].toHumanString()}`,
      });
    }
  };
  seconds('pause', 1, 3_600);
  // Step Functions: an execution of a standard state machine runs at most a year.
  seconds('timeout', 60, 365 * 86_400);
  seconds('approvalTimeout', 60, out.timeout.toSeconds({ integral: false }));
  // CloudWatch's ActionsSuppressorExtensionPeriod.
  seconds('alarmSuppressionExtension', 60, 86_400);
  if (props.runbookUrl !== undefined && !/^https?:\/\/\S+$/.test(props.runbookUrl)) {
    problems.push({ path: 'runbookUrl', message: `expected an http(s) URL, got '${props.runbookUrl}'` });
  }
  if (problems.length > 0) throw new ValidationError(`props of Mm2Failover ${path}`, problems);
  return out;
}
