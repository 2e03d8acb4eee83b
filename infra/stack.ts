import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SnsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import { grantFunctionAccess } from './constructs/access.ts';
import { ContractStore } from './constructs/contract-store.ts';
import { DetectionAlarms } from './constructs/detection-alarms.ts';
import { Mm2Function, type VpcPlacement } from './constructs/mm2-function.ts';
import { Notifications } from './constructs/notifications.ts';
import { OperationsDashboard } from './constructs/operations-dashboard.ts';
import { assertDeployable, environmentBytes } from './deployable.ts';
import {
  discoverFunctionEntries,
  type FunctionName,
  functionNames,
  functionSpecs,
  probeScheduleSeconds,
} from './function-catalog.ts';
import { applyNagSuppressions } from './nag-suppressions.ts';

/** The repository root: `functions/`, `package-lock.json` and `tsconfig.json` live there. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface Mm2FailoverStackProps extends StackProps {
  /** The validated deployment config (`loadDeploymentConfigFile`). */
  config: DeploymentConfig;
  /** Handler file per function. Default: each `functions/<name>/handler.ts` that exists. */
  entries?: Partial<Record<FunctionName, string>>;
  /** Active X-Ray tracing on every function (`cdk synth -c tracing=true`). */
  tracing?: boolean;
  logRetention?: RetentionDays;
}

/**
 * Everything one deployment needs: the functions, the probe schedule, the alarms that decide and the rule that
 * triggers failover, the lock/journal table, the notification topic, the contract's secrets and automation
 * switch, and a dashboard. Environment-agnostic: account and region are CloudFormation pseudo parameters, so
 * `cdk synth` needs no credentials.
 */
export class Mm2FailoverStack extends Stack {
  readonly config: DeploymentConfig;
  readonly functions: Partial<Record<FunctionName, Mm2Function>>;
  readonly table: Table;
  readonly store: ContractStore;
  readonly notifications: Notifications;
  readonly alarms: DetectionAlarms;

  constructor(scope: Construct, id: string, props: Mm2FailoverStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    const paths = deploymentPaths(config.name);
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

    // What validated at synth is what the functions validate again at cold start.
    const { $schema: _schema, ...configForFunctions } = config;
    const specs = functionSpecs(config);
    const environmentOf = (name: FunctionName): Record<string, string> => ({
      MM2_FAILOVER_CONFIG: JSON.stringify(configForFunctions),
      MM2_FAILOVER_TABLE: this.table.tableName,
      // The functions that report a switch publish to the topic themselves.
      ...(name === 'failover' || name === 'failback'
        ? { MM2_FAILOVER_TOPIC_ARN: this.notifications.topic.topicArn }
        : {}),
      POWERTOOLS_SERVICE_NAME: `mm2-failover-${name}`,
      POWERTOOLS_METRICS_NAMESPACE: paths.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // No NODE_OPTIONS=--enable-source-maps: each bundle maps its stack traces to shared/... source lines
      // itself, when one is formatted, instead of Node reading the map on every cold start (infra/bundling.ts).
    });
    assertDeployable(config, Math.max(...functionNames.map((n) => environmentBytes(environmentOf(n)))));

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
        environment: {
          ...environmentOf(name),
          ...(name === 'probe' && this.functions.failover
            ? { MM2_FAILOVER_FUNCTION: this.functions.failover.function.functionName }
            : {}),
        },
        logRetention: props.logRetention ?? RetentionDays.THREE_MONTHS,
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
      // The probe invokes the failover function asynchronously, for a repair or a credentials refresh only; the
      // function itself, not its versions or aliases (grantInvoke would add `<arn>:*`).
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

    this.alarms = new DetectionAlarms(this, 'Detection', {
      config,
      topic: this.notifications.topic,
      ...(this.functions.failover ? { failover: this.functions.failover.function } : {}),
    });

    const deployed: Partial<Record<FunctionName, IFunction>> = {};
    for (const [name, fn] of Object.entries(this.functions)) deployed[name as FunctionName] = fn.function;
    new OperationsDashboard(this, 'Operations', { config, alarms: this.alarms.all, functions: deployed });

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.notifications.topic.topicArn });
    for (const [name, fn] of Object.entries(this.functions)) {
      new CfnOutput(this, `${functionConstructId(name as FunctionName)}FunctionName`, {
        value: fn.function.functionName,
      });
    }

    applyNagSuppressions(this);
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

function functionConstructId(name: FunctionName): string {
  return `${name[0]?.toUpperCase()}${name.slice(1)}`;
}
