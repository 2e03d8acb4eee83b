import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { deploymentPaths } from '#shared/config/paths.ts';
import { probeDependencies, probeEnvironment } from '#shared/health/dependencies.ts';
import { triggerFailoverFunction } from '#shared/health/failover-trigger-ask.ts';
import { askFailoverFunction } from '#shared/health/maintenance-ask.ts';
import { parseProbeInvocation } from '#shared/health/probe-input.ts';
import { runProbeLoop } from '#shared/health/probe-loop.ts';
import { createProbeMetrics, PowertoolsMetricsSink } from '#shared/health/probe-metrics.ts';
import { awsClientOptions } from '#shared/store/aws-client-options.ts';
import { coldStart } from '../common/cold-start.ts';
import { lambdaHandler } from '../common/lambda-handler.ts';

// The convention of every function: functions/common/lambda-handler.ts.
const { config, variables, logger } = coldStart('probe', probeEnvironment);
const metrics = createProbeMetrics(Metrics, deploymentPaths(config.name).metricsNamespace);

// Clients once per container, every AWS call bounded by the config's `aws` limits.
const aws = awsClientOptions(config.aws);
const lambda = new LambdaClient(aws);
const wiring = probeDependencies(
  config,
  { ssm: new SSMClient(aws), secretsManager: new SecretsManagerClient(aws) },
  {
    logger,
    metrics: new PowertoolsMetricsSink(metrics),
    ...(variables.table
      ? {
          watch: {
            table: variables.table,
            dynamodb: new DynamoDBClient(aws),
            ...(variables.failoverFunction
              ? {
                  ask: askFailoverFunction(lambda, variables.failoverFunction),
                  ...(config.detection.directTrigger
                    ? { trigger: triggerFailoverFunction(lambda, variables.failoverFunction) }
                    : {}),
                }
              : {}),
          },
        }
      : {}),
  },
);

export const handler = lambdaHandler(
  { fn: 'probe', logger, parse: parseProbeInvocation },
  async (event, context) =>
    runProbeLoop(
      { config, ...(event.maxCycles === undefined ? {} : { maxCycles: event.maxCycles }) },
      wiring.invocation(() => context.getRemainingTimeInMillis()),
    ),
);

/** Close the Kafka clients this container holds. Lambda never needs it; tests call it so nothing lingers. */
export function closeProbeClients(): Promise<void> {
  return wiring.close();
}
