import { describe, expect, it } from 'vitest';
import { routeOf } from '#shared/client/topic-routes.ts';
import type { ActiveConfig, TopicRoute } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { buildPlan, failoverPlanSchema } from '#shared/failover/plan.ts';
import { readClusterDefinition } from '#shared/store/active-config.ts';
import type { CurrentActive } from '#shared/switch/current.ts';
import { SECRET_MARKERS, seededStores, testConfig } from './fakes.ts';

const current: CurrentActive = {
  cluster: 'primary',
  alias: 'primary',
  epoch: 4,
  nextEpoch: 5,
  assumed: false,
};
const now = Date.parse('2026-11-21T12:00:05.000Z');

async function planFor(overrides: Parameters<typeof testConfig>[0], extra: { regions?: string[] } = {}) {
  const config = testConfig(overrides);
  const stores = seededStores(config);
  const paths = deploymentPaths(config.name);
  const target = await readClusterDefinition(stores, paths, 'secondary');
  return buildPlan({
    config,
    paths,
    request: { trigger: 'manual', reason: 'primary region down', requestedBy: 'alice', force: false },
    startedAt: now - 5_000,
    now,
    current,
    target,
    credentialsSource: paths.clusterSecret('secondary'),
    offsets: [],
    lag: {
      measuredAt: '2026-11-21T11:59:50.000Z',
      backlogRecords: 7,
      lagSeconds: 2,
      topics: [{ topic: 'orders', backlogRecords: 7, lagSeconds: 2 }],
    },
    extraRegions: extra.regions ?? [],
  });
}

/** Each config topic's route as a client resolves it from the written configuration (the rule, nothing listed). */
function routesOf(next: ActiveConfig): Record<string, TopicRoute | undefined> {
  expect(next.topics).toBeUndefined();
  return Object.fromEntries(['orders', 'payments'].map((t) => [t, routeOf(next, t)]));
}

describe('buildPlan topic mapping', () => {
  it('routes clients to the mirrored primary.<topic> when active-passive with the default policy', async () => {
    const plan = await planFor({ mode: 'active-passive', replicationPolicy: 'default' });

    expect(routesOf(plan.next)).toEqual({
      orders: { produce: 'primary.orders', subscribe: ['primary.orders'] },
      payments: { produce: 'primary.payments', subscribe: ['primary.payments'] },
    });
  });

  it('keeps topic names when active-passive with the identity policy', async () => {
    const plan = await planFor({ mode: 'active-passive', replicationPolicy: 'identity' });

    expect(routesOf(plan.next)).toEqual({
      orders: { produce: 'orders', subscribe: ['orders'] },
      payments: { produce: 'payments', subscribe: ['payments'] },
    });
  });

  it('produces and consumes locally when active-active, draining the mirrored copy of the primary first', async () => {
    const plan = await planFor({ mode: 'active-active', replicationPolicy: 'default' });

    expect(routesOf(plan.next)).toEqual({
      orders: {
        produce: 'orders',
        subscribe: ['orders'],
        remote: ['primary.orders'],
        drain: ['primary.orders'],
      },
      payments: {
        produce: 'payments',
        subscribe: ['payments'],
        remote: ['primary.payments'],
        drain: ['primary.payments'],
      },
    });
  });

  it('uses the configured separator of the default policy', async () => {
    const plan = await planFor({ mode: 'active-passive', replicationPolicy: 'default', separator: '_' });

    expect(routeOf(plan.next, 'orders')).toEqual({
      produce: 'primary_orders',
      subscribe: ['primary_orders'],
    });
  });

  it('has no plan for active-active with the identity policy because the config refuses it', () => {
    const result = deploymentConfigSchema.safeParse({
      ...testConfig(),
      mode: 'active-active',
      replicationPolicy: 'identity',
    });

    expect(result.success).toBe(false);
  });
});

describe('buildPlan', () => {
  it('targets the secondary with epoch + 1 and its own bootstrap, protocol and alias', async () => {
    const plan = await planFor({});

    expect(plan.next).toMatchObject({
      epoch: 5,
      cluster: 'secondary',
      alias: 'secondary',
      bootstrapServers: ['127.0.0.1:29092'],
      securityProtocol: 'SSL',
      credentialsSecret: 'mm2-failover/orders-dr/active-credentials',
      switchedAt: '2026-11-21T12:00:05.000Z',
      reason: 'primary region down (requested by alice)',
    });
    expect(plan.from).toEqual({ cluster: 'primary', alias: 'primary', epoch: 4, assumed: false });
  });

  it('lists every write in the fencing order: secret, JSON parameter, plain parameter', async () => {
    const plan = await planFor({});

    expect(plan.writes.map((w) => `${w.region} ${w.kind} ${w.name}`)).toEqual([
      'home secret mm2-failover/orders-dr/active-credentials',
      'home parameter /mm2-failover/orders-dr/active',
      'home parameter /mm2-failover/orders-dr/active/bootstrap-servers',
    ]);
    expect(plan.writes[2]?.value).toBe('127.0.0.1:29092');
  });

  it('shows the credential fields of the secret write but never their values', async () => {
    const plan = await planFor({});
    const text = JSON.stringify(plan);

    expect(plan.writes[0]?.value).toEqual({
      epoch: 5,
      cluster: 'secondary',
      ca: '[redacted]',
      cert: '[redacted]',
      key: '[redacted]',
    });
    for (const marker of SECRET_MARKERS) expect(text).not.toContain(marker);
  });

  it('repeats the three writes for each extra region, after the home region, and journals a step per region', async () => {
    const plan = await planFor({ regions: ['us-east-1'] }, { regions: ['us-east-1'] });

    expect(plan.writes.map((w) => w.region)).toEqual([
      'home',
      'home',
      'home',
      'us-east-1',
      'us-east-1',
      'us-east-1',
    ]);
    expect(plan.steps).toEqual([
      'offsets',
      'claim',
      'secret',
      'parameter',
      'plain-parameters',
      'region:us-east-1',
      'notify',
    ]);
  });

  it('estimates the RPO per configured topic, unknown where nothing was measured', async () => {
    const plan = await planFor({});

    expect(plan.rpo).toEqual([
      { topic: 'orders', backlogRecords: 7, lagSeconds: 2, measuredAt: '2026-11-21T11:59:50.000Z' },
      { topic: 'payments', backlogRecords: null, lagSeconds: null, measuredAt: '2026-11-21T11:59:50.000Z' },
    ]);
  });

  it('round-trips through its schema, as the journal stores and reads it back', async () => {
    const plan = await planFor({ mode: 'active-active' }, { regions: ['us-east-1'] });

    expect(failoverPlanSchema.parse(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
  });
});
