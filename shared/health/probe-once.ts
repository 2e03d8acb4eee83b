/**
 * `probeOnce(config, role, deps)` — probe one cluster now, the same check the scheduled probe runs each cycle
 * (metadata under a hard deadline, then a canary written with acks=all), and return its health. For the failover
 * preflight, which re-probes before believing an alarm.
 *
 * ```ts
 * import { probeOnce } from '#shared/health/probe-once.ts';
 * const health = await probeOnce(config, 'primary', { stores });
 * if (health.verdict === 'down') ...; // health.reasons: ['connect-refused'], ['timeout'], ...
 * ```
 *
 * - `deps.stores`: where the cluster definitions live (SSM parameter + Secrets Manager secret per cluster).
 * - `deps.connections`: pass a module-scope {@link ClusterConnections} to reuse Kafka clients across calls and
 *   invocations; without it a client is built for this call and closed before returning.
 * - Never throws for cluster problems: a cluster that cannot be reached, or whose definition cannot be read,
 *   comes back `down` with a reason. Returns within `detection.cycleDeadlineMs` (plus reading the definition).
 */

import { type Clock, systemClock } from '../clock.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { classifyKafkaError } from '../kafka/failure-reason.ts';
import type { Stores } from '../store/active-config.ts';
import { ClusterConnections } from './cluster-connections.ts';
import { oneLine, probeCluster } from './cluster-probe.ts';
import { Deadline } from './deadline.ts';
import { clusterProbeInput } from './detection-policy.ts';
import type { ClusterHealth } from './probe-result.ts';
import { judgeCluster } from './verdict.ts';

export interface ProbeOnceDeps {
  stores: Stores;
  connections?: ClusterConnections;
  clock?: Pick<Clock, 'now'>;
}

export async function probeOnce(
  config: DeploymentConfig,
  role: ClusterRole,
  deps: ProbeOnceDeps,
): Promise<ClusterHealth> {
  const clock = deps.clock ?? systemClock;
  const connections = deps.connections ?? new ClusterConnections({ config, stores: deps.stores, clock });
  const started = clock.now();
  const deadline = Deadline.in(config.detection.cycleDeadlineMs, clock);
  try {
    let client: Awaited<ReturnType<ClusterConnections['client']>>;
    try {
      client = await deadline.run(`${role} cluster definition`, () => connections.client(role));
    } catch (e: unknown) {
      const reason = classifyKafkaError(e);
      const failure = reason === 'unknown' ? 'config-error' : reason;
      connections.forget(role, failure);
      const expectedBrokers = config.clusters[role].expectedBrokers;
      return {
        role,
        alias: config.clusters[role].alias,
        ...judgeCluster({
          failure,
          brokersAlive: 0,
          expectedBrokers,
          watchedPartitions: 0,
          leaderless: 0,
          underReplicated: 0,
          missingTopics: [],
        }),
        detail: oneLine(e),
        latencyMs: clock.now() - started,
        brokersAlive: 0,
        expectedBrokers,
        partitions: { watched: 0, leaderless: 0, underReplicated: 0 },
        missingTopics: [],
      };
    }
    const outcome = await probeCluster(clusterProbeInput(config, role), { client, deadline, clock });
    if (outcome.clientFailed) connections.forget(role, outcome.health.reasons[0]);
    return outcome.health;
  } finally {
    // In the background: closing waits for requests still pending on a hung broker (up to the request timeout),
    // and the answer is already known.
    if (!deps.connections) void connections.closeAll().catch(() => {});
  }
}
