import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { statusDependencies, statusEnvironment } from '#shared/status/dependencies.ts';
import { deploymentStatus } from '#shared/status/status.ts';
import { awsClientOptions } from '#shared/store/aws-client-options.ts';
import { coldStart } from '../common/cold-start.ts';
import { lambdaHandler } from '../common/lambda-handler.ts';

// The convention of every function: functions/common/lambda-handler.ts.
const { config, variables, logger } = coldStart('status', statusEnvironment);

// Clients once per container, every call bounded by the config's `aws` limits.
const aws = awsClientOptions(config.aws);
const deps = statusDependencies(config, variables.table, {
  ssm: new SSMClient(aws),
  dynamodb: new DynamoDBClient(aws),
});

/** The status function takes no input: any payload is ignored. It only reads. */
export const handler = lambdaHandler({ fn: 'status', logger }, async () => {
  const status = await deploymentStatus(config, deps);
  logger.info('status', { status });
  return status;
});
