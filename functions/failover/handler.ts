import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { deploymentPaths } from '#shared/config/paths.ts';
import { failoverDependencies, failoverEnvironment, healthReprobe } from '#shared/failover/dependencies.ts';
import { parseFailoverFunctionInput } from '#shared/failover/input.ts';
import { lastMeasuredLag } from '#shared/failover/last-lag.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import { plannedDependencies } from '#shared/planned/dependencies.ts';
import { runSwitchRequest } from '#shared/planned/switch-request.ts';
import { awsClientOptions } from '#shared/store/aws-client-options.ts';
import { storesOf } from '#shared/store/aws-stores.ts';
import { regionalAwsClients } from '#shared/store/regional-stores.ts';
import { runMaintenance } from '#shared/switch/maintenance.ts';
import { coldStart } from '../common/cold-start.ts';
import { lambdaHandler } from '../common/lambda-handler.ts';

// The convention of every function: functions/common/lambda-handler.ts.
const { config, variables, logger } = coldStart('failover', failoverEnvironment);

// Clients once per container: AWS SDK clients, every call bounded by the config's `aws` limits, and Kafka clients
// that are rebuilt only after a failure.
const aws = awsClientOptions(config.aws);
const ssm = new SSMClient(aws);
const secretsManager = new SecretsManagerClient(aws);
const stores = storesOf({ ssm, secretsManager });
const dynamodb = new DynamoDBClient(aws);
const kafka = new KafkaClientCache();
const clusterClients = new ClientCache<ClusterClient>((c) => c.close());
const deps = failoverDependencies(
  {
    config,
    table: variables.table,
    topicArn: variables.topicArn,
    ...(variables.region ? { homeRegion: variables.region } : {}),
  },
  {
    ssm,
    secretsManager,
    dynamodb,
    sns: new SNSClient(aws),
    regional: regionalAwsClients(config.aws),
    kafka,
    clusterClients,
    ...(config.eventSourceMappings.length > 0 ? { lambda: new LambdaClient(aws) } : {}),
  },
  {
    logger,
    reprobe: healthReprobe(
      config,
      stores,
      new ClusterConnections({ config, stores, clientId: `mm2-failover-${config.name}-failover` }),
    ),
    readLag: lastMeasuredLag(stores, deploymentPaths(config.name)),
  },
);
const planned = plannedDependencies(deps, { table: variables.table }, { dynamodb, kafka, clusterClients });

export const handler = lambdaHandler(
  {
    fn: 'failover',
    logger,
    parse: parseFailoverFunctionInput,
    // The alarm's event and the probe's requests (its failover trigger, a repair) arrive asynchronously: a held
    // lock is rethrown so that Lambda retries them.
    retryWhenLockHeld: (request) =>
      request.operation === 'failover' ? request.trigger !== 'manual' : request.requestedBy === 'probe',
  },
  async (request, context) => {
    if (request.operation !== 'failover') {
      return runMaintenance({ ...request, operation: request.operation }, context.awsRequestId, deps);
    }
    if (request.evidence) logger.info('failover triggered by the probe', { evidence: request.evidence });
    const result = await runSwitchRequest(
      { ...request, invocationId: context.awsRequestId },
      { failover: deps, planned },
    );
    logger.info('failover finished', { status: result.status });
    return result;
  },
);
