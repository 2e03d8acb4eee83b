import { describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import { RefusedError } from '#shared/errors.ts';
import type { FailbackDeps, PhaseContext } from '#shared/failback/phase-context.ts';
import { runRestore } from '#shared/failback/restore.ts';
import type { FailbackState } from '#shared/failback/state.ts';
import { runSwitch } from '#shared/failback/switch.ts';
import { writeActiveStep } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { inspectAtRest } from '#shared/switch/at-rest.ts';
import type { MappingMove, MoveMappingsInput } from '#shared/switch/event-source-mappings.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeRegions, FakeStores } from '../../fakes/stores.ts';
import { FakeClock, FakeLock } from '../failover/fakes.ts';
import { MemoryCluster, MemoryMirror } from './fakes.ts';

/**
 * Failback's switch under the interleavings that tore the active configuration before the epoch authority: each
 * of these failed on the code before it (the switch wrote both stages over a torn and over an absent
 * configuration, and over another writer's epoch).
 */

const config = deploymentConfigSchema.parse({
  name: 'orders-dr',
  mode: 'active-passive',
  replicationPolicy: 'identity',
  clusters: {
    primary: { alias: 'primary', auth: 'none', expectedBrokers: 1 },
    secondary: { alias: 'secondary', auth: 'none', expectedBrokers: 1 },
  },
  topics: ['orders'],
  consumerGroups: [],
  mirror: { kind: 'kafka-connect', forwardUrl: 'http://fwd:8083', reverseUrl: 'http://rev:8083' },
  failback: { switchStageSeconds: 0 },
});
const paths = deploymentPaths(config.name);

function active(epoch: number, cluster: 'primary' | 'secondary'): ActiveConfig {
  return {
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [`${cluster}:9092`],
    securityProtocol: 'PLAINTEXT',
    credentialsSecret: paths.activeCredentialsSecret,
    topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
    switchedAt: '2026-11-21T09:00:00.000Z',
    reason: 'failover',
  };
}

/** A failback whose switch is due: it started at `startEpoch` (the failover's epoch, on the secondary). */
async function switchDue(startEpoch = 1) {
  const clock = new FakeClock();
  const lock = new FakeLock(clock);
  const authority = new MemoryEpochAuthority(lock, clock);
  const stores = new FakeStores();
  for (const role of ['primary', 'secondary'] as const) {
    await stores.parameters.put(
      paths.clusterParameter(role),
      JSON.stringify({ alias: role, bootstrapServers: `${role}:9092`, securityProtocol: 'PLAINTEXT' }),
    );
    await stores.secrets.put(paths.clusterSecret(role), new Redacted('{}'));
  }
  const primary = new MemoryCluster('primary');
  const secondary = new MemoryCluster('secondary');
  primary.createTopic('orders', 1);
  const mirror = new MemoryMirror(primary, secondary, ['orders']);
  const state: FailbackState = {
    runId: `${String(startEpoch).padStart(10, '0')}-abcd1234`,
    mode: 'active-passive',
    startedAt: '2026-11-21T10:00:00.000Z',
    requestedBy: 'alice',
    reason: 'test',
    startEpoch,
    completed: ['prepare', 'salvage', 'reverse', 'purge', 'catch-up'],
    mirrorConfirmed: [],
  };
  const deps = {
    config,
    paths,
    stores,
    regionStores: new FakeRegions().regionStores,
    primary,
    secondary,
    mirror: () => mirror,
    authority,
    versions: stores.versions,
    clock,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
    logger: { info: () => {}, warn: () => {} },
  } satisfies FailbackDeps;
  await lock.acquire('failback-1');
  const ctx: PhaseContext = {
    deps,
    request: { action: 'failback', requestedBy: 'alice', reason: 'test' } as PhaseContext['request'],
    state,
    mirror,
    holder: 'failback-1',
    save: async () => {
      lock.renew('failback-1');
    },
    remainingMs: () => 600_000,
    pause: async (ms) => {
      clock.t += ms;
    },
  };
  const writeAtRest = async (
    c: ActiveConfig,
    steps: ReadonlyArray<'secret' | 'parameter' | 'plain-parameters'> = [
      'secret',
      'parameter',
      'plain-parameters',
    ],
  ) => {
    for (const step of steps) await writeActiveStep(stores, paths, step, c, new Redacted({}));
  };
  return { ctx, stores, authority, lock, clock, writeAtRest };
}

async function halves(stores: FakeStores) {
  const r = await inspectAtRest(stores, paths);
  const half = (x: typeof r.parameter) => (x.state === 'ok' ? `${x.epoch}/${x.cluster}` : x.state);
  return { parameter: half(r.parameter), secret: half(r.secret) };
}

describe('failback switch fencing', () => {
  it('refuses to write over a torn active configuration and writes nothing', async () => {
    const w = await switchDue(1);
    await w.writeAtRest(active(1, 'secondary'));
    await w.writeAtRest(active(2, 'primary'), ['secret']);
    const writes = w.stores.writes.length;

    const error = await runSwitch(w.ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RefusedError);
    expect(w.stores.writes.length).toBe(writes);
    expect(await halves(w.stores)).toEqual({ parameter: '1/secondary', secret: '2/primary' });
  });

  it('refuses to write over an absent active configuration and writes nothing', async () => {
    const w = await switchDue(1);
    const writes = w.stores.writes.length;

    const error = await runSwitch(w.ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RefusedError);
    expect(w.stores.writes.length).toBe(writes);
  });

  it('refuses its second stage when another writer claimed the epoch after its first', async () => {
    const w = await switchDue(1);
    await w.writeAtRest(active(1, 'secondary'));
    let stages = 0;
    const put = w.stores.parameters.put;
    w.stores.parameters.put = async (name, value, options) => {
      const result = await put(name, value, options);
      if (name === paths.activeParameter && JSON.parse(value).epoch === 2 && stages++ === 0) {
        // Right after stage 1: a failover takes the lock over (the failback's lease ran out) and switches.
        w.clock.t += w.lock.leaseMs + 1;
        await w.lock.acquire('failover-9');
        const claim = await w.authority.claim({
          expected: w.authority.record?.epoch,
          epoch: 3,
          writer: { kind: 'failover', runId: '0000000003' },
          holder: 'failover-9',
          config: active(3, 'secondary'),
          credentials: { active: { secret: paths.clusterSecret('secondary') } },
        });
        await w.writeAtRest(claim.record.config);
        await w.authority.complete(claim, new Date(w.clock.now()).toISOString());
        await w.lock.release('failover-9');
        await w.lock.acquire('failback-1');
      }
      return result;
    };

    const error = await runSwitch(w.ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(await halves(w.stores)).toEqual({ parameter: '3/secondary', secret: '3/secondary' });
  });
});

describe('failback restore fencing', () => {
  it('checks that its switch still holds before restoring the mirrors: after a later failover it refuses and touches nothing', async () => {
    // Arrange: the switch wrote both stages (epochs 2 and 3); then a failover moved clients to the secondary again.
    const w = await switchDue(1);
    await w.writeAtRest(active(1, 'secondary'));
    await runSwitch(w.ctx);
    w.ctx.state.completed = [...w.ctx.state.completed, 'switch'];
    w.clock.t += w.lock.leaseMs + 1;
    await w.lock.acquire('failover-9');
    const claim = await w.authority.claim({
      expected: 3,
      epoch: 4,
      writer: { kind: 'failover', runId: '0000000004' },
      holder: 'failover-9',
      config: active(4, 'secondary'),
      credentials: { active: { secret: paths.clusterSecret('secondary') } },
    });
    await w.writeAtRest(claim.record.config);
    await w.authority.complete(claim, new Date(w.clock.now()).toISOString());
    await w.lock.release('failover-9');
    await w.lock.acquire('failback-1');
    const mirror = w.ctx.mirror as MemoryMirror;
    mirror.calls.length = 0;

    // Act
    const error = await runRestore(w.ctx).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(RefusedError);
    expect((error as RefusedError).reasons[0]?.code).toBe('switch-no-longer-holds');
    expect(mirror.calls).toEqual([]);
  });
});

describe('failback switch: event source mappings', () => {
  const KEY = 'event-source-mapping:billing-fn:billing';
  const move: MappingMove = {
    functionName: 'billing-fn',
    consumerGroup: 'billing',
    cluster: 'primary',
    topic: 'orders',
    ok: true,
    target: 'enabled',
    uuid: 'u-primary',
    disabled: ['u-secondary'],
  };

  /** The switch with a mapping mover that records what it was given and when; `crash` dies after journaling. */
  async function withMover(switchOrder: 'consumers-first' | 'producers-first', crash = false) {
    const w = await switchDue(1);
    await w.writeAtRest(active(1, 'secondary'));
    const calls: Array<{ epoch: number; target: string; done: boolean; stagesWritten: number }> = [];
    let crashes = crash ? 1 : 0;
    w.ctx.deps = {
      ...w.ctx.deps,
      config: { ...config, failback: { ...config.failback, switchOrder } },
      moveMappings: async (input: MoveMappingsInput) => {
        calls.push({
          epoch: input.claim.record.epoch,
          target: `${input.target.cluster} ${input.target.bootstrapServers.join(',')}`,
          done: input.done(KEY),
          stagesWritten: w.ctx.state.switch?.stagesWritten ?? -1,
        });
        if (input.done(KEY)) return [];
        await input.onMoved(KEY, move);
        if (crashes-- > 0) throw new Error('crashed after journaling the mapping');
        return [move];
      },
    };
    return { w, calls };
  }

  it('moves the mappings to the primary with the consumers, under the first stage’s claim when consumers go first', async () => {
    const { w, calls } = await withMover('consumers-first');

    const outcome = await runSwitch(w.ctx);

    expect(calls).toEqual([{ epoch: 2, target: 'primary primary:9092', done: false, stagesWritten: 0 }]);
    expect(outcome).toMatchObject({ kind: 'done', summary: { eventSourceMappings: [move] } });
    expect(w.ctx.state.switch?.eventSourceMappings).toEqual([move]);
  });

  it('moves them with the second stage when producers go first', async () => {
    const { w, calls } = await withMover('producers-first');

    await runSwitch(w.ctx);

    expect(calls).toEqual([{ epoch: 3, target: 'primary primary:9092', done: false, stagesWritten: 1 }]);
  });

  it('does not move a journaled mapping again when the switch is resumed after a crash', async () => {
    const { w, calls } = await withMover('consumers-first', true);
    await expect(runSwitch(w.ctx)).rejects.toThrow('crashed after journaling the mapping');

    const outcome = await runSwitch(w.ctx);

    expect(calls.map((c) => [c.epoch, c.done])).toEqual([
      [2, false],
      [2, true],
    ]);
    expect(outcome).toMatchObject({ kind: 'done', summary: { eventSourceMappings: [move] } });
  });
});
