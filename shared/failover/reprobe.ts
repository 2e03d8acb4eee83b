import type { DeploymentConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { probeCluster } from '../health/cluster-probe.ts';
import { Deadline } from '../health/deadline.ts';
import { localCanaryTopic, watchedTopics } from '../health/detection-policy.ts';
import { type ClientCache, configFingerprint } from '../kafka/client-factory.ts';
import { type ClusterClient, createClusterClient } from '../kafka/cluster-client.ts';
import type { Stores } from '../store/active-config.ts';
import { clusterKafkaConfig } from './dependencies.ts';
import type { ReprobeCluster } from './preflight.ts';

/**
 * The failover's re-probe: one cycle of the health module's per-cluster probe (metadata, then a canary with
 * acks=all) under the configured cycle deadline, the same check that raised the alarm. A client that failed at
 * the connection level is forgotten so the next probe does not reuse its half-dead sockets.
 */
export function clusterReprobe(deps: {
  config: DeploymentConfig;
  stores: Stores;
  clusterClients: ClientCache<ClusterClient>;
  clock?: () => number;
}): ReprobeCluster {
  const { config } = deps;
  const clock = deps.clock ?? (() => Date.now());
  return async (role) => {
    const name = `${config.name}/${role}/reprobe`;
    let kafkaConfig: Awaited<ReturnType<typeof clusterKafkaConfig>>;
    try {
      kafkaConfig = await clusterKafkaConfig(deps.stores, config, role);
    } catch (e: unknown) {
      return { verdict: 'down', reasons: ['config-error', describeError(e)] };
    }
    const client = await deps.clusterClients.get(name, configFingerprint(kafkaConfig), async () =>
      // A probe wants an answer within its deadline, not a retry loop.
      createClusterClient({ ...kafkaConfig, retry: { retries: 0 } }),
    );
    const outcome = await probeCluster(
      {
        role,
        alias: config.clusters[role].alias,
        deployment: config.name,
        expectedBrokers: config.clusters[role].expectedBrokers,
        watchedTopics: watchedTopics(config, role).map((t) => t.topic),
        canaryTopic: localCanaryTopic(config, role),
        requestTimeoutMs: config.detection.requestTimeoutMs,
      },
      { client, deadline: Deadline.in(config.detection.cycleDeadlineMs, clock), clock },
    );
    if (outcome.clientFailed) deps.clusterClients.forget(name);
    const { health } = outcome;
    return {
      verdict: health.verdict,
      reasons: [...health.reasons, ...(health.detail ? [health.detail] : [])],
    };
  };
}
