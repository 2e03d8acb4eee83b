import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { describeError } from '#shared/errors.ts';
import { ClusterConnections } from '#shared/health/cluster-connections.ts';
import { ProbeContext } from '#shared/health/probe-cycle.ts';
import { type ProbeInvocation, parseProbeInvocation } from '#shared/health/probe-input.ts';
import { type ProbeRunSummary, runProbeLoop } from '#shared/health/probe-loop.ts';
import { createProbeMetrics, PowertoolsMetricsSink } from '#shared/health/probe-metrics.ts';
import { SecretsManagerStore } from '#shared/store/secrets-manager-store.ts';
import { SsmParameterStore } from '#shared/store/ssm-parameter-store.ts';

// Read once per container; a bad config or a missing variable fails the cold start naming what is wrong.
const config = loadDeploymentConfigFromEnv();
const logger = new Logger({
  serviceName: 'mm2-failover',
  persistentKeys: { deployment: config.name, fn: 'probe' },
});
const metrics = createProbeMetrics(Metrics, deploymentPaths(config.name).metricsNamespace);

// Clients once per container: AWS SDK clients, the cluster definitions and Kafka clients (rebuilt after a
// failure), and the replication readers that make each cycle read only what MM2 appended since the last one.
const stores = {
  parameters: new SsmParameterStore(new SSMClient({})),
  secrets: new SecretsManagerStore(new SecretsManagerClient({})),
};
const connections = new ClusterConnections({ config, stores });
const context = new ProbeContext(deploymentPaths(config.name));
const sink = new PowertoolsMetricsSink(metrics);

/** Validate the invocation payload before the handler runs; a refusal lists every problem by path. */
const parsedInvocation: MiddlewareObj<ProbeInvocation> = {
  before: (request) => {
    request.event = parseProbeInvocation(request.event as unknown);
  },
  onError: (request) => {
    logger.error('probe invocation failed', { error: describeError(request.error) });
  },
};

export const handler = middy<ProbeInvocation, ProbeRunSummary>()
  .use(injectLambdaContext(logger))
  .use(parsedInvocation)
  .handler(async (event, lambdaContext: Context) =>
    runProbeLoop(
      { config, ...(event.maxCycles === undefined ? {} : { maxCycles: event.maxCycles }) },
      {
        clients: connections,
        metrics: sink,
        parameters: stores.parameters,
        logger,
        context,
        remainingMs: () => lambdaContext.getRemainingTimeInMillis(),
      },
    ),
  );

/** Close the Kafka clients this container holds. Lambda never needs it; tests call it so nothing lingers. */
export async function closeProbeClients(): Promise<void> {
  await connections.closeAll();
}
