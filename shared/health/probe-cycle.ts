import { type Clock, systemClock } from '../clock.ts';
import type { DeploymentPaths } from '../config/paths.ts';
import type { ClusterRole, DeploymentConfig } from '../config/schema.ts';
import { problemsOf } from '../config/validate.ts';
import type { ClusterClient } from '../kafka/cluster-client.ts';
import { classifyKafkaError } from '../kafka/failure-reason.ts';
import type { Logger } from '../logger.ts';
import type { ParameterStore } from '../store/stores.ts';
import type { ActiveObservation, ActiveWatch } from './active-watch.ts';
import type { ClusterClients } from './cluster-connections.ts';
import { type ClusterProbeOutcome, oneLine, probeCluster } from './cluster-probe.ts';
import { Deadline, withTimeout } from './deadline.ts';
import {
  clusterProbeInput,
  localCanaryTopic,
  policyOf,
  type ReplicationDirection,
  remoteCanaryTopic,
  replicationDirections,
} from './detection-policy.ts';
import type { FailoverTrigger } from './failover-trigger.ts';
import { failedCycleMetrics, type MetricsSink, probeMetrics } from './probe-metrics.ts';
import { type ClusterHealth, type ProbeResult, probeResultSchema, toLastProbeJson } from './probe-result.ts';
import { measureReplication, ReplicationState } from './replication-probe.ts';
import { judgeCluster } from './verdict.ts';

/** What a container remembers between cycles and invocations, and where the deployment's results go. */
export class ProbeContext {
  /** Derived once by the probe's wiring: the last result goes to `paths.lastProbeParameter`. */
  readonly paths: DeploymentPaths;
  cycle = 0;
  readonly replication = new Map<string, ReplicationState>();

  constructor(paths: DeploymentPaths) {
    this.paths = paths;
  }

  state(direction: ReplicationDirection): ReplicationState {
    const key = `${direction.source}->${direction.target}`;
    let s = this.replication.get(key);
    if (!s) {
      s = new ReplicationState();
      this.replication.set(key, s);
    }
    return s;
  }
}

export interface ProbeCycleDeps {
  clients: ClusterClients;
  metrics: MetricsSink;
  /** Where the latest result is stored (`lastProbeParameter`); omitted: not stored. */
  parameters?: Pick<ParameterStore, 'put'>;
  logger: Logger;
  context: ProbeContext;
  clock?: Pick<Clock, 'now'>;
  /** Looks at the active configuration's stores against the epoch authority each cycle; absent: not looked at. */
  activeWatch?: Pick<ActiveWatch, 'observe'>;
  /** Applies the failover rule to each cycle and asks for the switch itself; absent: only the alarm does. */
  trigger?: Pick<FailoverTrigger, 'judge' | 'forget'>;
}

/**
 * One probe cycle: both clusters in parallel (metadata, canary, verdict), then replication in each direction,
 * all under `detection.cycleDeadlineMs` (a slice of it is kept for storing the result). Emits the metrics
 * (`ClusterUp` for both clusters, always), logs the result, stores it compacted in SSM and returns it. Never
 * throws: a failure anywhere becomes `down` with a reason, or a replication reason.
 */
export async function runProbeCycle(
  input: { config: DeploymentConfig },
  deps: ProbeCycleDeps,
): Promise<ProbeResult> {
  const { config } = input;
  const clock = deps.clock ?? systemClock;
  const started = clock.now();
  const cycle = deps.context.cycle++;
  const total = config.detection.cycleDeadlineMs;
  const storeReserveMs = Math.min(1_000, Math.floor(total / 5));
  const kafkaDeadline = Deadline.in(total - storeReserveMs, clock);

  // AWS reads, beside the Kafka work and under the same deadline; its failures are part of what it reports.
  const watching = deps.activeWatch
    ? withTimeout(
        deps.activeWatch.observe(started),
        total - storeReserveMs,
        'reading the active configuration',
      ).catch((e: unknown): ActiveObservation => ({ state: 'unknown', detail: oneLine(e).slice(0, 300) }))
    : undefined;
  let result: ProbeResult;
  try {
    result = await probeBoth(config, deps, kafkaDeadline, clock, cycle, started);
    if (watching) result.active = await watching;
  } catch (e: unknown) {
    // A defect, not a cluster problem: still say something for both clusters (ClusterUp 0, as the alarms expect).
    deps.logger.error('probe cycle failed', { error: oneLine(e), cycle });
    for (const batch of failedCycleMetrics(config.name)) safeEmit(deps, batch);
    deps.trigger?.forget();
    return failedResult(config, cycle, started, clock, oneLine(e));
  }

  if (deps.trigger) {
    // Before the metrics and the store: the ask is the point of the direct trigger, and it is one async invoke.
    try {
      const streak = await withTimeout(
        deps.trigger.judge(result),
        Math.max(1_000, started + total - clock.now()),
        'judging the failover rule',
      );
      if (streak) result.downStreak = streak;
    } catch (e: unknown) {
      deps.logger.warn('probe could not judge the failover rule', { error: oneLine(e) });
    }
  }

  for (const batch of probeMetrics(result)) safeEmit(deps, batch);
  const checked = probeResultSchema.safeParse(result);
  if (!checked.success) {
    deps.logger.error('probe result does not match its schema', { problems: problemsOf(checked.error) });
  }
  deps.logger.info('probe cycle', { probe: result });

  if (deps.parameters) {
    const name = deps.context.paths.lastProbeParameter;
    const budget = Math.max(100, started + total - clock.now());
    try {
      await withTimeout(
        deps.parameters.put(name, toLastProbeJson(result), {
          description: 'mm2-failover: latest probe result',
        }),
        budget,
        `storing ${name}`,
      );
    } catch (e: unknown) {
      deps.logger.warn('could not store the probe result', { parameter: name, error: oneLine(e) });
    }
  }
  return result;
}

