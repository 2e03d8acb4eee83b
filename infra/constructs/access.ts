import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ClusterRole, DeploymentConfig } from '#shared/config/schema.ts';
import { clusterRoles } from '#shared/config/schema.ts';
import type { FunctionName } from '../function-catalog.ts';
import type { ContractStore } from './contract-store.ts';
import type { Notifications } from './notifications.ts';

export interface AccessContext {
  config: DeploymentConfig;
  store: ContractStore;
  table: ITable;
  notifications: Notifications;
}

/**
 * What each function may touch, and nothing else: the deployment's own parameter paths and secret ARNs, the
 * table and the topic. Every statement has a `sid` so a reviewer can find it in the template.
 *
 * No `cloudwatch:PutMetricData`: the probe publishes its metrics as embedded-metric-format log lines
 * (shared/health/probe-metrics.ts through Powertools Metrics), which CloudWatch extracts from the function's own
 * log group; no function calls the PutMetricData API, so none may.
 */
export function grantFunctionAccess(name: FunctionName, role: IRole, ctx: AccessContext): void {
  const statements = accessStatements(name, ctx);
  for (const statement of statements) role.addToPrincipalPolicy(statement);
  if (name === 'failover' || name === 'failback') {
    // sns:Publish on the topic, plus kms:GenerateDataKey*/Decrypt on its key (and nothing else).
    ctx.notifications.topic.grantPublish(role);
  }
}

function accessStatements(name: FunctionName, ctx: AccessContext): PolicyStatement[] {
  const { config, store } = ctx;
  const p = store.paths;
  const clusterParameters = clusterRoles.map((r) => p.clusterParameter(r));
  const everyParameter = [
    ...clusterParameters,
    p.activeParameter,
    p.activeBootstrapParameter,
    p.automationParameter,
    p.lastProbeParameter,
    p.readinessParameter,
  ];
  const clusterSecrets = clusterRoles.map((r) => store.clusterSecretArns[r]);
  const activeSecret = store.activeCredentials.secretArn;

  switch (name) {
    case 'probe':
      return [
        // The active parameters too: the probe checks each cycle that they hold the epoch authority's epoch. Its
        // own last result: a new container continues the primary's down streak from it (the direct trigger).
        readParameters(ctx, [
          ...clusterParameters,
          p.activeParameter,
          p.activeBootstrapParameter,
          p.lastProbeParameter,
        ]),
        writeParameters(ctx, 'WriteLastProbe', [p.lastProbeParameter]),
        writeParameters(ctx, 'WriteReadinessAudit', [p.readinessParameter]),
        // The active secret's epoch tells whether the stores are torn; the probe already holds the clusters' own.
        readSecrets([...clusterSecrets, activeSecret]),
        secretVersions(clusterSecrets),
        // The epoch authority's item only: the probe reads it, never the lock or the journal.
        new PolicyStatement({
          sid: 'ReadEpochAuthority',
          actions: ['dynamodb:GetItem'],
          resources: [ctx.table.tableArn],
          conditions: {
            'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`authority#${config.name}`] },
          },
        }),
        // The readiness audit reads the Aiven replication flow.
        ...mirrorTokenAccess(ctx, 'probe'),
        ...kafkaAccess(config, 'probe'),
      ];
    case 'failover':
    case 'failback':
      return [
        readParameters(ctx, everyParameter),
        writeParameters(ctx, 'WriteActiveParameters', [p.activeParameter, p.activeBootstrapParameter]),
        readSecrets([...clusterSecrets, activeSecret]),
        // Each claim records the version of the cluster secret it copies, so a rotation is noticed.
        secretVersions(clusterSecrets),
        new PolicyStatement({
          sid: 'WriteActiveCredentials',
          actions: ['secretsmanager:PutSecretValue'],
          resources: [activeSecret],
        }),
        ...extraRegionWrites(ctx),
        journal(ctx, 'read-write'),
        ...mirrorTokenAccess(ctx, name),
        ...kafkaAccess(config, name),
        ...eventSourceMappingAccess(ctx),
      ];
    case 'status':
      return [
        readParameters(ctx, everyParameter),
        // No secret at all: the active one holds a private key or a password, and status needs only epochs (the
        // authority's, the parameter's, and the probe's reading of the secret in the last probe result).
        journal(ctx, 'read'),
      ];
  }
}

