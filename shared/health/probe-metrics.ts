import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricResolution, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ProbeResult } from './probe-result.ts';
import { clusterUpValue } from './verdict.ts';

/**
 * The probe's CloudWatch metrics, high resolution (1 s), in the namespace `deploymentPaths(name).metricsNamespace`.
 * Dimension sets are exactly what the alarms in shared/alarms/specs.ts select on:
 *
 * | metric | dimensions | |
 * |---|---|---|
 * | `ClusterUp` | Deployment, Cluster | 1 up/degraded, 0 down — emitted every cycle for both clusters, failures included |
 * | `BrokersAlive` | Deployment, Cluster | |
 * | `WritableRatio` | Deployment, Cluster | canary partitions written with acks=all / partitions |
 * | `ProbeLatencyMs` | Deployment, Cluster | wall time of the cluster's probe |
 * | `ReplicationLagSeconds` | Deployment, Cluster (the target) | only when measured |
 * | `ReplicationBacklogRecords` | Deployment, Cluster (the target) | only when measured |
 * | `CheckpointLagRecords` | Deployment, Cluster (the target), ConsumerGroup | per configured group |
 * | `ProberHeartbeat` | Deployment | 1 per cycle: missing data means the prober is broken |
 * | `StandbyReady` | Deployment | 1 ready, 0 not: after each complete readiness audit (shared/readiness), not per cycle |
 */

type ProbeMetricUnit = 'Count' | 'Seconds' | 'Milliseconds' | 'None';
interface MetricValue {
  name: string;
  unit: ProbeMetricUnit;
  value: number;
}
export interface MetricBatch {
  dimensions: Record<string, string>;
  metrics: MetricValue[];
}

/** Where metric batches go: Powertools EMF in Lambda, an array in tests. */
export interface MetricsSink {
  emit(batch: MetricBatch): void;
}

/** The metric batches of one cycle, one per dimension set. */
export function probeMetrics(result: ProbeResult): MetricBatch[] {
  const deployment = result.deployment;
  const batches: MetricBatch[] = [];
  for (const c of [result.clusters.primary, result.clusters.secondary]) {
    batches.push({
      dimensions: { Deployment: deployment, Cluster: c.role },
      metrics: [
        { name: 'ClusterUp', unit: 'Count', value: clusterUpValue(c.verdict) },
        { name: 'BrokersAlive', unit: 'Count', value: c.brokersAlive },
        { name: 'WritableRatio', unit: 'None', value: c.canary?.writableRatio ?? 0 },
        { name: 'ProbeLatencyMs', unit: 'Milliseconds', value: Math.round(c.latencyMs) },
      ],
    });
  }
  for (const r of result.replication) {
    const metrics: MetricValue[] = [];
    if (r.lagSeconds !== undefined)
      metrics.push({ name: 'ReplicationLagSeconds', unit: 'Seconds', value: r.lagSeconds });
    if (r.backlogRecords !== undefined) {
      metrics.push({ name: 'ReplicationBacklogRecords', unit: 'Count', value: r.backlogRecords });
    }
    if (metrics.length > 0)
      batches.push({ dimensions: { Deployment: deployment, Cluster: r.target }, metrics });
    for (const g of r.groups) {
      batches.push({
        dimensions: { Deployment: deployment, Cluster: r.target, ConsumerGroup: g.group },
        metrics: [{ name: 'CheckpointLagRecords', unit: 'Count', value: g.checkpointLagRecords }],
      });
    }
  }
  batches.push({
    dimensions: { Deployment: deployment },
    metrics: [{ name: 'ProberHeartbeat', unit: 'Count', value: 1 }, ...activeMetrics(result)],
  });
  return batches;
}

/**
 * On-call's first question (which cluster, which epoch) and whether the stores hold it consistently: `ActiveEpoch`,
 * `ActiveOnSecondary` (0/1) and `ActiveConfigConsistent` (0 when the stores need repair, disagree with nothing
 * claimed, or cannot be read; a switch in flight counts as consistent, readers wait it out).
 */
function activeMetrics(result: ProbeResult): MetricValue[] {
  const active = result.active;
  if (active === undefined) return [];
  const consistent = ['needs-repair', 'unclaimed', 'unknown'].includes(active.state) ? 0 : 1;
  return [
    { name: 'ActiveConfigConsistent', unit: 'Count', value: consistent },
    ...(active.epoch === undefined
      ? []
      : [{ name: 'ActiveEpoch', unit: 'Count' as const, value: active.epoch }]),
    ...(active.cluster === undefined
      ? []
      : [
          {
            name: 'ActiveOnSecondary',
            unit: 'Count' as const,
            value: active.cluster === 'secondary' ? 1 : 0,
          },
        ]),
  ];
}

/** `ClusterUp = 0` for both clusters (and the heartbeat) when a cycle failed before it could judge anything. */
export function failedCycleMetrics(deployment: string): MetricBatch[] {
  return [
    ...(['primary', 'secondary'] as const).map((role) => ({
      dimensions: { Deployment: deployment, Cluster: role },
      metrics: [{ name: 'ClusterUp', unit: 'Count' as const, value: 0 }],
    })),
    {
      dimensions: { Deployment: deployment },
      metrics: [{ name: 'ProberHeartbeat', unit: 'Count', value: 1 }],
    },
  ];
}

/** `StandbyReady` after a complete readiness audit: the standby-not-ready alarm watches it. */
export function readinessMetrics(deployment: string, ready: boolean): MetricBatch[] {
  return [
    {
      dimensions: { Deployment: deployment },
      metrics: [{ name: 'StandbyReady', unit: 'Count', value: ready ? 1 : 0 }],
    },
  ];
}

const units: Record<ProbeMetricUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Seconds: MetricUnit.Seconds,
  Milliseconds: MetricUnit.Milliseconds,
  None: MetricUnit.NoUnit,
};

/**
 * Powertools Metrics as a {@link MetricsSink}: one EMF line per dimension set, flushed at once so each cycle's
 * datapoints reach CloudWatch while the invocation keeps probing. The Metrics instance must have no default
 * dimensions (see {@link createProbeMetrics}): alarms match dimension sets exactly.
 */
export class PowertoolsMetricsSink implements MetricsSink {
  readonly #metrics: Pick<Metrics, 'addDimension' | 'addMetric' | 'publishStoredMetrics'>;
  constructor(metrics: Pick<Metrics, 'addDimension' | 'addMetric' | 'publishStoredMetrics'>) {
    this.#metrics = metrics;
  }
  emit(batch: MetricBatch): void {
    for (const [name, value] of Object.entries(batch.dimensions)) this.#metrics.addDimension(name, value);
    for (const m of batch.metrics)
      this.#metrics.addMetric(m.name, units[m.unit], m.value, MetricResolution.High);
    this.#metrics.publishStoredMetrics();
  }
}

/**
 * A Powertools Metrics instance for the probe: the deployment's namespace and no default dimensions (Powertools
 * adds `service` by default, which would give every metric a dimension set the alarms do not select).
 */
export function createProbeMetrics(MetricsClass: typeof Metrics, namespace: string): Metrics {
  const metrics = new MetricsClass({ namespace });
  metrics.clearDefaultDimensions();
  return metrics;
}
