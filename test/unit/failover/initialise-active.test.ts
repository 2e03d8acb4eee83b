import { describe, expect, it } from 'vitest';
import { routeOf } from '#shared/client/topic-routes.ts';
import { deploymentPaths } from '#shared/config/paths.ts';
import { LockHeldError } from '#shared/errors.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import { readActiveOnce } from '#shared/store/active-config.ts';
import { MemoryEpochAuthority } from '../../fakes/epoch-authority.ts';
import { FakeClock, FakeLock, PRIMARY_CREDS, seededStores, testConfig } from './fakes.ts';

const paths = deploymentPaths('orders-dr');

describe('initialiseActiveConfig', () => {
  it('points clients at the primary with epoch 0 and the primary credentials, in the fencing order', async () => {
    const config = testConfig();
    const stores = seededStores(config);

    const result = await initialiseActiveConfig(
      { requestedBy: 'drill' },
      { config, stores, paths, now: () => 0 },
    );

    expect(result.status).toBe('initialised');
    expect(stores.writes).toEqual([
      `secret ${paths.activeCredentialsSecret}`,
      `parameter ${paths.activeParameter}`,
      `parameter ${paths.activeBootstrapParameter}`,
    ]);
    const read = await readActiveOnce(stores, paths);
    expect(read.kind === 'consistent' && read.config).toMatchObject({
      epoch: 0,
      cluster: 'primary',
      bootstrapServers: ['127.0.0.1:19092'],
      reason: 'initial activation (requested by drill)',
    });
    expect(read.kind === 'consistent' && routeOf(read.config, 'orders')).toEqual({
      produce: 'orders',
      subscribe: ['orders'],
    });
    expect(read.kind === 'consistent' && read.credentials.reveal()).toEqual({
      epoch: 0,
      cluster: 'primary',
      ...PRIMARY_CREDS,
    });
  });

  it('never overwrites an existing active configuration', async () => {
    const config = testConfig();
    const stores = seededStores(config);
    await initialiseActiveConfig({ requestedBy: 'drill' }, { config, stores, paths });
    stores.writes.length = 0;

    const result = await initialiseActiveConfig({ requestedBy: 'someone else' }, { config, stores, paths });

    expect(result).toEqual({ status: 'exists', epoch: 0, cluster: 'primary' });
    expect(stores.writes).toEqual([]);
  });

  it('holds the lock while writing and gives it back, and does not write while a failover holds it', async () => {
    const config = testConfig();
    const stores = seededStores(config);
    const clock = new FakeClock();
    const lock = new FakeLock(clock);
    const fencing = { lock, authority: new MemoryEpochAuthority(lock, clock), versions: stores.versions };
    await lock.acquire('failover-run');

    await expect(
      initialiseActiveConfig(
        { requestedBy: 'drill' },
        { config, stores, paths, fencing, holder: 'init', now: clock.now },
      ),
    ).rejects.toBeInstanceOf(LockHeldError);
    expect(stores.writes).toEqual([]);
    await lock.release('failover-run');
    await initialiseActiveConfig(
      { requestedBy: 'drill' },
      { config, stores, paths, fencing, holder: 'init', now: clock.now },
    );
    expect(lock.holder).toBeUndefined();
    expect(fencing.authority.record).toMatchObject({
      epoch: 0,
      cluster: 'primary',
      writer: { kind: 'init' },
    });
  });

  it('adopts an epoch written before the epoch authority existed, writing nothing', async () => {
    const config = testConfig();
    const stores = seededStores(config);
    await initialiseActiveConfig({ requestedBy: 'an older version' }, { config, stores, paths });
    stores.writes.length = 0;
    const clock = new FakeClock();
    const lock = new FakeLock(clock);
    const fencing = { lock, authority: new MemoryEpochAuthority(lock, clock), versions: stores.versions };

    const result = await initialiseActiveConfig(
      { requestedBy: 'operator' },
      { config, stores, paths, fencing },
    );

    expect(result).toEqual({ status: 'adopted', epoch: 0, cluster: 'primary' });
    expect(stores.writes).toEqual([]);
    expect(fencing.authority.record).toMatchObject({ epoch: 0, state: 'written', writer: { kind: 'adopt' } });
  });
});
