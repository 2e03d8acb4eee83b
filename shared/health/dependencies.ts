import { deploymentPaths } from '../config/paths.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { readinessDependencies } from '../readiness/dependencies.ts';
import { ProbeReadiness } from '../readiness/probe-readiness.ts';
import { type StoreClients, storesOf } from '../store/aws-stores.ts';
import { ClusterConnections } from './cluster-connections.ts';
import { ProbeContext } from './probe-cycle.ts';
import type { ProbeLoopDeps } from './probe-loop.ts';
import type { MetricsSink } from './probe-metrics.ts';

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

export function probeDependencies(
  config: DeploymentConfig,
  clients: StoreClients,
  ports: { logger: Logger; metrics: MetricsSink },
): ProbeWiring {
  const stores = storesOf(clients);
  const connections = new ClusterConnections({ config, stores });
  const context = new ProbeContext(deploymentPaths(config.name));
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
      readiness,
    }),
    close: async () => {
      await Promise.all([connections.closeAll(), audit.close()]);
    },
  };
}
