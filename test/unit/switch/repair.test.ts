import { beforeEach, describe, expect, it } from 'vitest';
import type { ActiveConfig } from '#shared/config/contract.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { activeParameterText, writeActiveStep } from '#shared/store/active-config.ts';
import { Redacted } from '#shared/store/redacted.ts';
import { inspectAtRest, judgeAtRest } from '#shared/switch/at-rest.ts';
import { repairActive } from '#shared/switch/repair.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeStores } from '../../fakes/stores.ts';
import { FakeClock, FakeLock } from '../failover/fakes.ts';

const paths = deploymentPaths('orders-dr');
const creds = (who: string) =>
  new Redacted({
    cert: `-----BEGIN CERTIFICATE-----\n${who}\n-----END CERTIFICATE-----`,
    key: `-----BEGIN PRIVATE KEY-----\n${who}-KEY\n-----END PRIVATE KEY-----`,
  });

function config(epoch: number, cluster: 'primary' | 'secondary'): ActiveConfig {
  return {
    epoch,
    cluster,
    alias: cluster,
    bootstrapServers: [cluster === 'primary' ? '127.0.0.1:19092' : '127.0.0.1:29092'],
    securityProtocol: 'SSL',
    credentialsSecret: paths.activeCredentialsSecret,
    topics: { orders: { produce: 'orders', subscribe: ['orders'] } },
    switchedAt: '2026-11-21T12:00:00.000Z',
    reason: 'test',
  };
}