function readParameters(ctx: AccessContext, names: string[]): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReadDeploymentParameters',
    // SsmParameterStore reads one parameter per call (GetParameter).
    actions: ['ssm:GetParameter'],
    resources: names.map((n) => ctx.store.parameterArn(n)),
  });
}

function writeParameters(ctx: AccessContext, sid: string, names: string[]): PolicyStatement {
  return new PolicyStatement({
    sid,
    actions: ['ssm:PutParameter'],
    resources: names.map((n) => ctx.store.parameterArn(n)),
  });
}

function secretVersions(arns: string[]): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReadSecretVersions',
    // DescribeSecret returns version ids and stages, never a value.
    actions: ['secretsmanager:DescribeSecret'],
    resources: arns,
  });
}

function readSecrets(arns: string[]): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReadDeploymentSecrets',
    actions: ['secretsmanager:GetSecretValue'],
    resources: arns,
  });
}

/**
 * Extra regions: the active parameters and secret are written there too. The stack does not deploy to those
 * regions, so the secret may not exist yet: the first switch creates it (SecretsManagerStore.put falls back to
 * CreateSecret), hence CreateSecret, scoped to that one name.
 */
function extraRegionWrites(ctx: AccessContext): PolicyStatement[] {
  const { config, store } = ctx;
  if (config.regions.length === 0) return [];
  const p = store.paths;
  return [
    new PolicyStatement({
      sid: 'WriteActiveParametersInExtraRegions',
      actions: ['ssm:GetParameter', 'ssm:PutParameter'],
      resources: config.regions.flatMap((region) => [
        store.parameterArn(p.activeParameter, region),
        store.parameterArn(p.activeBootstrapParameter, region),
      ]),
    }),
    new PolicyStatement({
      sid: 'WriteActiveCredentialsInExtraRegions',
      actions: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:CreateSecret',
      ],
      resources: config.regions.map((region) => store.secretNameArn(p.activeCredentialsSecret, region)),
    }),
  ];
}

/**
 * The lock and journal table (items `lock#<deployment>` and `journal#<deployment>` / `<kind>#<runId>`): the
 * item actions that shared/store/dynamo-lock.ts and dynamo-journal.ts send, TransactWriteItems included (it is
 * authorized per contained Put/Update/ConditionCheck).
 */
function journal(ctx: AccessContext, mode: 'read' | 'read-write'): PolicyStatement {
  const read = ['dynamodb:GetItem', 'dynamodb:Query'];
  const write = [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ];
  return new PolicyStatement({
    sid: mode === 'read' ? 'ReadJournal' : 'LockAndJournal',
    actions: mode === 'read' ? read : [...read, ...write],
    resources: [ctx.table.tableArn],
  });
}

/** The Aiven API token, for failback's mirror controller. */
function mirrorTokenAccess(ctx: AccessContext, name: FunctionName): PolicyStatement[] {
  const { mirror } = ctx.config;
  if ((name !== 'failback' && name !== 'probe') || mirror.kind !== 'aiven') return [];
  return [
    new PolicyStatement({
      sid: 'ReadMirrorApiToken',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [ctx.store.secretNameArn(mirror.tokenSecret)],
    }),
  ];
}

/**
 * MSK IAM authentication: the Kafka operations themselves are IAM actions. Scoped to the cluster's ARN and to
 * topics and groups *of that cluster* (topic names include MM2's prefixed and internal topics, which the
 * config cannot enumerate).
 */
