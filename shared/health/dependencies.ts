import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { deploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { parseOrThrow } from '../config/validate.ts';
import type { Logger } from '../logger.ts';
import { readinessDependencies } from '../readiness/dependencies.ts';
import { ProbeReadiness } from '../readiness/probe-readiness.ts';
import { type StoreClients, storesOf } from '../store/aws-stores.ts';
import { DynamoLock } from '../store/dynamo-lock.ts';
import { SecretsManagerStore } from '../store/secrets-manager-store.ts';
import type { ParameterStore } from '../store/stores.ts';
import { DynamoEpochAuthority } from '../switch/dynamo-epoch-authority.ts';
import { ActiveWatch, type MaintenanceAsk } from './active-watch.ts';
import { ClusterConnections } from './cluster-connections.ts';
import { type AskForFailover, FailoverTrigger } from './failover-trigger.ts';
import { ProbeContext } from './probe-cycle.ts';
import type { ProbeLoopDeps } from './probe-loop.ts';
import type { MetricsSink } from './probe-metrics.ts';
import { type ProbeResult, probeResultSchema } from './probe-result.ts';

/**
 * Wires the probe's dependencies from long-lived clients, once per container: the cluster definitions and Kafka
 * clients (rebuilt after a failure), and the replication readers that make each cycle read only what MM2
 * appended since the last one.
 */
export interface ProbeWiring {
  /** The loop's dependencies for one invocation, whose remaining time `remainingMs` measures. */
  invocation(remainingMs: () => number): ProbeLoopDeps;
  /** Close the Kafka clients the container holds. Lambda never needs it; tests call it so nothing lingers. */
  close(): Promise<void>;
}

/**
 * Where the probe looks at the active configuration: the lock and journal table (the epoch authority lives
 * there) and, to have it repaired or its credentials refreshed, a way to ask the failover function.
 */
export interface ActiveWatchSettings {
  table: string;
  dynamodb: Pick<DynamoDBClient, 'send'>;
  ask?: MaintenanceAsk;
  /** The direct failover trigger's way to the failover function (absent: only the alarm triggers failover). */
  trigger?: AskForFailover;
}

export function probeDependencies(
  config: DeploymentConfig,
  clients: StoreClients,
  ports: { logger: Logger; metrics: MetricsSink; watch?: ActiveWatchSettings },
): ProbeWiring {
  const stores = storesOf(clients);
  const paths = deploymentPaths(config.name);
  const connections = new ClusterConnections({ config, stores });
  const context = new ProbeContext(paths);
  const watch = ports.watch;
  const activeWatch = watch
    ? new ActiveWatch({
        stores,
        versions: new SecretsManagerStore(clients.secretsManager),
        // Read only: the lock is needed by the authority's type (writes renew it), never taken here.
        authority: new DynamoEpochAuthority(watch.dynamodb, {
          table: watch.table,
          deployment: config.name,
          lock: new DynamoLock(watch.dynamodb, { table: watch.table, deployment: config.name }),
        }),
        paths,
        ...(watch.ask ? { ask: watch.ask } : {}),
        logger: ports.logger,
      })
    : undefined;
  // One per container: its streak spans the container's invocations, and the stored result spans containers.
  const trigger = new FailoverTrigger(config.detection, {
    ...(watch?.trigger ? { ask: watch.trigger } : {}),
    readLastProbe: () => readLastProbe(stores.parameters, paths.lastProbeParameter),
    logger: ports.logger,
  });
  const audit = readinessDependencies({
    config,
    kafkaConfig: (role) => connections.kafkaConfig(role),
    secrets: stores.secrets,
  });
  const readiness = new ProbeReadiness(config, {
    audit: audit.audit,
    parameters: stores.parameters,
    paths: context.paths,
    metrics: ports.metrics,
    logger: ports.logger,
  });
  return {
    invocation: (remainingMs) => ({
      clients: connections,
      metrics: ports.metrics,
      parameters: stores.parameters,
      logger: ports.logger,
      context,
      remainingMs,
      ...(activeWatch ? { activeWatch } : {}),
      trigger,
      readiness,
    }),
    close: async () => {
      await Promise.all([connections.closeAll(), audit.close()]);
    },
  };
}

/** The stored last result; one that does not parse (an older version, a hand edit) continues no streak. */
async function readLastProbe(
  parameters: Pick<ParameterStore, 'get'>,
  name: string,
): Promise<ProbeResult | undefined> {
  const stored = await parameters.get(name);
  if (!stored) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(stored.value);
  } catch {
    return undefined;
  }
  const parsed = probeResultSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

const environmentSchema = z.object({
  MM2_FAILOVER_TABLE: z
    .string()
    .min(1, 'expected the DynamoDB table of the lock, journal and epoch authority')
    .optional(),
  MM2_FAILOVER_FUNCTION: z.string().min(1, 'expected the failover function name or ARN').optional(),
});

/**
 * The probe's environment, read once at cold start. Both variables are optional: without the table the probe does
 * not look at the active configuration; without the failover function it reports a torn configuration or a
 * rotated secret but asks nobody to act on it.
 */
export function probeEnvironment(env: NodeJS.ProcessEnv): { table?: string; failoverFunction?: string } {
  const e = parseOrThrow(environmentSchema, env, 'environment');
  return {
    ...(e.MM2_FAILOVER_TABLE ? { table: e.MM2_FAILOVER_TABLE } : {}),
    ...(e.MM2_FAILOVER_FUNCTION ? { failoverFunction: e.MM2_FAILOVER_FUNCTION } : {}),
  };
}
