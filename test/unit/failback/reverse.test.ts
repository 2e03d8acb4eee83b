import { describe, expect, it } from 'vitest';
import { deploymentPaths } from '#shared/config/paths.ts';
import { deploymentConfigSchema } from '#shared/config/schema.ts';
import type { ReverseFlowSpec } from '#shared/failback/mirror-controller.ts';
import type { FailbackDeps, PhaseContext } from '#shared/failback/phase-context.ts';
import { runReverse } from '#shared/failback/reverse.ts';
import type { FailbackState } from '#shared/failback/state.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeRegions, FakeStores } from '../../fakes/stores.ts';
import { MemoryCluster, MemoryMirror } from './fakes.ts';

const config = deploymentConfigSchema.parse({
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
});

/** A context right after salvage: the forward mirror stopped, nothing left to salvage. */
function afterSalvage(mirror: MemoryMirror, primary: MemoryCluster, secondary: MemoryCluster) {
  const state: FailbackState = {
    runId: '0000000001-abcd1234',
    mode: 'active-passive',
    startedAt: '2026-11-21T10:00:00.000Z',
    requestedBy: 'alice',
    reason: 'test',
    startEpoch: 1,
    completed: ['prepare', 'salvage'],
    mirrorConfirmed: [],
    salvage: { forwardStopped: true, quarantineTopic: 'q', partitions: {} },
  };
  const saved: FailbackState[] = [];
  const deps = {
    config,
    paths: deploymentPaths(config.name),
    stores: new FakeStores(),
    regionStores: new FakeRegions().regionStores,
    primary,
    secondary,
    mirror: () => mirror,
    versions: new FakeStores().versions,
    authority: new MemoryEpochAuthority({ leaseMs: 60_000, renew: () => {} }, { now: () => 0 }),
    clock: { now: () => Date.parse('2026-11-21T10:00:00.000Z') },
    sleep: async () => {},
    logger: { info: () => {}, warn: () => {} },
  } satisfies FailbackDeps;
  const ctx: PhaseContext = {
    deps,
    holder: 'failback-1',
    request: { action: 'failback', requestedBy: 'alice', reason: 'test' } as PhaseContext['request'],
    state,
    mirror,
    save: async () => {
      saved.push(structuredClone(state));
    },
    remainingMs: () => 60_000,
    pause: async () => {},
  };
  return { ctx, saved };
}

describe('runReverse', () => {
  it('asks for a new reverse flow tagged with its run the first time, so one found existing is not adopted', async () => {
    // Arrange
    const primary = new MemoryCluster('primary');
    const secondary = new MemoryCluster('secondary');
    const mirror = new MemoryMirror(primary, secondary, ['orders']);
    mirror.forward = 'stopped';
    const specs: ReverseFlowSpec[] = [];
    const start = mirror.startReverse.bind(mirror);
    mirror.startReverse = async (spec) => {
      specs.push(spec);
      return start(spec);
    };
    const { ctx, saved } = afterSalvage(mirror, primary, secondary);

    // Act
    await runReverse(ctx);

    // Assert
    expect(specs).toHaveLength(1);
    expect(specs[0]).toMatchObject({ runId: '0000000001-abcd1234', requestedBefore: false });
    // That it asked is journaled before it asks, so a retry knows the flow it finds is its own.
    expect(saved.some((s) => s.reverse?.requested === true && s.reverse.started === false)).toBe(true);
  });

  it('tells the controller it asked before when an earlier invocation journaled the request', async () => {
    // Arrange
    const primary = new MemoryCluster('primary');
    const secondary = new MemoryCluster('secondary');
    const mirror = new MemoryMirror(primary, secondary, ['orders']);
    mirror.forward = 'stopped';
    const specs: ReverseFlowSpec[] = [];
    const start = mirror.startReverse.bind(mirror);
    mirror.startReverse = async (spec) => {
      specs.push(spec);
      return start(spec);
    };
    const { ctx } = afterSalvage(mirror, primary, secondary);
    ctx.state.reverse = { staleEnd: {}, started: false, requested: true };

    // Act
    await runReverse(ctx);

    // Assert
    expect(specs[0]).toMatchObject({ requestedBefore: true });
  });
});