function kafkaAccess(config: DeploymentConfig, name: 'probe' | 'failover' | 'failback'): PolicyStatement[] {
  const roles = clusterRoles.filter((r) => config.clusters[r].auth === 'msk-iam');
  if (roles.length === 0) return [];
  const clusterArns = roles.map((r) => mskClusterArnOf(config, r));
  const base = [
    'kafka-cluster:Connect',
    'kafka-cluster:DescribeCluster',
    'kafka-cluster:DescribeTopic',
    'kafka-cluster:CreateTopic',
    'kafka-cluster:ReadData',
    'kafka-cluster:WriteData',
    'kafka-cluster:DescribeGroup',
    'kafka-cluster:AlterGroup',
  ];
  // Failback purges the old primary's stale records (Kafka's DeleteRecords is authorized as DELETE on topic).
  // The probe's readiness audit compares topic configs (DescribeConfigs).
  const extra =
    name === 'failback'
      ? ['kafka-cluster:DeleteTopic', 'kafka-cluster:AlterTopic']
      : name === 'probe'
        ? ['kafka-cluster:DescribeTopicDynamicConfiguration']
        : [];
  return [
    new PolicyStatement({
      sid: 'KafkaOnDeploymentClusters',
      effect: Effect.ALLOW,
      actions: [...base, ...extra],
      resources: clusterArns.flatMap((arn) => [
        arn,
        `${arn.replace(':cluster/', ':topic/')}/*`,
        `${arn.replace(':cluster/', ':group/')}/*`,
      ]),
    }),
  ];
}

function mskClusterArnOf(config: DeploymentConfig, role: ClusterRole): string {
  const arn = config.clusters[role].mskClusterArn;
  // checkDeployable() refuses an msk-iam cluster without its ARN before any construct is built.
  if (!arn) throw new Error(`clusters.${role}.mskClusterArn is required for msk-iam`);
  return arn;
}

/**
 * Moving the config's Lambda event source mappings (shared/switch/event-source-mappings.ts), only for the functions
 * the config lists: Lambda authorizes creating a mapping on `*` and updating or reading one on its ARN (a UUID
 * assigned at creation), each with the `lambda:FunctionArn` condition, which scopes them to those functions
 * (`:*`: their versions and aliases, which a mapping may name). Listing supports neither. The active credentials
 * secret's ARN is resolved by name (DescribeSecret) for the mappings' source access configurations.
 */
function eventSourceMappingAccess(ctx: AccessContext): PolicyStatement[] {
  const { config, store } = ctx;
  if (config.eventSourceMappings.length === 0) return [];
  const stack = Stack.of(ctx.table);
  const functionArns = [...new Set(config.eventSourceMappings.map((m) => m.functionName))].flatMap((f) => {
    const arn = f.startsWith('arn:')
      ? f
      : stack.formatArn({
          service: 'lambda',
          resource: 'function',
          resourceName: f,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
    return [arn, `${arn}:*`];
  });
  const ofListedFunctions = { ArnLike: { 'lambda:FunctionArn': functionArns } };
  return [
    new PolicyStatement({
      sid: 'CreateEventSourceMappingsOfListedFunctions',
      actions: ['lambda:CreateEventSourceMapping'],
      resources: ['*'],
      conditions: ofListedFunctions,
    }),
    new PolicyStatement({
      sid: 'MoveEventSourceMappingsOfListedFunctions',
      actions: ['lambda:UpdateEventSourceMapping', 'lambda:GetEventSourceMapping'],
      resources: [
        stack.formatArn({
          service: 'lambda',
          resource: 'event-source-mapping',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      conditions: ofListedFunctions,
    }),
    new PolicyStatement({
      sid: 'ListEventSourceMappings',
      actions: ['lambda:ListEventSourceMappings'],
      resources: ['*'],
    }),
    new PolicyStatement({
      sid: 'ResolveActiveCredentialsArn',
      actions: ['secretsmanager:DescribeSecret'],
      resources: [store.activeCredentials.secretArn],
    }),
  ];
}
