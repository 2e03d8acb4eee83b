import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { MiddlewareObj } from '@middy/core';
import middy from '@middy/core';
import { loadDeploymentConfigFromEnv } from '#shared/config/load.ts';
import { describeError, LockHeldError, RefusedError, ValidationError } from '#shared/errors.ts';
import { failbackDependencies } from '#shared/failback/dependencies.ts';
import { type FailbackResult, runFailback } from '#shared/failback/failback.ts';
import { failoverEnvironment } from '#shared/failover/dependencies.ts';
import { ClientCache, KafkaClientCache } from '#shared/kafka/client-factory.ts';
import type { ClusterClient } from '#shared/kafka/cluster-client.ts';

// Read once per container; a bad config or a missing variable fails the cold start naming what is wrong.
const config = loadDeploymentConfigFromEnv();
const env = failoverEnvironment(process.env);
const logger = new Logger({
  serviceName: 'mm2-failover',
  persistentKeys: { deployment: config.name, fn: 'failback' },
});

// Clients once per container.
const wiring = failbackDependencies(
  { config, table: env.table },
  {
    ssm: new SSMClient({}),
    secretsManager: new SecretsManagerClient({}),
    dynamodb: new DynamoDBClient({}),
    kafka: new KafkaClientCache(),
    clusterClients: new ClientCache<ClusterClient>((c) => c.close()),
  },
  { logger },
);

/** Stop starting new work this long before Lambda's hard limit: one batch or REST call must still fit. */
const DEADLINE_MARGIN_MS = 60_000;

/** A refused invocation: every problem listed, nothing written. */
export interface RefusedResponse {
  status: 'refused';
  reasons: string[];
}

/**
 * Refusals are answers, not failures: invalid payloads, out-of-order phases, an unsupported deployment and a held
 * lock come back as `{ status: 'refused', reasons }`. Anything else is rethrown (its one-line description logged,
 * never the object), and the next invocation resumes from the journal.
 */
export function failbackErrors(
  log: Pick<Logger, 'warn' | 'error'>,
): MiddlewareObj<unknown, FailbackResult | RefusedResponse> {
  return {
    name: 'failbackErrors',
    onError: (request) => {
      const e: unknown = request.error;
      let reasons: string[] | undefined;
      if (e instanceof ValidationError)
        reasons = e.problems.map((p) => `${p.path || '(root)'}: ${p.message}`);
      else if (e instanceof RefusedError) reasons = e.reasons;
      else if (e instanceof LockHeldError)
        reasons = [`another failover or failback is running: ${e.holder}; try again later`];
      if (reasons !== undefined) {
        log.warn('failback refused', { reasons });
        request.response = { status: 'refused', reasons };
        return;
      }
      log.error('failback failed', { error: describeError(e) });
    },
  };
}

export const handler = middy<unknown, FailbackResult | RefusedResponse>()
  .use(injectLambdaContext(logger))
  .use(failbackErrors(logger))
  .handler(async (event, context) => {
    const deadlineAt = Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
    const result = await runFailback(event, wiring.deps, wiring.invocation(context.awsRequestId, deadlineAt));
    logger.info('failback invocation finished', { status: result.status, phase: result.currentPhase });
    return result;
  });
