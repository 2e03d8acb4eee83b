import { loadActiveConfig } from '#shared/client/active-client-config.ts';
import { roleView } from '#shared/client/role-view.ts';
import { routeOf } from '#shared/client/topic-routes.ts';
import type { ActiveConfig } from '#shared/config/contract.ts';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import { topicMapping, topicRouting } from '#shared/config/topic-mapping.ts';
import type { FailbackDeps, PhaseContext } from '#shared/failback/phase-context.ts';
import type { FailbackState } from '#shared/failback/state.ts';
import { runSwitch } from '#shared/failback/switch.ts';
import { runFailover } from '#shared/failover/failover.ts';
import {
  readClusterCredentials,
  type Stores,
  writeActive,
  writeActiveStep,
} from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import type { SecretVersions } from '#shared/store/stores.ts';
import { refreshCredentials } from '#shared/switch/refresh-credentials.ts';
import { repairActive } from '#shared/switch/repair.ts';
import {
  largestBootstrapServers,
  largestClusterParameter,
  largestDeploymentConfig,
  oversizedReason,
} from '../../fakes/largest-deployment.ts';
import { FakeRegions } from '../../fakes/stores.ts';
import { MemoryCluster, MemoryMirror } from '../failback/fakes.ts';
import { failoverHarness, type Harness } from '../failover/fakes.ts';

// The largest deployment the schemas accept, switched end to end: by the unit test against limit-enforcing fakes,
// and by the integration test against moto's SSM and Secrets Manager (the switch's Kafka side is faked in both).

const sasl = (who: string) => ({ username: `${who}-user`, password: `${who}-password` });

/** The stores a switch writes to: FakeStores in unit tests, the real adapters on moto in integration tests. */
export type SwitchStores = Stores & { versions: SecretVersions };

/**
 * The failover harness (fake Kafka, lock, journal and epoch authority) writing to `stores`, seeded with the largest
 * config's cluster parameters and SASL secrets, the primary active at epoch 0.
 */
export async function largestDeployment(
  stores?: SwitchStores,
  overrides: Record<string, unknown> = {},
): Promise<{ h: Harness; config: DeploymentConfig; stores: SwitchStores }> {
  const config = largestDeploymentConfig(overrides);
  const h = failoverHarness(config);
  const s: SwitchStores = stores ?? h.stores;
  h.deps = { ...h.deps, stores: s, versions: s.versions };
  const paths = h.deps.paths;
  for (const role of ['primary', 'secondary'] as const) {
    await s.parameters.put(paths.clusterParameter(role), largestClusterParameter(config, role));
    await s.secrets.put(paths.clusterSecret(role), new Redacted(JSON.stringify(sasl(role))));
  }
  await writeActive(
    s,
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
  return { h, config, stores: s };
}

/** Every topic's route as an application resolves it from the stores, per role. */
async function clientRoutes(stores: Stores, config: DeploymentConfig) {
  const active = await loadActiveConfig({ deployment: config.name, stores, kafka: { clientId: 'test' } });
  const of = (role: 'producers' | 'consumers') => {
    const view = roleView(active, role);
    return Object.fromEntries(config.topics.map((t) => [t, routeOf(view, t)]));
  };
  return { epoch: active.epoch, producers: of('producers'), consumers: of('consumers') };
}

/** Failback's switch phase, due right after the failover to the secondary at `startEpoch`. */
function switchContext(
  h: Harness,
  config: DeploymentConfig,
  stores: SwitchStores,
  startEpoch: number,
): PhaseContext {
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
    stores,
    regionStores: new FakeRegions().regionStores,
    primary,
    secondary,
    mirror: () => mirror,
    authority: h.authority,
    versions: stores.versions,
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

/** What each writer left: its result, the active parameter's length, and every topic's route for each role. */
export interface Switched {
  result: unknown;
  length: number;
  routes: Awaited<ReturnType<typeof clientRoutes>>;
}

/**
 * The largest deployment through every writer of the active configuration: a failover to the secondary, failback's
 * two stages (stage 1 holds producers back: two clusters in one parameter), a repair of an epoch whose writer died
 * after its secret, and a forced credential refresh, every reason far over its cut.
 */
export async function switchEveryWay(stores?: SwitchStores, overrides: Record<string, unknown> = {}) {
  const { h, config, stores: s } = await largestDeployment(stores, overrides);
  const paths = h.deps.paths;
  const observe = async (result: unknown): Promise<Switched> => ({
    result,
    length: (await s.parameters.get(paths.activeParameter))?.value.length ?? 0,
    routes: await clientRoutes(s, config),
  });

  const failover = await observe(
    await runFailover(
      {
        trigger: 'manual',
        reason: oversizedReason,
        requestedBy: 'alice',
        dryRun: false,
        force: false,
        invocationId: 'req-1',
      },
      h.deps,
    ),
  );

  await h.lock.acquire('failback-1');
  const ctx = switchContext(h, config, s, 1);
  const stages: Switched[] = [];
  const put = s.parameters.put.bind(s.parameters);
  const observed: SwitchStores = {
    ...s,
    parameters: {
      get: s.parameters.get.bind(s.parameters),
      put: async (name, value, options) => {
        const result = await put(name, value, options);
        if (name === paths.activeParameter) stages.push(await observe(undefined));
        return result;
      },
    },
  };
  ctx.deps.stores = observed;
  await runSwitch(ctx);
  await h.lock.release('failback-1');

  await h.lock.acquire('dead-writer');
  const record = h.authority.record;
  if (record === undefined) throw new Error('expected the authority to hold the epoch of the failback');
  const atRest = JSON.parse((await s.parameters.get(paths.activeParameter))?.value ?? '{}') as ActiveConfig;
  const claim = await h.authority.claim({
    expected: record.epoch,
    epoch: record.epoch + 1,
    writer: { kind: 'failover', runId: `run-${record.epoch + 1}` },
    holder: 'dead-writer',
    config: { ...atRest, epoch: record.epoch + 1, reason: oversizedReason },
    credentials: record.credentials,
  });
  await writeActiveStep(s, paths, 'secret', claim.record.config, new Redacted(sasl('primary')));
  h.clock.t += h.lock.leaseMs + 1;
  await h.lock.acquire('repairer');
  const repair = await observe(
    await repairActive(
      { holder: 'repairer', runId: 'repair-1' },
      {
        authority: h.authority,
        stores: s,
        paths,
        clock: h.clock,
        readCredentials: async (sources) => ({
          active: await readClusterCredentials(s, sources.active.secret),
        }),
      },
    ),
  );
  await h.lock.release('repairer');

  await h.lock.acquire('refresher');
  const refresh = await observe(
    await refreshCredentials(
      { holder: 'refresher', runId: 'refresh-1', force: true, reason: oversizedReason },
      { authority: h.authority, stores: s, paths, clock: h.clock, versions: s.versions },
    ),
  );
  await h.lock.release('refresher');

  return {
    config,
    failover,

    stages,
    repair,
    refresh,
    expected: { primary: topicMapping(config, 'primary'), secondary: topicMapping(config, 'secondary') },
  };
}
