import { describe, expect, it, vi } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { ProbeContext } from '#shared/health/probe-cycle.ts';
import { runProbeLoop } from '#shared/health/probe-loop.ts';
import { readinessMetrics } from '#shared/health/probe-metrics.ts';
import { FakeCluster } from '../kafka/fake-cluster.ts';

const config = deploymentConfigSchema.parse({
  name: 'orders-dr',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  clusters: {
    primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
    secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
  },
  topics: ['orders'],
  mirror: { kind: 'manual' },
  detection: { probeIntervalSeconds: 10, cycleDeadlineMs: 7_000 },
});

describe('runProbeLoop: checks after a cycle', () => {
  it('offers every cycle to the readiness check with the time left, and waits for what it started before returning', async () => {
    let now = 1_000_000;
    const end = now + 30_000;
    const fake = new FakeCluster();
    fake.brokers = [1];
    fake.addTopic('orders', 1);
    let finished = false;
    let release: () => void = () => {};
    const offered: number[] = [];
    const afterCycle = vi.fn((_result: unknown, remainingMs: number) => {
      offered.push(remainingMs);
      if (offered.length > 1) return undefined;
      return new Promise<void>((resolve) => {
        release = () => {
          finished = true;
          resolve();
        };
      });
    });
    const loop = runProbeLoop(
      { config, maxCycles: 2 },
      {
        clients: { client: async () => fake, forget: () => {} },
        metrics: { emit: () => {} },
        logger: { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
        context: new ProbeContext(deploymentPaths(config.name)),
        clock: { now: () => now },
        remainingMs: () => end - now,
        sleep: async (ms) => {
          now += ms;
        },
        readiness: { afterCycle },
      },
    );
    // The check runs beside the cycles: the second cycle happens while it is still running.
    await vi.waitFor(() => expect(afterCycle).toHaveBeenCalledTimes(2));
    expect(finished).toBe(false);
    release();
    const summary = await loop;
    expect(finished).toBe(true);
    expect(summary.cycles).toBe(2);
    // Less the 2 s margin kept free at the end of the invocation.
    expect(offered).toEqual([28_000, 18_000]);
  });
});

describe('readinessMetrics', () => {
  it('emits StandbyReady per deployment, 1 ready and 0 not', () => {
    expect(readinessMetrics('orders-dr', true)).toEqual([
      {
        dimensions: { Deployment: 'orders-dr' },
        metrics: [{ name: 'StandbyReady', unit: 'Count', value: 1 }],
      },
    ]);
    expect(readinessMetrics('orders-dr', false)[0]?.metrics[0]?.value).toBe(0);
  });
});
