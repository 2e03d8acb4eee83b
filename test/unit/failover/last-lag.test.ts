import { describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { ValidationError } from '#shared/errors.ts';
import { lastMeasuredLag } from '#shared/failover/last-lag.ts';
import type { ProbeResult, ReplicationHealth } from '#shared/health/probe-result.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { testConfig } from './fakes.ts';

const config = testConfig();
const name = deploymentPaths(config.name).lastProbeParameter;

function cluster(role: 'primary' | 'secondary', verdict: 'up' | 'down'): ProbeResult['clusters']['primary'] {
  return {
    role,
    alias: role,
    verdict,
    reasons: verdict === 'down' ? ['connect-refused'] : [],
    latencyMs: 3,
    brokersAlive: verdict === 'down' ? 0 : 1,
    expectedBrokers: 1,
    partitions: { watched: 2, leaderless: 0, underReplicated: 0 },
    missingTopics: [],
  };
}

function stored(replication: Partial<ReplicationHealth>): FakeStores {
  const result: ProbeResult = {
    version: 1,
    deployment: config.name,
    cycle: 4,
    startedAt: '2026-11-21T12:00:00.000Z',
    durationMs: 40,
    deadlineMs: 7000,
    clusters: {
      primary: cluster('primary', 'down'),
      secondary: cluster('secondary', 'up'),
    },
    replication: [
      {
        source: 'primary',
        target: 'secondary',
        sourceAlias: 'primary',
        targetAlias: 'secondary',
        measuredAt: '2026-11-21T12:00:00.000Z',
        topics: [],
        groups: [],
        reasons: [],
        ...replication,
      },
    ],
  };
  const stores = new FakeStores();
  stores.params.set(name, { value: JSON.stringify(result), version: 1 });
  return stores;
}

describe('lastMeasuredLag', () => {
  it('returns the current measurement with per-topic backlog while the primary answers', async () => {
    const stores = stored({
      lagSeconds: 1.5,
      backlogRecords: 12,
      topics: [
        {
          topic: 'orders',
          remoteTopic: 'primary.orders',
          partitions: 3,
          backlogRecords: 12,
          partitionsWithoutSync: 0,
        },
      ],
    });

    await expect(lastMeasuredLag(stores, deploymentPaths(config.name))()).resolves.toEqual({
      measuredAt: '2026-11-21T12:00:00.000Z',
      lagSeconds: 1.5,
      backlogRecords: 12,
      topics: [{ topic: 'orders', backlogRecords: 12 }],
    });
  });

  it('returns the last complete measurement when the primary is down', async () => {
    const stores = stored({
      reasons: ['source-down'],
      lastGood: { measuredAt: '2026-11-21T11:59:40.000Z', lagSeconds: 2, backlogRecords: 30 },
    });

    await expect(lastMeasuredLag(stores, deploymentPaths(config.name))()).resolves.toEqual({
      measuredAt: '2026-11-21T11:59:40.000Z',
      lagSeconds: 2,
      backlogRecords: 30,
      topics: [],
    });
  });

  it('returns nothing when the probe never stored a result', async () => {
    await expect(lastMeasuredLag(new FakeStores(), deploymentPaths(config.name))()).resolves.toBeUndefined();
  });

  it('refuses a stored result that does not match the probe result schema, naming the parameter', async () => {
    const stores = new FakeStores();
    stores.params.set(name, { value: '{"version":2}', version: 1 });

    const err = await lastMeasuredLag(stores, deploymentPaths(config.name))().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain(name);
  });
});
