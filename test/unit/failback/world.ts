import { activeConfigSchema, activeCredentialsSchema } from '#shared/config/contract.ts';
import { type DeploymentPaths, deploymentPaths } from '#shared/config/paths.ts';
import { type DeploymentConfig, deploymentConfigSchema } from '#shared/config/schema.ts';
import { type FailbackInvocation, type FailbackResult, runFailback } from '#shared/failback/failback.ts';
import { failbackJournal } from '#shared/failback/journal.ts';
import { parseFailbackRequest } from '#shared/failback/payload.ts';
import type { FailbackDeps } from '#shared/failback/phase-context.ts';
import { writeActive } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeRegions, FakeStores } from '../../fakes/stores.ts';
import { FakeLock } from '../failover/fakes.ts';
import { MemoryCluster, MemoryMirror, MemoryRunJournal } from './fakes.ts';

/**
 * The world failback starts from in the unit tests: a failover happened, the primary is back, and every
 * dependency is an in-memory fake with the real one's rules.
 */
const quiet = { info: () => {}, warn: () => {} };
export const QUARANTINE = 'mm2-failover.quarantine';

export function configOf(overrides: Record<string, unknown> = {}): DeploymentConfig {
  return deploymentConfigSchema.parse({
    name: 'orders-dr',
    mode: 'active-passive',
    replicationPolicy: 'identity',
    clusters: {
      primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
      secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
    },
    topics: ['orders'],
    consumerGroups: ['billing'],
    mirror: { kind: 'kafka-connect', forwardUrl: 'http://fwd:8083', reverseUrl: 'http://rev:8083' },
    failback: { stableSeconds: 0, switchStageSeconds: 0, catchUpMaxLagRecords: 0 },
    ...overrides,
  });
}

export interface World {
  config: DeploymentConfig;
  stores: FakeStores;
  /** The extra regions' stores (`config.regions`; the home region is eu-west-1). */
  regions: FakeRegions;
  primary: MemoryCluster;
  secondary: MemoryCluster;
  mirror: MemoryMirror;
  journal: MemoryRunJournal;
  /** The DynamoDB lock's rules: one holder, a 120 s lease that journal writes renew. */
  lock: FakeLock;
  deps: FailbackDeps;
  activeWrites: Array<{ epoch: number; cluster: string; holdback?: string }>;
  /** Each active-credentials secret written: its epoch, cluster and the cluster of its `holdback`, if any. */
  activeSecrets: Array<{ epoch: number; cluster: string; holdback?: string }>;
  now: { t: number };
  invoke(payload: Record<string, unknown>, holder?: string, budgetMs?: number): Promise<FailbackResult>;
}

/** What happened before failback: records written, mirrored or not, on either cluster. */
type History = (clusters: { primary: MemoryCluster; secondary: MemoryCluster; mirror: MemoryMirror }) => void;

/** The primary holds a, b (b never replicated); the secondary holds a, c. */
const outage: History = ({ primary, secondary, mirror }) => {
  primary.createTopic('orders', 2);
  primary.write('orders', 0, ['a0', 'a1', 'a2']);
  primary.write('orders', 1, ['a3', 'a4']);
  mirror.poll();
  mirror.forward = 'stopped'; // paused before the crash: what follows never replicates
  primary.write('orders', 0, ['b0', 'b1']);
  primary.write('orders', 1, ['b2']);
  secondary.write('orders', 0, ['c0']);
  secondary.write('orders', 1, ['c1', 'c2']);
};

