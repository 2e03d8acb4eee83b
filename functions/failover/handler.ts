import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import { failoverDependencies, failoverEnvironment, healthReprobe } from '#shared/failover/dependencies.ts';
import { type FailoverResult, runFailover } from '#shared/failover/failover.ts';
import { type FailoverRequest, parseFailoverInput } from '#shared/failover/input.ts';
import { lastMeasuredLag } from '#shared/failover/last-lag.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import { storesOf } from '#shared/store/aws-stores.ts';
import { regionalAwsClients } from '#shared/store/regional-stores.ts';
import { failoverErrors, type InvalidInputResponse, parsedEvent } from './middleware.ts';

// Read once per container; a bad config or a missing variable fails the cold start naming what is wrong.
const config = loadDeploymentConfigFromEnv();
const env = failoverEnvironment(process.env);
// The service name comes from POWERTOOLS_SERVICE_NAME (the stack sets it per function).
const logger = new Logger({ persistentKeys: { deployment: config.name } });

// Clients once per container: AWS SDK clients, and Kafka clients that are rebuilt only after a failure.
const ssm = new SSMClient({});
const secretsManager = new SecretsManagerClient({});
const kafka = new KafkaClientCache();
const clusterClients = new ClientCache<ClusterClient>((c) => c.close());
const stores = storesOf({ ssm, secretsManager });

const deps = failoverDependencies(
  { config, table: env.table, topicArn: env.topicArn, ...(env.region ? { homeRegion: env.region } : {}) },
  {
    ssm,
    secretsManager,
    dynamodb: new DynamoDBClient({}),
    sns: new SNSClient({}),
    regional: regionalAwsClients(),
    kafka,
    clusterClients,
  },
  {
    logger,
    reprobe: healthReprobe(
      config,
      stores,
      new ClusterConnections({ config, stores, clientId: `mm2-failover-${config.name}-failover` }),
    ),
    readLag: lastMeasuredLag(stores, config),
  },
);

export const handler = middy<FailoverRequest, FailoverResult | InvalidInputResponse>()
  .use(injectLambdaContext(logger))
  .use(parsedEvent(parseFailoverInput))
  .use(failoverErrors(logger))
  .handler(async (request, context) => {
    const result = await runFailover({ ...request, invocationId: context.awsRequestId }, deps);
    logger.info('failover finished', { status: result.status });
    return result;
  });
