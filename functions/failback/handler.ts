import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { failbackDependencies, failbackEnvironment } from '#shared/failback/dependencies.ts';
import { runFailback } from '#shared/failback/failback.ts';
import { parseFailbackRequest } from '#shared/failback/payload.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';
import { awsClientOptions } from '#shared/store/aws-client-options.ts';
import { regionalAwsClients } from '#shared/store/regional-stores.ts';
import { coldStart } from '../common/cold-start.ts';
import { lambdaHandler } from '../common/lambda-handler.ts';

// The convention of every function: functions/common/lambda-handler.ts.
const { config, variables, logger } = coldStart('failback', failbackEnvironment);

// Clients once per container: AWS SDK clients, every call bounded by the config's `aws` limits; Kafka clients are
// built on first use and rebuilt after a failure.
const aws = awsClientOptions(config.aws);
const wiring = failbackDependencies(
  {
    config,
    table: variables.table,
    ...(variables.topicArn ? { topicArn: variables.topicArn } : {}),
    ...(variables.region ? { homeRegion: variables.region } : {}),
  },
  {
    ssm: new SSMClient(aws),
    sns: new SNSClient(aws),
    secretsManager: new SecretsManagerClient(aws),
    dynamodb: new DynamoDBClient(aws),
    regional: regionalAwsClients(config.aws),
    kafka: new KafkaClientCache(),
    clusterClients: new ClientCache<ClusterClient>((c) => c.close()),
    ...(config.eventSourceMappings.length > 0 ? { lambda: new LambdaClient(aws) } : {}),
  },
  { logger },
);

/** Stop starting new work this long before Lambda's hard limit: a batch or a REST call in flight must still fit. */
export const DEADLINE_MARGIN_MS = 60_000;

// Failback is only invoked by hand: a held lock is answered `refused` (`lock-held`), never retried.
export const handler = lambdaHandler(
  { fn: 'failback', logger, parse: parseFailbackRequest },
  async (request, context) => {
    const deadlineAt = Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
    const result = await runFailback(
      request,
      wiring.deps,
      wiring.invocation(context.awsRequestId, deadlineAt),
    );
    logger.info('failback invocation finished', { status: result.status, phase: result.currentPhase });
    return result;
  },
);
