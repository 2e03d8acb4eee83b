import { describe, expect, it } from 'vitest';
import { loadActiveConfig } from '#shared/client/active-client-config.ts';
import { roleView } from '#shared/client/role-view.ts';
import { routeOf } from '#shared/client/topic-routes.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { topicMapping, topicRouting } from '#shared/config/topic-mapping.ts';
import { Mm2FailoverError, ValidationError } from '#shared/errors.ts';
import type { FailbackDeps, PhaseContext } from '#shared/failback/phase-context.ts';
import type { FailbackState } from '#shared/failback/state.ts';
import { runSwitch } from '#shared/failback/switch.ts';
import { runFailover } from '#shared/failover/failover.ts';
import {
  readActiveOnce,
  readClusterCredentials,
  writeActive,
  writeActiveStep,
} from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { refreshCredentials } from '#shared/switch/refresh-credentials.ts';
import { repairActive } from '#shared/switch/repair.ts';
import {
  largestBootstrapServers,
  largestClusterParameter,
  largestDeploymentConfig,
  oversizedReason,
} from '../../fakes/largest-deployment.ts';
import { FakeRegions, type FakeStores } from '../../fakes/stores.ts';
import { MemoryCluster, MemoryMirror } from '../failback/fakes.ts';
import { failoverHarness, type Harness } from '../failover/fakes.ts';

const STANDARD_TIER = 4_096;
const sasl = (who: string) => ({ username: `${who}-user`, password: `${who}-password` });

/** The failover harness with the largest config's cluster parameters and SASL secrets, the primary active. */
async function largestDeployment(): Promise<{ h: Harness; config: DeploymentConfig }> {
  const config = largestDeploymentConfig();
  const h = failoverHarness(config);
  const paths = h.deps.paths;
  for (const role of ['primary', 'secondary'] as const) {
    h.stores.params.set(paths.clusterParameter(role), {
      value: largestClusterParameter(config, role),
      version: 1,
    });
    h.stores.secretValues.set(paths.clusterSecret(role), JSON.stringify(sasl(role)));
  }
  await writeActive(
    h.stores,
    paths,
    {
      format: 2,
      epoch: 0,
      cluster: 'primary',
      alias: config.clusters.primary.alias,
      bootstrapServers: largestBootstrapServers('primary'),
      securityProtocol: 'SASL_PLAINTEXT',
      sasl: { mechanism: 'scram-sha-512', region: 'x'.repeat(32) },
      credentialsSecret: paths.activeCredentialsSecret,
      routing: topicRouting(config, 'primary'),
      switchedAt: '2026-11-20T00:00:00.000Z',
      reason: oversizedReason,
    },
    new Redacted(sasl('primary')),
  );
  return { h, config };
}

function activeParameterLength(stores: FakeStores, config: DeploymentConfig): number {
  return stores.params.get(deploymentPaths(config.name).activeParameter)?.value.length ?? 0;
}

/** Every topic's route as an application resolves it from the stores, per role. */
async function clientRoutes(stores: FakeStores, config: DeploymentConfig) {
  const active = await loadActiveConfig({ deployment: config.name, stores, kafka: { clientId: 'test' } });
  const of = (role: 'producers' | 'consumers') => {
    const view = roleView(active, role);
    return Object.fromEntries(config.topics.map((t) => [t, routeOf(view, t)]));
  };
  return { epoch: active.epoch, producers: of('producers'), consumers: of('consumers') };
}