describe('repairActive', () => {
  let clock: FakeClock;
  let lock: FakeLock;
  let authority: MemoryEpochAuthority;
  let stores: FakeStores;
  const deps = () => ({
    authority,
    stores,
    paths,
    clock,
    readCredentials: async () => ({ active: creds('SECONDARY') }),
  });
  /** Write one half of an epoch straight into the stores, as a crashed or late writer would have. */
  const atRest = async (step: 'secret' | 'parameter' | 'plain-parameters', c: ActiveConfig) =>
    writeActiveStep(stores, paths, step, c, creds(c.cluster.toUpperCase()));
  /** The authority at `epoch`, claimed by a writer that has since died. */
  const claimed = async (epoch: number, cluster: 'primary' | 'secondary', state: 'claimed' | 'written') => {
    await lock.acquire('dead-writer');
    const claim = await authority.claim({
      expected: authority.record?.epoch,
      epoch,
      writer: { kind: 'failover', runId: `run-${epoch}` },
      holder: 'dead-writer',
      config: config(epoch, cluster),
      credentials: { active: { secret: `mm2-failover/orders-dr/clusters/${cluster}` } },
    });
    if (state === 'written') await authority.complete(claim, new Date(clock.now()).toISOString());
    clock.t += lock.leaseMs + 1;
    await lock.acquire('repairer');
  };

  beforeEach(() => {
    clock = new FakeClock();
    lock = new FakeLock(clock);
    authority = new MemoryEpochAuthority(lock, clock);
    stores = new FakeStores();
  });

  it('rolls a switch that stopped after its secret forward at the claimed epoch', async () => {
    for (const step of ['secret', 'parameter', 'plain-parameters'] as const)
      await atRest(step, config(4, 'primary'));
    await claimed(5, 'secondary', 'claimed');
    await atRest('secret', config(5, 'secondary'));

    const result = await repairActive({ holder: 'repairer', runId: 'repair-1' }, deps());

    expect(result).toMatchObject({
      status: 'repaired',
      epoch: 5,
      cluster: 'secondary',
      newEpoch: false,
      written: ['parameter', 'plain-parameters'],
    });
    expect(result.status === 'repaired' && result.found).toBe(
      'parameter epoch 4 (primary), secret epoch 5 (secondary)',
    );
    const after = await inspectAtRest(stores, paths);
    expect(judgeAtRest(after, authority.record, { now: clock.now() })).toMatchObject({
      state: 'ok',
      epoch: 5,
    });
  });

  it('undoes a stalled writer’s late secret write of an older epoch', async () => {
    await claimed(3, 'secondary', 'written');
    for (const step of ['secret', 'parameter', 'plain-parameters'] as const)
      await atRest(step, config(3, 'secondary'));
    await atRest('secret', config(2, 'primary'));
    expect(
      judgeAtRest(await inspectAtRest(stores, paths), authority.record, { now: clock.now() }).state,
    ).toBe('needs-repair');

    const result = await repairActive({ holder: 'repairer', runId: 'repair-1' }, deps());

    expect(result).toMatchObject({ status: 'repaired', epoch: 3, newEpoch: false, written: ['secret'] });
    expect(stores.secretJson(paths.activeCredentialsSecret)).toMatchObject({
      epoch: 3,
      cluster: 'secondary',
    });
  });

  it('claims a new epoch above a parameter edited by hand to a higher epoch', async () => {
    await claimed(3, 'secondary', 'written');
    for (const step of ['secret', 'parameter', 'plain-parameters'] as const)
      await atRest(step, config(3, 'secondary'));
    stores.params.set(paths.activeParameter, {
      value: activeParameterText(config(7, 'primary')),
      version: 9,
    });

    const result = await repairActive({ holder: 'repairer', runId: 'repair-1' }, deps());

    expect(result).toMatchObject({ status: 'repaired', epoch: 8, cluster: 'secondary', newEpoch: true });
    expect(authority.record).toMatchObject({ epoch: 8, cluster: 'secondary', writer: { kind: 'repair' } });
    expect(JSON.parse(stores.params.get(paths.activeParameter)?.value ?? '{}')).toMatchObject({
      epoch: 8,
      cluster: 'secondary',
    });
  });

  it('rewrites a parameter that no longer parses', async () => {
    await claimed(3, 'secondary', 'written');
    for (const step of ['secret', 'parameter', 'plain-parameters'] as const)
      await atRest(step, config(3, 'secondary'));
    stores.params.set(paths.activeParameter, { value: '{"epoch": 3, "clus', version: 9 });

    const result = await repairActive({ holder: 'repairer', runId: 'repair-1' }, deps());

    expect(result).toMatchObject({
      status: 'repaired',
      epoch: 3,
      written: ['parameter', 'plain-parameters'],
    });
    expect(result.status === 'repaired' && result.found).toMatch(/parameter corrupt/);
  });

  it('writes nothing when what is at rest is the authority’s epoch, and marks a finished claim written', async () => {
    await claimed(2, 'secondary', 'claimed');
    for (const step of ['secret', 'parameter', 'plain-parameters'] as const)
      await atRest(step, config(2, 'secondary'));
    const writes = stores.writes.length;

    const result = await repairActive({ holder: 'repairer', runId: 'repair-1' }, deps());

    expect(result).toEqual({ status: 'consistent', epoch: 2, cluster: 'secondary' });
    expect(stores.writes).toHaveLength(writes);
    expect(authority.record?.state).toBe('written');
  });

  it('refuses to guess when nothing was ever claimed', async () => {
    await atRest('secret', config(1, 'secondary'));

    const result = await repairActive({ holder: 'repairer', runId: 'repair-1' }, deps());

    expect(result).toEqual({
      status: 'nothing-claimed',
      found: 'parameter absent, secret epoch 1 (secondary)',
    });
  });
});

describe('judgeAtRest', () => {
  it('calls a claimed switch in flight while it is younger than a switch takes, and torn after', async () => {
    const clock = new FakeClock();
    const lock = new FakeLock(clock);
    const authority = new MemoryEpochAuthority(lock, clock);
    const stores = new FakeStores();
    await lock.acquire('w');
    await authority.claim({
      expected: undefined,
      epoch: 1,
      writer: { kind: 'failover', runId: 'r' },
      holder: 'w',
      config: config(1, 'secondary'),
      credentials: { active: { secret: 's' } },
    });
    await writeActiveStep(stores, paths, 'secret', config(1, 'secondary'), creds('S'));
    const atRest = await inspectAtRest(stores, paths);

    expect(judgeAtRest(atRest, authority.record, { now: clock.now() + 10_000 }).state).toBe(
      'switch-in-flight',
    );
    expect(judgeAtRest(atRest, authority.record, { now: clock.now() + 61_000 })).toMatchObject({
      state: 'needs-repair',
      detail:
        'the authority holds epoch 1 (secondary); at rest: parameter absent, secret epoch 1 (secondary)',
    });
  });
});
