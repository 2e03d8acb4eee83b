import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { datapointsFromEmf } from '#shared/alarms/evaluate.ts';
import {
  createProbeMetrics,
  failedCycleMetrics,
  PowertoolsMetricsSink,
  probeMetrics,
} from '#shared/health/probe-metrics.ts';
import { sampleResult } from './fixtures.ts';

describe('probeMetrics', () => {
  it('emits the cluster metrics per cluster, replication metrics on the target, checkpoint lag per group and the heartbeat', () => {
    const batches = probeMetrics(sampleResult());
    expect(batches.map((b) => [b.dimensions, b.metrics.map((m) => `${m.name}=${m.value}`)])).toEqual([
      [
        { Deployment: 'orders-dr', Cluster: 'primary' },
        ['ClusterUp=1', 'BrokersAlive=3', 'WritableRatio=1', 'ProbeLatencyMs=12'],
      ],
      [
        { Deployment: 'orders-dr', Cluster: 'secondary' },
        ['ClusterUp=1', 'BrokersAlive=3', 'WritableRatio=1', 'ProbeLatencyMs=12'],
      ],
      [
        { Deployment: 'orders-dr', Cluster: 'secondary' },
        ['ReplicationLagSeconds=0.2', 'ReplicationBacklogRecords=20'],
      ],
      [
        { Deployment: 'orders-dr', Cluster: 'secondary', ConsumerGroup: 'billing' },
        ['CheckpointLagRecords=4'],
      ],
      [{ Deployment: 'orders-dr' }, ['ProberHeartbeat=1']],
    ]);
  });

  it('emits ClusterUp 0 and WritableRatio 0 for a down cluster, and no lag metrics when lag is unknown', () => {
    const result = sampleResult();
    result.clusters.primary = {
      ...result.clusters.primary,
      verdict: 'down',
      reasons: ['timeout'],
      brokersAlive: 0,
    };
    delete result.clusters.primary.canary;
    const [r] = result.replication;
    if (r) {
      delete r.lagSeconds;
      delete r.backlogRecords;
    }
    const batches = probeMetrics(result);
    expect(batches[0]?.metrics.find((m) => m.name === 'ClusterUp')?.value).toBe(0);
    expect(batches[0]?.metrics.find((m) => m.name === 'WritableRatio')?.value).toBe(0);
    expect(batches.some((b) => b.metrics.some((m) => m.name === 'ReplicationLagSeconds'))).toBe(false);
  });

  it('emits ClusterUp 0 for both clusters when a cycle failed outright', () => {
    expect(failedCycleMetrics('d').map((b) => [b.dimensions.Cluster, b.metrics[0]?.value])).toEqual([
      ['primary', 0],
      ['secondary', 0],
      [undefined, 1],
    ]);
  });
});

describe('PowertoolsMetricsSink', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes one high-resolution EMF line per batch with exactly the alarm dimensions, which the drill reads back', () => {
    // Arrange
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const metrics = createProbeMetrics(Metrics, 'MM2Failover');
    const sink = new PowertoolsMetricsSink(metrics);
    // Act
    for (const batch of probeMetrics(sampleResult())) sink.emit(batch);
    // Assert
    const emf = lines.map(
      (l) =>
        JSON.parse(l) as {
          _aws: {
            CloudWatchMetrics: {
              Namespace: string;
              Dimensions: string[][];
              Metrics: { Name: string; StorageResolution?: number }[];
            }[];
          };
        },
    );
    expect(emf).toHaveLength(5);
    const first = emf[0]?._aws.CloudWatchMetrics[0];
    expect(first?.Namespace).toBe('MM2Failover');
    expect(first?.Dimensions).toEqual([['Deployment', 'Cluster']]);
    expect(first?.Metrics.every((m) => m.StorageResolution === 1)).toBe(true);
    expect(emf[4]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Deployment']]);
    const points = lines.flatMap((l) => datapointsFromEmf(l.trim()));
    expect(points.filter((p) => p.metricName === 'ClusterUp').map((p) => [p.cluster, p.value])).toEqual([
      ['primary', 1],
      ['secondary', 1],
    ]);
  });
});
