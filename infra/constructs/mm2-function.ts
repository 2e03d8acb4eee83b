import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  type IDestination,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BundledConfig } from '../bundled-config.ts';
import {
  builtinAliases,
  esbuildTarget,
  esmRequireBanner,
  externalModules,
  injectedModules,
  mainFields,
} from '../bundling.ts';
import type { FunctionSpec } from '../function-catalog.ts';

/** Where the functions run: the operator's subnets and security groups (clusters are usually private). */
export interface VpcPlacement {
  vpc: IVpc;
  subnets: ISubnet[];
  securityGroups: ISecurityGroup[];
}

export interface Mm2FunctionProps {
  spec: FunctionSpec;
  /** `functions/<name>/handler.ts`, exporting `handler`. */
  entry: string;
  projectRoot: string;
  depsLockFilePath: string;
  /** The deployment config, copied into the bundle (infra/bundled-config.ts). */
  config: BundledConfig;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  tracing: boolean;
  vpc?: VpcPlacement;
  /** Where an async invocation that failed all its retries is reported. */
  onFailure?: IDestination;
  maxEventAge?: Duration;
}

/**
 * One of the product's Lambda functions: its own role (no managed policies, every statement scoped by the
 * stack), its own log group with retention, and an esbuild bundle for `nodejs24.x` on arm64.
 */
export class Mm2Function extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: Mm2FunctionProps) {
    super(scope, id);
    const { spec } = props;
    const stack = Stack.of(this);

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `mm2-failover ${spec.name} function`,
    });

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Logs of a failover are evidence for the post-mortem: they outlive the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // What AWSLambdaBasicExecutionRole grants, narrowed to this function's own log group.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    if (props.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants, narrowed where EC2 allows it.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'CreateEnisInConfiguredSubnets',
          actions: ['ec2:CreateNetworkInterface'],
          resources: [
            ...props.vpc.subnets.map((s) =>
              stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: s.subnetId }),
            ),
            ...props.vpc.securityGroups.map((g) =>
              stack.formatArn({
                service: 'ec2',
                resource: 'security-group',
                resourceName: g.securityGroupId,
              }),
            ),
            stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' }),
          ],
        }),
      );
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'ManageOwnEnis',
          actions: [
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: [stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' })],
        }),
      );
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'DescribeEnisAndSubnets',
          actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
          // IAM-WILDCARD: EC2 Describe* actions support no resource-level permissions; "*" is the only
          // resource AWS accepts (Lambda developer guide, "Execution role and user permissions").
          resources: ['*'],
        }),
      );
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      description: spec.description,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      ...(spec.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: spec.reservedConcurrency }),
      retryAttempts: spec.retryAttempts,
      ...(props.maxEventAge ? { maxEventAge: props.maxEventAge } : {}),
      ...(props.onFailure ? { onFailure: props.onFailure } : {}),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: { ...props.config.environment, ...props.environment },
      ...(props.vpc
        ? {
            vpc: props.vpc.vpc,
            vpcSubnets: { subnets: props.vpc.subnets },
            securityGroups: props.vpc.securityGroups,
          }
        : {}),
      projectRoot: props.projectRoot,
      depsLockFilePath: props.depsLockFilePath,
      bundling: {
        format: OutputFormat.ESM,
        target: esbuildTarget,
        mainFields,
        banner: esmRequireBanner,
        externalModules,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Stack traces map to file and line without shipping every dependency's source a second time; the
        // injected module maps them when they are formatted (no --enable-source-maps: infra/bundling.ts).
        sourcesContent: false,
        inject: injectedModules,
        logLevel: LogLevel.WARNING,
        // Node built-ins reached through `require`, not an ES module facade (infra/bundling.ts says why).
        esbuildArgs: { '--alias': Object.entries(builtinAliases).map(([from, to]) => `${from}=${to}`) },
        commandHooks: props.config.commandHooks,
      },
    });
  }
}