async function probeBoth(
  config: DeploymentConfig,
  deps: ProbeCycleDeps,
  deadline: Deadline,
  clock: Pick<Clock, 'now'>,
  cycle: number,
  started: number,
): Promise<ProbeResult> {
  const directions = replicationDirections(config);
  const policy = policyOf(config);
  const clients = new Map<ClusterRole, ClusterClient>();

  const probeRole = async (role: ClusterRole): Promise<ClusterProbeOutcome> => {
    const t0 = clock.now();
    let client: ClusterClient;
    try {
      client = await deadline.run(`${role} cluster definition`, () => deps.clients.client(role));
    } catch (e: unknown) {
      const reason = classifyKafkaError(e);
      const failure = reason === 'unknown' ? 'config-error' : reason;
      deps.clients.forget(role, failure);
      return { health: unreachable(config, role, failure, oneLine(e), clock.now() - t0), clientFailed: true };
    }
    clients.set(role, client);
    // Metadata for the internal topics the replication step reads, fetched in the cluster probe's request.
    const extraTopics = directions.flatMap((d) => {
      if (d.target === role) {
        return [
          remoteCanaryTopic(config, d),
          policy.checkpointsTopic(d.sourceAlias),
          policy.offsetSyncsTopicName(d.sourceAlias),
          policy.formatRemoteTopic(d.sourceAlias, policy.heartbeatsTopic()),
        ];
      }
      return d.source === role ? [policy.offsetSyncsTopicName(d.targetAlias)] : [];
    });
    const outcome = await probeCluster(clusterProbeInput(config, role, extraTopics), {
      client,
      deadline,
      clock,
    });
    if (outcome.clientFailed) deps.clients.forget(role, outcome.health.reasons[0]);
    return outcome;
  };

  const [primary, secondary] = await Promise.all([probeRole('primary'), probeRole('secondary')]);
  const health: Record<ClusterRole, ClusterProbeOutcome> = { primary, secondary };
  const usable = (role: ClusterRole): ClusterClient | undefined =>
    health[role].health.verdict === 'down' || health[role].clientFailed ? undefined : clients.get(role);

  const replication = await Promise.all(
    directions.map(async (d) => {
      const source = usable(d.source);
      const target = usable(d.target);
      const outcome = await measureReplication(
        {
          direction: d,
          policy,
          topics: config.topics,
          groups: config.consumerGroups,
          sourceCanaryTopic: localCanaryTopic(config, d.source),
          remoteCanaryTopic: remoteCanaryTopic(config, d),
        },
        {
          ...(source ? { source } : {}),
          ...(target ? { target } : {}),
          deadline,
          clock,
          state: deps.context.state(d),
          onProblem: (what, detail) => deps.logger.warn('replication measurement failed', { what, detail }),
        },
      );
      if (outcome.sourceFailed) deps.clients.forget(d.source);
      if (outcome.targetFailed) deps.clients.forget(d.target);
      return outcome.health;
    }),
  );

  return {
    version: 1,
    deployment: config.name,
    cycle,
    startedAt: new Date(started).toISOString(),
    durationMs: clock.now() - started,
    deadlineMs: config.detection.cycleDeadlineMs,
    clusters: { primary: primary.health, secondary: secondary.health },
    replication,
  };
}

function unreachable(
  config: DeploymentConfig,
  role: ClusterRole,
  failure: ClusterHealth['reasons'][number],
  detail: string,
  latencyMs: number,
): ClusterHealth {
  const expectedBrokers = config.clusters[role].expectedBrokers;
  const judged = judgeCluster({
    failure,
    brokersAlive: 0,
    expectedBrokers,
    watchedPartitions: 0,
    leaderless: 0,
    underReplicated: 0,
    missingTopics: [],
  });
  return {
    role,
    alias: config.clusters[role].alias,
    ...judged,
    detail,
    latencyMs,
    brokersAlive: 0,
    expectedBrokers,
    partitions: { watched: 0, leaderless: 0, underReplicated: 0 },
    missingTopics: [],
  };
}

function failedResult(
  config: DeploymentConfig,
  cycle: number,
  started: number,
  clock: Pick<Clock, 'now'>,
  detail: string,
): ProbeResult {
  const latency = clock.now() - started;
  return {
    version: 1,
    deployment: config.name,
    cycle,
    startedAt: new Date(started).toISOString(),
    durationMs: latency,
    deadlineMs: config.detection.cycleDeadlineMs,
    clusters: {
      primary: unreachable(config, 'primary', 'unknown', detail, latency),
      secondary: unreachable(config, 'secondary', 'unknown', detail, latency),
    },
    replication: [],
  };
}

function safeEmit(deps: ProbeCycleDeps, batch: Parameters<MetricsSink['emit']>[0]): void {
  try {
    deps.metrics.emit(batch);
  } catch (e: unknown) {
    deps.logger.error('could not emit metrics', { error: oneLine(e), dimensions: batch.dimensions });
  }
}
