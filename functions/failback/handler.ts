import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import { failbackDependencies, failbackEnvironment } from '#shared/failback/dependencies.ts';
import { type FailbackResult, runFailback } from '#shared/failback/failback.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import { regionalAwsClients } from '#shared/store/regional-stores.ts';
import { failbackErrors, type RefusedResponse } from './middleware.ts';

// Read once per container; a bad config or a missing variable fails the cold start naming what is wrong.
const config = loadDeploymentConfigFromEnv();
const env = failbackEnvironment(process.env);
const logger = new Logger({
  serviceName: 'mm2-failover',
  persistentKeys: { deployment: config.name, fn: 'failback' },
});

// Clients once per container; Kafka clients are built on first use and rebuilt after a failure.
const wiring = failbackDependencies(
  {
    config,
    table: env.table,
    ...(env.topicArn ? { topicArn: env.topicArn } : {}),
    ...(env.region ? { homeRegion: env.region } : {}),
  },
  {
    ssm: new SSMClient({}),
    sns: new SNSClient({}),
    secretsManager: new SecretsManagerClient({}),
    dynamodb: new DynamoDBClient({}),
    regional: regionalAwsClients(),
    kafka: new KafkaClientCache(),
    clusterClients: new ClientCache<ClusterClient>((c) => c.close()),
  },
  { logger },
);

/** Stop starting new work this long before Lambda's hard limit: a batch or a REST call in flight must still fit. */
export const DEADLINE_MARGIN_MS = 60_000;

export const handler = middy<unknown, FailbackResult | RefusedResponse>()
  .use(injectLambdaContext(logger))
  .use(failbackErrors(logger))
  .handler(async (event, context) => {
    const deadlineAt = Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
    const result = await runFailback(event, wiring.deps, wiring.invocation(context.awsRequestId, deadlineAt));
    logger.info('failback invocation finished', { status: result.status, phase: result.currentPhase });
    return result;
  });