/** Failback's switch phase, due right after the failover to the secondary at `startEpoch`. */
function switchContext(h: Harness, config: DeploymentConfig, startEpoch: number): PhaseContext {
  const primary = new MemoryCluster(config.clusters.primary.alias);
  const secondary = new MemoryCluster(config.clusters.secondary.alias);
  for (const t of config.topics) primary.createTopic(t, 1);
  const mirror = new MemoryMirror(primary, secondary, config.topics);
  const state: FailbackState = {
    runId: `${String(startEpoch).padStart(10, '0')}-abcd1234`,
    mode: 'active-passive',
    startedAt: new Date(h.clock.now()).toISOString(),
    requestedBy: 'alice',
    reason: oversizedReason,
    startEpoch,
    completed: ['prepare', 'salvage', 'reverse', 'purge', 'catch-up'],
    mirrorConfirmed: [],
  };
  const deps = {
    config,
    paths: h.deps.paths,
    stores: h.stores,
    regionStores: new FakeRegions().regionStores,
    primary,
    secondary,
    mirror: () => mirror,
    authority: h.authority,
    versions: h.stores.versions,
    clock: h.clock,
    sleep: async (ms: number) => {
      h.clock.t += ms;
    },
    logger: { info: () => {}, warn: () => {} },
  } satisfies FailbackDeps;
  return {
    deps,
    request: { action: 'failback', requestedBy: 'alice', reason: 'test' } as PhaseContext['request'],
    state,
    mirror,
    holder: 'failback-1',
    save: async () => {
      h.lock.renew('failback-1');
    },
    remainingMs: () => 600_000,
    pause: async (ms) => {
      h.clock.t += ms;
    },
  };
}

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
  });

  it('switches over a failover, both failback stages, a repair and a credential refresh within a Standard-tier parameter', async () => {
    // Arrange
    const { h, config } = await largestDeployment();
    expect(h.stores.parameterTier).toBe('Standard');

    // Act / Assert: failover to the secondary.
    const failover = await runFailover(
      {
        trigger: 'manual',
        reason: oversizedReason,
        requestedBy: 'alice',
        dryRun: false,
        force: false,
        invocationId: 'req-1',
      },
      h.deps,
    );
    expect(failover).toMatchObject({ status: 'switched', epoch: 1 });
    expect(activeParameterLength(h.stores, config)).toBeLessThanOrEqual(STANDARD_TIER);
    const secondary = topicMapping(config, 'secondary');
    expect(await clientRoutes(h.stores, config)).toEqual({
      epoch: 1,
      producers: secondary,
      consumers: secondary,
    });

    // Failback's two-stage switch: stage 1 holds producers back on the secondary (two clusters in one parameter).
    await h.lock.acquire('failback-1');
    const ctx = switchContext(h, config, 1);
    const lengths: number[] = [];
    const stages: Awaited<ReturnType<typeof clientRoutes>>[] = [];
    const put = h.stores.parameters.put;
    h.stores.parameters.put = async (name, value, options) => {
      const result = await put(name, value, options);
      if (name === h.deps.paths.activeParameter) {
        lengths.push(value.length);
        stages.push(await clientRoutes(h.stores, config));
      }
      return result;
    };
    await runSwitch(ctx);
    h.stores.parameters.put = put;
    await h.lock.release('failback-1');
    const primary = topicMapping(config, 'primary');
    expect(stages).toEqual([
      { epoch: 2, producers: secondary, consumers: primary },
      { epoch: 3, producers: primary, consumers: primary },
    ]);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(STANDARD_TIER);

    // Repair: a writer claimed epoch 4 and died after its secret; repair writes the parameter.
    await h.lock.acquire('dead-writer');
    const record = h.authority.record;
    if (record === undefined) throw new Error('expected the authority to hold epoch 3');
    const stage1Config = JSON.parse(
      (await h.stores.parameters.get(h.deps.paths.activeParameter))?.value ?? '{}',
    ) as ActiveConfig;
    const claim = await h.authority.claim({
      expected: 3,
      epoch: 4,
      writer: { kind: 'failover', runId: 'run-4' },
      holder: 'dead-writer',
      config: { ...stage1Config, epoch: 4, reason: oversizedReason },
      credentials: record.credentials,
    });
    await writeActiveStep(
      h.stores,
      h.deps.paths,
      'secret',
      claim.record.config,
      new Redacted(sasl('primary')),
    );
    h.clock.t += h.lock.leaseMs + 1;
    await h.lock.acquire('repairer');
    const repaired = await repairActive(
      { holder: 'repairer', runId: 'repair-1' },
      {
        authority: h.authority,
        stores: h.stores,
        paths: h.deps.paths,
        clock: h.clock,
        readCredentials: async (sources) => ({
          active: await readClusterCredentials(h.stores, sources.active.secret),
        }),
      },
    );
    expect(repaired).toMatchObject({ status: 'repaired', epoch: 4 });
    expect(activeParameterLength(h.stores, config)).toBeLessThanOrEqual(STANDARD_TIER);
    await h.lock.release('repairer');

    // Refresh: forced, with a reason far over the cut.
    await h.lock.acquire('refresher');
    const refreshed = await refreshCredentials(
      { holder: 'refresher', runId: 'refresh-1', force: true, reason: oversizedReason },
      {
        authority: h.authority,
        stores: h.stores,
        paths: h.deps.paths,
        clock: h.clock,
        versions: h.stores.versions,
      },
    );
    expect(refreshed).toMatchObject({ status: 'refreshed', epoch: 5 });
    expect(activeParameterLength(h.stores, config)).toBeLessThanOrEqual(STANDARD_TIER);
    expect((await clientRoutes(h.stores, config)).consumers).toEqual(primary);
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
