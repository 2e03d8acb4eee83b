import { describe, expect, it } from 'vitest';
import { loadActiveConfig } from '#shared/client/active-client-config.ts';
import { routeOf } from '#shared/client/topic-routes.ts';
import { type ActiveConfig, clusterParameterSchema } from '#shared/config/contract.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { topicMapping } from '#shared/config/topic-mapping.ts';
import { Mm2FailoverError, ValidationError } from '#shared/errors.ts';
import { readActiveOnce, writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { largestClusterParameter, largestDeploymentConfig } from '../../fakes/largest-deployment.ts';
import { largestDeployment, switchEveryWay } from './largest-deployment-world.ts';

const STANDARD_TIER = 4_096;
const sasl = (who: string) => ({ username: `${who}-user`, password: `${who}-password` });

describe('the largest deployment the schema accepts', () => {
  it('is accepted, and one topic, one group, one broker or one character of brokers more is refused', () => {
    const config = largestDeploymentConfig();
    const accepted = (overrides: Record<string, unknown>) =>
      deploymentConfigSchema.safeParse({ ...config, ...overrides }).success;

    expect(config.topics).toHaveLength(1_000);
    expect(config.consumerGroups).toHaveLength(500);
    expect(accepted({ topics: [...config.topics, 'one-more'] })).toBe(false);
    expect(accepted({ consumerGroups: [...config.consumerGroups, 'one-more'] })).toBe(false);
    expect(accepted({ separator: '-sep-sep-' })).toBe(false);
    expect(accepted({ topics: ['x'.repeat(250)] })).toBe(false);
    const brokers = JSON.parse(largestClusterParameter(config, 'primary'));
    const cluster = (bootstrapServers: string) =>
      clusterParameterSchema.safeParse({ ...brokers, bootstrapServers }).success;
    expect(cluster(brokers.bootstrapServers)).toBe(true);
    expect(cluster(`${brokers.bootstrapServers}0`)).toBe(false);
    expect(cluster(Array.from({ length: 17 }, (_, i) => `b${i}:9092`).join(','))).toBe(false);
  });

  it('switches over a failover, both failback stages, a repair and a credential refresh within a Standard-tier parameter', async () => {
    const r = await switchEveryWay();
    const { primary, secondary } = r.expected;

    expect(r.failover.result).toMatchObject({ status: 'switched', epoch: 1 });
    expect(r.failover.routes).toEqual({ epoch: 1, producers: secondary, consumers: secondary });
    expect(r.stages.map((s) => s.routes)).toEqual([
      { epoch: 2, producers: secondary, consumers: primary },
      { epoch: 3, producers: primary, consumers: primary },
    ]);
    expect(r.repair.result).toMatchObject({ status: 'repaired', epoch: 4 });
    expect(r.refresh.result).toMatchObject({ status: 'refreshed', epoch: 5 });
    expect(r.refresh.routes).toEqual({ epoch: 5, producers: primary, consumers: primary });
    const lengths = [r.failover, ...r.stages, r.repair, r.refresh].map((s) => s.length);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(STANDARD_TIER);
    expect(Math.min(...lengths)).toBeGreaterThan(0);
    // 1,000 topics and 500 groups through five switches: seconds of work on a loaded machine, not a wait.
  }, 60_000);

  it('would not fit as a format 1 topic map: the writer says so and writes nothing', async () => {
    const { h, config } = await largestDeployment();
    h.stores.writes.length = 0;
    const read = await readActiveOnce(h.stores, h.deps.paths);
    if (read.kind !== 'consistent') throw new Error(`expected a consistent configuration, got ${read.kind}`);
    const { format: _format, routing: _routing, ...rest } = read.config;
    const mapped: ActiveConfig = { ...rest, epoch: 1, topics: topicMapping(config, 'secondary') };

    const error = await writeActive(h.stores, h.deps.paths, mapped, new Redacted(sasl('secondary'))).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(
      /expected at most 4096 characters \(an SSM Standard-tier parameter\), found \d+/,
    );
    expect(h.stores.writes).toEqual([]);
  });
});

describe('FakeStores', () => {
  it('refuse a parameter value over its tier and a secret value over 64 KiB as AWS does, storing nothing', async () => {
    const { h } = await largestDeployment();
    const refusal = async (write: Promise<unknown>) => {
      const e = await write.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Mm2FailoverError);
      return { message: (e as Error).message, cause: ((e as Error).cause as Error).name };
    };

    expect(await refusal(h.stores.parameters.put('/p', 'x'.repeat(4_097)))).toEqual({
      message: 'AWS call on parameter /p failed: ValidationException',
      cause: 'ValidationException',
    });
    await h.stores.parameters.put('/p', 'x'.repeat(4_096));
    h.stores.parameterTier = 'Advanced';
    await h.stores.parameters.put('/p', 'x'.repeat(8_192));
    await refusal(h.stores.parameters.put('/p', 'x'.repeat(8_193)));
    expect(h.stores.params.get('/p')?.version).toBe(2);
    expect(await refusal(h.stores.secrets.put('s', new Redacted('é'.repeat(32_769))))).toEqual({
      message: 'AWS call on secret s failed: ValidationException',
      cause: 'ValidationException',
    });
    expect(h.stores.secretValues.has('s')).toBe(false);
  });
});

describe('format 1 parameters', () => {
  it('are still read: clients resolve the topics they list and nothing else', async () => {
    const { h, config } = await largestDeployment();
    await writeActive(
      h.stores,
      h.deps.paths,
      {
        epoch: 7,
        cluster: 'secondary',
        alias: config.clusters.secondary.alias,
        bootstrapServers: ['secondary:9092'],
        securityProtocol: 'SASL_PLAINTEXT',
        sasl: { mechanism: 'scram-sha-512' },
        credentialsSecret: h.deps.paths.activeCredentialsSecret,
        topics: { orders: { produce: 'primary.orders', subscribe: ['primary.orders'] } },
        switchedAt: '2026-11-20T00:00:00.000Z',
        reason: 'written by an earlier version',
      },
      new Redacted(sasl('secondary')),
    );

    const active = await loadActiveConfig({
      deployment: config.name,
      stores: h.stores,
      kafka: { clientId: 't' },
    });

    expect(active.routing).toBeUndefined();
    expect(routeOf(active, 'orders')).toEqual({ produce: 'primary.orders', subscribe: ['primary.orders'] });
    expect(routeOf(active, 'payments')).toBeUndefined();
  });
});
