import { describe, expect, it } from 'vitest';
import { type DeploymentConfigInput, deploymentConfigSchema } from '#shared/config/schema.ts';
import {
  confirmedDown,
  lagWithinBudget,
  localCanaryTopic,
  remoteCanaryTopic,
  replicationDirections,
  watchedTopics,
} from '#shared/health/detection-policy.ts';

function first<T>(items: readonly T[]): T {
  const [item] = items;
  if (item === undefined) throw new Error('expected at least one item');
  return item;
}

function config(overrides: Partial<DeploymentConfigInput> = {}) {
  return deploymentConfigSchema.parse({
    name: 'orders-dr',
    mode: 'active-passive',
    replicationPolicy: 'default',
    clusters: {
      primary: { alias: 'primary', auth: 'none' },
      secondary: { alias: 'secondary', auth: 'none' },
    },
    topics: ['orders', 'payments'],
    mirror: { kind: 'manual' },
    ...overrides,
  });
}

describe('detection policy', () => {
  it('watches the topics on the primary and their mirrored copies on the secondary in active-passive', () => {
    const c = config();
    expect(watchedTopics(c, 'primary').map((t) => t.topic)).toEqual(['orders', 'payments']);
    expect(watchedTopics(c, 'secondary').map((t) => t.topic)).toEqual(['primary.orders', 'primary.payments']);
    expect(replicationDirections(c)).toEqual([
      { source: 'primary', target: 'secondary', sourceAlias: 'primary', targetAlias: 'secondary' },
    ]);
  });

  it('watches local and remote topics on both clusters and measures both directions in active-active', () => {
    const c = config({ mode: 'active-active' });
    expect(watchedTopics(c, 'secondary').map((t) => t.topic)).toEqual([
      'orders',
      'payments',
      'primary.orders',
      'primary.payments',
    ]);
    expect(replicationDirections(c).map((d) => `${d.source}->${d.target}`)).toEqual([
      'primary->secondary',
      'secondary->primary',
    ]);
  });

  it('keeps one watched topic per name under the identity policy', () => {
    const c = config({ replicationPolicy: 'identity' });
    expect(watchedTopics(c, 'secondary')).toEqual([
      { topic: 'orders', logical: 'orders', origin: 'remote' },
      { topic: 'payments', logical: 'payments', origin: 'remote' },
    ]);
  });

  it('names the canary per cluster under the identity policy so mirrored and own canaries never mix', () => {
    const identity = config({ replicationPolicy: 'identity' });
    expect(localCanaryTopic(identity, 'primary')).toBe('mm2-failover-canary.primary');
    expect(localCanaryTopic(identity, 'secondary')).toBe('mm2-failover-canary.secondary');
    expect(remoteCanaryTopic(identity, first(replicationDirections(identity)))).toBe(
      'mm2-failover-canary.primary',
    );
    const dflt = config();
    expect(localCanaryTopic(dflt, 'secondary')).toBe('mm2-failover-canary');
    expect(remoteCanaryTopic(dflt, first(replicationDirections(dflt)))).toBe('primary.mm2-failover-canary');
  });

  it('confirms down only when the last n verdicts are all down', () => {
    expect(confirmedDown([{ verdict: 'down' }, { verdict: 'down' }, { verdict: 'down' }], 3)).toBe(true);
    expect(confirmedDown([{ verdict: 'down' }, { verdict: 'degraded' }, { verdict: 'down' }], 3)).toBe(false);
    expect(confirmedDown([{ verdict: 'down' }, { verdict: 'down' }], 3)).toBe(false);
  });

  it('judges lag against the budget, using the last good measurement when the source is down', () => {
    const budget = { maxLagRecords: 100, maxLagSeconds: 60 };
    expect(lagWithinBudget({ lagSeconds: 2, backlogRecords: 5 }, budget)).toEqual({
      ok: true,
      lagSeconds: 2,
      backlogRecords: 5,
      problems: [],
    });
    expect(
      lagWithinBudget(
        { lastGood: { measuredAt: '2026-01-01T00:00:00.000Z', lagSeconds: 90, backlogRecords: 500 } },
        budget,
      ).problems,
    ).toEqual(['replication lag 90.0 s exceeds 60 s', 'replication backlog 500 records exceeds 100']);
    expect(lagWithinBudget({}, budget).ok).toBe(false);
  });
});
