import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import type { ClusterRole } from '#shared/config/schema.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { MissingConfigurationError } from '#shared/errors.ts';
import type { ClusterClients } from '#shared/health/cluster-connections.ts';
import { FailoverTrigger } from '#shared/health/failover-trigger.ts';
import { ProbeContext, runProbeCycle } from '#shared/health/probe-cycle.ts';
import type { MetricBatch } from '#shared/health/probe-metrics.ts';
import { probeResultSchema } from '#shared/health/probe-result.ts';
import type { ParameterStore } from '#shared/store/stores.ts';
import { FakeCluster } from '../kafka/fake-cluster.ts';

const config = deploymentConfigSchema.parse({
  name: 'orders-dr',
  mode: 'active-passive',
  replicationPolicy: 'default',
  clusters: {
    primary: { alias: 'primary', auth: 'none', expectedBrokers: 3 },
    secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 3 },
  },
  topics: ['orders'],
  consumerGroups: ['billing'],
  mirror: { kind: 'manual' },
});

function refused(): Error {
  const e = new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  e.name = 'KafkaJSConnectionError';
  return e;
}

function logger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

describe('runProbeCycle', () => {
  let fakes: Record<ClusterRole, FakeCluster>;
  let clients: { client: ClusterClients['client']; forget: Mock<ClusterClients['forget']> };
  let batches: MetricBatch[];
  let put: Mock<ParameterStore['put']>;
  let log: ReturnType<typeof logger>;
  let context: ProbeContext;

  const deps = () => ({
    clients,
    metrics: { emit: (b: MetricBatch) => batches.push(b) },
    parameters: { put },
    logger: log,
    context,
  });
  const metric = (name: string, cluster?: string) =>
    batches
      .find((b) => b.dimensions.Cluster === cluster && b.metrics.some((m) => m.name === name))
      ?.metrics.find((m) => m.name === name)?.value;

  beforeEach(() => {
    fakes = {
      primary: new FakeCluster().addTopic('orders', 3).addTopic('mm2-failover-canary', 3),
      secondary: new FakeCluster()
        .addTopic('primary.orders', 3)
        .addTopic('mm2-failover-canary', 3)
        .addTopic('primary.mm2-failover-canary', 3),
    };
    clients = {
      client: vi.fn(async (role: ClusterRole) => fakes[role]),
      forget: vi.fn<ClusterClients['forget']>(),
    };
    batches = [];
    put = vi.fn<ParameterStore['put']>(async () => ({ version: 1 }));
    log = logger();
    context = new ProbeContext(deploymentPaths(config.name));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('judges both clusters up, emits ClusterUp 1 for both and the heartbeat, and stores the result', async () => {
    // Act
    const result = await runProbeCycle({ config }, deps());
    // Assert
    expect(result.clusters.primary.verdict).toBe('up');
    expect(result.clusters.secondary.verdict).toBe('up');
    expect(metric('ClusterUp', 'primary')).toBe(1);
    expect(metric('ClusterUp', 'secondary')).toBe(1);
    expect(metric('WritableRatio', 'primary')).toBe(1);
    expect(batches.find((b) => b.metrics[0]?.name === 'ProberHeartbeat')?.dimensions).toEqual({
      Deployment: 'orders-dr',
    });
    expect(metric('ReplicationLagSeconds', 'secondary')).toBeGreaterThanOrEqual(0);
    expect(put).toHaveBeenCalledWith(
      '/mm2-failover/orders-dr/status/last-probe',
      expect.any(String),
      expect.any(Object),
    );
    const stored = probeResultSchema.parse(JSON.parse(put.mock.calls[0]?.[1] as string));
    expect(stored.clusters.primary.verdict).toBe('up');
    expect(log.info).toHaveBeenCalledWith('probe cycle', { probe: result });
  });

  it('numbers cycles within the container', async () => {
    await runProbeCycle({ config }, deps());
    const second = await runProbeCycle({ config }, deps());
    expect(second.cycle).toBe(1);
  });

  it('emits ClusterUp 0 for a refusing primary, forgets its client and reports the source down for replication', async () => {
    fakes.primary.failWith = refused();
    const result = await runProbeCycle({ config }, deps());
    expect(result.clusters.primary).toMatchObject({ verdict: 'down', reasons: ['connect-refused'] });
    expect(metric('ClusterUp', 'primary')).toBe(0);
    expect(metric('ClusterUp', 'secondary')).toBe(1);
    expect(clients.forget).toHaveBeenCalledWith('primary', 'connect-refused');
    expect(result.replication[0]?.reasons).toContain('source-down');
  });

  it("stores the primary's down streak with the result and asks for the switch once it covers the window", async () => {
    fakes.primary.failWith = refused();
    const asks: unknown[] = [];
    const trigger = new FailoverTrigger(
      { ...config.detection, evaluationPeriods: 1, alarmPeriodSeconds: 10, probeIntervalSeconds: 10 },
      { ask: async (r) => void asks.push(r), logger: log },
    );

    const result = await runProbeCycle({ config }, { ...deps(), trigger });

    expect(result.downStreak).toEqual({ since: result.startedAt, cycles: 1, requested: true });
    expect(asks).toHaveLength(1);
    const stored = probeResultSchema.parse(JSON.parse(put.mock.calls[0]?.[1] as string));
    expect(stored.downStreak).toEqual(result.downStreak);
  });

  it('ends the down streak when the cycle itself fails, and judges nothing', async () => {
    const trigger = { judge: vi.fn(async () => undefined), forget: vi.fn() };
    // A defect, not a cluster problem: the replication state cannot be had.
    context.state = () => {
      throw new Error('a defect');
    };

    const result = await runProbeCycle({ config }, { ...deps(), trigger });

    expect(result.clusters.primary.reasons).toEqual(['unknown']);
    expect(trigger.forget).toHaveBeenCalledTimes(1);
    expect(trigger.judge).not.toHaveBeenCalled();
  });

  it('says down with config-error when the cluster definition cannot be read', async () => {
    clients.client = vi.fn(async (role: ClusterRole) => {
      if (role === 'primary')
        throw new MissingConfigurationError('parameter /mm2-failover/orders-dr/clusters/primary');
      return fakes[role];
    });
    const result = await runProbeCycle({ config }, deps());
    expect(result.clusters.primary).toMatchObject({ verdict: 'down', reasons: ['config-error'] });
    expect(metric('ClusterUp', 'primary')).toBe(0);
  });

  it('finishes within the cycle deadline with a timeout verdict when a cluster hangs', async () => {
    // Arrange
    vi.useFakeTimers();
    fakes.primary.gate = new Promise(() => {});
    // Act
    const pending = runProbeCycle({ config }, deps());
    await vi.advanceTimersByTimeAsync(config.detection.cycleDeadlineMs);
    const result = await pending;
    // Assert
    expect(result.clusters.primary).toMatchObject({ verdict: 'down', reasons: ['timeout'] });
    expect(result.durationMs).toBeLessThanOrEqual(config.detection.cycleDeadlineMs);
    expect(result.clusters.secondary.verdict).toBe('up');
  });

  it('still returns and logs when emitting metrics or storing the result fails', async () => {
    put.mockRejectedValue(new Error('ThrottlingException'));
    const result = await runProbeCycle(
      { config },
      {
        ...deps(),
        metrics: {
          emit: () => {
            throw new Error('stdout closed');
          },
        },
      },
    );
    expect(result.clusters.primary.verdict).toBe('up');
    expect(log.error).toHaveBeenCalledWith(
      'could not emit metrics',
      expect.objectContaining({ error: 'Error: stdout closed' }),
    );
    expect(log.warn).toHaveBeenCalledWith(
      'could not store the probe result',
      expect.objectContaining({ error: 'Error: ThrottlingException' }),
    );
  });

  it('measures both directions in active-active', async () => {
    const aa = deploymentConfigSchema.parse({ ...config, mode: 'active-active' });
    fakes.primary.addTopic('secondary.orders', 3).addTopic('secondary.mm2-failover-canary', 3);
    fakes.secondary.addTopic('orders', 3);
    const result = await runProbeCycle({ config: aa }, deps());
    expect(result.replication.map((r) => `${r.source}->${r.target}`)).toEqual([
      'primary->secondary',
      'secondary->primary',
    ]);
    expect(metric('ReplicationLagSeconds', 'primary')).toBeGreaterThanOrEqual(0);
  });
});
