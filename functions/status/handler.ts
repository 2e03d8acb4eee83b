import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import { ValidationError } from '#shared/errors.ts';
import { statusDependencies } from '#shared/status/dependencies.ts';
import { type DeploymentStatus, deploymentStatus } from '#shared/status/status.ts';

// Read once per container; a bad config or a missing variable fails the cold start naming what is wrong.
const config = loadDeploymentConfigFromEnv();
const table = process.env.MM2_FAILOVER_TABLE;
if (!table) {
  throw new ValidationError('environment', [
    { path: 'MM2_FAILOVER_TABLE', message: 'expected the DynamoDB table of the lock and journal' },
  ]);
}
const logger = new Logger({
  serviceName: 'mm2-failover',
  persistentKeys: { deployment: config.name, fn: 'status' },
});
const deps = statusDependencies(config, table, {
  ssm: new SSMClient({}),
  secretsManager: new SecretsManagerClient({}),
  dynamodb: new DynamoDBClient({}),
});

/** The status function takes no input: any payload is ignored. It only reads. */
export const handler = middy<unknown, DeploymentStatus>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const status = await deploymentStatus(config, deps);
    logger.info('status', { status });
    return status;
  });