/** The state after a failover (by default {@link outage}'s); the active cluster is the secondary. */
export async function world(config = configOf(), history: History = outage): Promise<World> {
  const stores = new FakeStores();
  const paths = deploymentPaths(config.name);
  for (const role of ['primary', 'secondary'] as const) {
    await stores.parameters.put(
      paths.clusterParameter(role),
      JSON.stringify({ alias: role, bootstrapServers: `${role}:9092`, securityProtocol: 'PLAINTEXT' }),
    );
    await stores.secrets.put(paths.clusterSecret(role), new Redacted('{}'));
  }
  await writeActive(
    stores,
    paths,
    {
      epoch: 1,
      cluster: 'secondary',
      alias: 'secondary',
      bootstrapServers: ['secondary:9092'],
      securityProtocol: 'PLAINTEXT',
      credentialsSecret: paths.activeCredentialsSecret,
      topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
      switchedAt: new Date(0).toISOString(),
      reason: 'failover',
    },
    new Redacted({}),
  );
  stores.writes.length = 0;
  const { activeWrites, activeSecrets } = watchActive(stores, paths);
  const regions = new FakeRegions();
  const primary = new MemoryCluster('primary');
  const secondary = new MemoryCluster('secondary');
  const mirror = new MemoryMirror(primary, secondary, config.topics);
  history({ primary, secondary, mirror });
  const now = { t: Date.parse('2026-11-21T10:00:00Z') };
  mirror.now = () => now.t;
  const lock = new FakeLock({ now: () => now.t });
  const journal = new MemoryRunJournal(lock);
  const deps: FailbackDeps = {
    config,
    paths,
    stores,
    regionStores: regions.regionStores,
    homeRegion: 'eu-west-1',
    primary,
    secondary,
    mirror: () => mirror,
    // The epoch authority renews the lock as the DynamoDB transaction does: only the holder may claim and write.
    authority: new MemoryEpochAuthority(lock, { now: () => now.t }),
    versions: stores.versions,
    clock: { now: () => now.t },
    sleep: async (ms) => {
      now.t += ms;
      mirror.poll();
    },
    logger: quiet,
  };
  const invocation = (holder: string, budgetMs: number): FailbackInvocation => ({
    journal: failbackJournal(journal),
    lock,
    holder,
    deadlineAt: now.t + budgetMs,
  });
  return {
    config,
    stores,
    regions,
    primary,
    secondary,
    mirror,
    journal,
    lock,
    deps,
    activeWrites,
    activeSecrets,
    now,
    // Parsed first, as the handler's input middleware does.
    invoke: async (payload, holder = 'req-1', budgetMs = 600_000) =>
      runFailback(
        parseFailbackRequest({
          action: 'failback',
          requestedBy: 'alice',
          reason: 'primary repaired',
          ...payload,
        }),
        deps,
        invocation(holder, budgetMs),
      ),
  };
}

/**
 * Record what each write of the active parameter and secret to `stores` says: epoch, cluster and the holdback's
 * role and cluster (parameter) or cluster (secret).
 */
export function watchActive(
  stores: FakeStores,
  paths: DeploymentPaths,
): Pick<World, 'activeWrites' | 'activeSecrets'> & { parameterValues: string[] } {
  const activeWrites: World['activeWrites'] = [];
  const parameterValues: string[] = [];
  const put = stores.parameters.put;
  stores.parameters.put = async (name, value, options) => {
    if (name === paths.activeParameter) {
      parameterValues.push(value);
      const a = activeConfigSchema.parse(JSON.parse(value));
      activeWrites.push({
        epoch: a.epoch,
        cluster: a.cluster,
        ...(a.holdback ? { holdback: `${a.holdback.role}@${a.holdback.cluster}` } : {}),
      });
    }
    return put(name, value, options);
  };
  const activeSecrets: World['activeSecrets'] = [];
  const putSecret = stores.secrets.put;
  stores.secrets.put = async (name, value) => {
    if (name === paths.activeCredentialsSecret) {
      const c = activeCredentialsSchema.parse(JSON.parse(value.reveal()));
      activeSecrets.push({
        epoch: c.epoch,
        cluster: c.cluster,
        ...(c.holdback ? { holdback: c.holdback.cluster } : {}),
      });
    }
    return putSecret(name, value);
  };
  return { activeWrites, activeSecrets, parameterValues };
}

export async function untilDone(w: World): Promise<FailbackResult[]> {
  const results: FailbackResult[] = [];
  for (let i = 0; i < 10; i += 1) {
    const confirm = results[results.length - 1]?.waiting?.waitingFor === 'confirm';
    const r = await w.invoke(confirm ? { phase: 'purge', confirm: true } : {}, `req-${i}`);
    results.push(r);
    if (r.status === 'completed') return results;
  }
  throw new Error(`not done: ${JSON.stringify(results.map((r) => r.nextStep))}`);
}
