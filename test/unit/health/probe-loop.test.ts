import { describe, expect, it, vi } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { ProbeContext } from '#shared/health/probe-cycle.ts';
import { runProbeLoop } from '#shared/health/probe-loop.ts';
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

function harness(invocationMs: number) {
  let now = 1_000_000;
  const end = now + invocationMs;
  const sleeps: number[] = [];
  const fake = new FakeCluster();
  fake.brokers = [1];
  fake.addTopic('orders', 1);
  const deps = {
    clients: { client: async () => fake, forget: () => {} },
    metrics: { emit: () => {} },
    logger: { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    context: new ProbeContext(deploymentPaths(config.name)),
    clock: { now: () => now },
    remainingMs: () => end - now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
  return { deps, sleeps, advance: (ms: number) => (now += ms) };
}

describe('runProbeLoop', () => {
  it('probes every interval until a whole cycle plus the margin no longer fits in the invocation', async () => {
    // Arrange: a 60 s invocation, cycles every 10 s, 7 s deadline, 2 s margin.
    const { deps, sleeps } = harness(60_000);
    // Act
    const summary = await runProbeLoop({ config }, deps);
    // Assert: cycles start at 0, 10, 20, 30, 40 and 50 s; a seventh would end past 58 s.
    expect(summary.cycles).toBe(6);
    expect(sleeps).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
    expect(summary.verdicts.primary).toEqual(['up', 'up', 'up', 'up', 'up', 'up']);
    expect(summary.last?.cycle).toBe(5);
  });

  it('does not start a cycle when the invocation has less than a cycle deadline left', async () => {
    const { deps } = harness(8_000);
    const summary = await runProbeLoop({ config }, deps);
    expect(summary.cycles).toBe(0);
    expect(summary.last).toBeUndefined();
  });

  it('stops after maxCycles when asked', async () => {
    const { deps, sleeps } = harness(60_000);
    const summary = await runProbeLoop({ config, maxCycles: 2 }, deps);
    expect(summary.cycles).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it('waits only the rest of the interval when a cycle took time', async () => {
    const { deps, sleeps, advance } = harness(25_000);
    const slow = deps.clients.client;
    deps.clients.client = async () => {
      advance(3_000);
      return slow();
    };
    await runProbeLoop({ config, maxCycles: 2 }, deps);
    // Both clusters' clients took 3 s each: 6 s of the 10 s interval are gone.
    expect(sleeps).toEqual([4_000]);
  });
});
